/*
 * Hải Đăng console — province map (templates/map.html).
 *
 * Draws the province's local units (communes, wards, special zones) from
 * /api/v1/units/geojson with Leaflet (global `L`), and above them the
 * located entities (stations…) from /api/v1/hub/places, refreshed every
 * 30 s. Works offline: the tile layer is optional and the container has a
 * pale CSS background.
 * All labels come from data- attributes on #map; no text lives here.
 */
(function () {
  "use strict";

  // Keep in step with .swatch-* in app.css.
  var KIND_FILL = {
    commune: "#7fb77e",
    ward: "#e8a87c",
    special_zone: "#85c1e9"
  };
  var FALLBACK_FILL = "#c9cfd6";
  // Keep in step with .swatch-state-* in app.css and STATE_FILL in entities.js.
  var STATE_FILL = {
    ok: "#1e7b3a",
    alert: "#c8102e",
    stale: "#8a94a3"
  };
  var OTHER_FILL = "#1d4e89";
  var STATIONS_URL = "/api/v1/hub/places";
  var STATIONS_REFRESH_MS = 30000;
  // Above the units (overlayPane 400), below tooltips and popups.
  var STATION_PANE = "stations";
  var STATION_PANE_Z = 450;
  var BASE_STYLE = { weight: 1, color: "#334", fillOpacity: 0.55 };
  var HOVER_STYLE = { weight: 3 };
  // Used only when there is nothing to fit to (e.g. a province with no shapes yet).
  var VIETNAM_CENTRE = [16.0, 106.0];
  var VIETNAM_ZOOM = 5;

  function attr(el, name) {
    return el.getAttribute(name) || "";
  }

  function isNumber(v) {
    return typeof v === "number" && isFinite(v);
  }

  function init() {
    var el = document.getElementById("map");
    if (!el || typeof L === "undefined") return;

    var lang = attr(el, "data-lang");
    var locale = lang === "vi" ? "vi-VN" : "en-GB";
    var countEl = document.getElementById("map-count");

    // preferCanvas must stay false: each unit has to be its own SVG <path>
    // carrying the unit-* classes (browser tests count path.unit-commune).
    var map = L.map("map", { preferCanvas: false, zoomSnap: 0.25 });

    var tileUrl = attr(el, "data-tile-url");
    if (tileUrl) {
      L.tileLayer(tileUrl, { attribution: attr(el, "data-tile-attribution"), maxZoom: 18 }).addTo(map);
    }

    function pick(props, vi, en) {
      var v = lang === "vi" ? props[vi] : props[en];
      return v || props[vi] || props[en] || props.code || "";
    }

    function styleFor(feature) {
      var kind = (feature.properties && feature.properties.kind) || "";
      // Every local unit carries unit-commune (all are commune-level shapes);
      // unit-kind-* tells them apart for styling and tests.
      return L.Util.extend({}, BASE_STYLE, {
        className: "unit-commune unit-kind-" + kind,
        fillColor: KIND_FILL[kind] || FALLBACK_FILL
      });
    }

    // Built as DOM nodes with textContent: names are data, never HTML.
    function popupContent(props) {
      var root = document.createElement("div");
      root.className = "map-popup";

      var title = document.createElement("strong");
      title.textContent = pick(props, "fullName", "fullNameEn");
      root.appendChild(title);

      function line(text) {
        var d = document.createElement("div");
        d.textContent = text;
        root.appendChild(d);
      }

      line(attr(el, "data-label-code") + ": " + (props.code || ""));
      var kindLabel = attr(el, "data-label-kind-" + props.kind);
      if (kindLabel) line(kindLabel);
      if (isNumber(props.areaKm2)) {
        var area = props.areaKm2.toLocaleString(locale, { maximumFractionDigits: 1 }) +
          " " + attr(el, "data-unit-km2");
        var areaLabel = attr(el, "data-label-area");
        line(areaLabel ? areaLabel + ": " + area : area);
      }
      return root;
    }

    function tooltipContent(props) {
      var span = document.createElement("span");
      span.textContent = pick(props, "name", "nameEn");
      return span;
    }

    var layer;

    function onEachFeature(feature, path) {
      var props = feature.properties || {};
      path.bindTooltip(tooltipContent(props), { sticky: true });
      path.bindPopup(popupContent(props));
      path.on("mouseover", function () {
        path.setStyle(HOVER_STYLE);
        if (path.bringToFront) path.bringToFront();
      });
      path.on("mouseout", function () {
        layer.resetStyle(path);
      });
    }

    function fail() {
      if (countEl) {
        countEl.textContent = attr(el, "data-error");
        countEl.classList.add("error");
        // The "how many units" label makes no sense in front of an error message.
        var label = countEl.previousElementSibling;
        if (label) label.hidden = true;
      }
      el.setAttribute("data-loaded", "error");
      // Leaflet needs a view before it can draw anything (e.g. attribution).
      map.setView(VIETNAM_CENTRE, VIETNAM_ZOOM);
    }

    var url = "/api/v1/units/geojson?parent=" + encodeURIComponent(attr(el, "data-province"));
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/geo+json" } })
      .then(function (res) {
        if (!res.ok) throw new Error(String(res.status));
        return res.json();
      })
      .then(function (data) {
        var features = (data && data.features) || [];
        layer = L.geoJSON(data, { style: styleFor, onEachFeature: onEachFeature }).addTo(map);

        var bounds = layer.getBounds();
        if (bounds.isValid()) {
          map.fitBounds(bounds, { padding: [12, 12] });
        } else {
          map.setView(VIETNAM_CENTRE, VIETNAM_ZOOM);
        }

        el.setAttribute("data-loaded", "true");
        el.setAttribute("data-count", String(features.length));
        if (countEl) {
          countEl.classList.remove("error");
          countEl.textContent = features.length.toLocaleString(locale);
        }
      })
      .catch(fail);

    drawStations(map, el);
  }

  // The server writes same-origin paths; anything else ("//host", "javascript:") is ignored.
  function safeHref(href) {
    return typeof href === "string" && /^\/(?![\/\\])/.test(href) ? href : "";
  }

  function stationStyle(state) {
    var known = Object.prototype.hasOwnProperty.call(STATE_FILL, state);
    return {
      pane: STATION_PANE,
      radius: state === "alert" ? 8 : 6.5,
      weight: 2,
      color: "#ffffff",
      opacity: 1,
      fillColor: known ? STATE_FILL[state] : OTHER_FILL,
      fillOpacity: 0.9,
      className: "station-marker station-state-" + (known ? state : String(state || "other").replace(/[^A-Za-z0-9_-]/g, ""))
    };
  }

  function stationMarker(place) {
    var state = typeof place.state === "string" ? place.state : "";
    var marker = L.circleMarker([place.lat, place.lon], stationStyle(state));
    var tip = document.createElement("span");
    tip.textContent = typeof place.name === "string" && place.name ? place.name : String(place.id || "");
    marker.bindTooltip(tip, { direction: "top", offset: [0, -6] });
    var href = safeHref(place.href);
    if (href) {
      marker.on("click", function () { window.location.assign(href); });
    }
    return marker;
  }

  // The live layer: replaced wholesale on every refresh, the view left as the user set it.
  // A role that may not read data gets 401/403: then there are simply no stations.
  function drawStations(map, el) {
    // A pane of its own keeps the dots above the units even after a unit's
    // hover brings it to the front; the pane lets pointer events through to
    // the units, the dots take their own.
    var pane = map.createPane(STATION_PANE);
    pane.style.zIndex = String(STATION_PANE_Z);
    pane.style.pointerEvents = "none";

    var layer = L.layerGroup().addTo(map);
    // Set when a refresh fell due while the tab was hidden.
    var waiting = false;

    function show(places) {
      layer.clearLayers();
      var drawn = 0;
      places.forEach(function (p) {
        if (!p || !isNumber(p.lat) || !isNumber(p.lon)) return;
        stationMarker(p).addTo(layer);
        drawn++;
      });
      el.setAttribute("data-stations", String(drawn));
    }

    // One request at a time: the next one is only scheduled once this one is answered.
    function refresh() {
      // A background tab does not poll; it catches up when shown again.
      if (document.hidden) {
        waiting = true;
        return;
      }
      fetch(STATIONS_URL, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (res) {
          if (!res.ok) {
            var err = new Error(String(res.status));
            // Forbidden stays forbidden and a lost session needs a new sign-in: stop asking.
            err.final = res.status === 401 || res.status === 403 || res.status === 404;
            throw err;
          }
          return res.json();
        })
        .then(function (data) {
          show(data && Array.isArray(data.entities) ? data.entities : []);
          setTimeout(refresh, STATIONS_REFRESH_MS);
        })
        .catch(function (err) {
          show([]);
          if (!err.final) setTimeout(refresh, STATIONS_REFRESH_MS);
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && waiting) {
        waiting = false;
        refresh();
      }
    });

    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
