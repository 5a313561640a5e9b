/*
 * Hải Đăng console — the entity browser's map (templates: /data/entities).
 *
 * Draws the listed entities that have a location as coloured dots over a
 * faint outline of the province's communes, with Leaflet (global `L`).
 * The points come from the page (data-points on #entity-map); names are
 * data, never HTML. No text lives here.
 */
(function () {
  "use strict";

  // Keep in step with .swatch-state-* in app.css and STATE_FILL in map.js.
  var STATE_FILL = {
    ok: "#1e7b3a",
    alert: "#c8102e",
    stale: "#8a94a3"
  };
  var OTHER_FILL = "#1d4e89";
  // Same fills as the province map (map.js), much paler: here they are only a backdrop.
  var KIND_FILL = {
    commune: "#7fb77e",
    ward: "#e8a87c",
    special_zone: "#85c1e9"
  };
  var FALLBACK_FILL = "#c9cfd6";
  var UNIT_STYLE = { weight: 0.6, color: "#334", opacity: 0.35, fillOpacity: 0.15 };
  var RADIUS_STYLE = { weight: 1.5, color: "#1d4e89", dashArray: "6 4", fillColor: "#1d4e89", fillOpacity: 0.05 };
  // Zoom cap when fitting, so a single point does not land at street level.
  var FIT_MAX_ZOOM = 13;
  var VIETNAM_CENTRE = [16.0, 106.0];
  var VIETNAM_ZOOM = 5;
  // Above the communes (overlayPane 400), below tooltips and popups.
  var MARKER_PANE = "entityMarkers";
  var MARKER_PANE_Z = 450;

  function attr(el, name) {
    return el.getAttribute(name) || "";
  }

  function isNumber(v) {
    return typeof v === "number" && isFinite(v);
  }

  // The server writes same-origin paths; anything else ("//host", "javascript:") is ignored.
  function safeHref(href) {
    return typeof href === "string" && /^\/(?![\/\\])/.test(href) ? href : "";
  }

  function readPoints(el) {
    var points;
    try {
      points = JSON.parse(el.getAttribute("data-points") || "[]");
    } catch (e) {
      return [];
    }
    if (!Array.isArray(points)) return [];
    return points.filter(function (p) {
      return p && isNumber(p.lat) && isNumber(p.lon) && Math.abs(p.lat) <= 90 && Math.abs(p.lon) <= 180;
    });
  }

  function markerStyle(state) {
    var known = Object.prototype.hasOwnProperty.call(STATE_FILL, state);
    return {
      pane: MARKER_PANE,
      radius: state === "alert" ? 8 : 6.5,
      weight: 2,
      color: "#ffffff",
      opacity: 1,
      fillColor: known ? STATE_FILL[state] : OTHER_FILL,
      fillOpacity: 0.9,
      className: "entity-marker entity-state-" + (known ? state : String(state || "other").replace(/[^A-Za-z0-9_-]/g, ""))
    };
  }

  function init() {
    var el = document.getElementById("entity-map");
    if (!el || typeof L === "undefined") return;

    // preferCanvas must stay false: each marker has to be its own SVG <path>
    // with the entity-* classes (browser tests count path.entity-marker).
    var map = L.map(el, { preferCanvas: false, zoomSnap: 0.25 });

    // A pane of its own keeps the dots above the communes whichever arrives
    // first; the pane lets pointer events through to the map, the dots take them.
    var pane = map.createPane(MARKER_PANE);
    pane.style.zIndex = String(MARKER_PANE_Z);
    pane.style.pointerEvents = "none";

    var tileUrl = attr(el, "data-tile-url");
    if (tileUrl) {
      L.tileLayer(tileUrl, { attribution: attr(el, "data-tile-attribution"), maxZoom: 18 }).addTo(map);
    }

    var points = readPoints(el);
    var markers = L.featureGroup().addTo(map);
    points.forEach(function (p) {
      var state = typeof p.state === "string" ? p.state : "";
      var marker = L.circleMarker([p.lat, p.lon], markerStyle(state));
      var tip = document.createElement("span");
      tip.textContent = typeof p.name === "string" && p.name ? p.name : String(p.id || "");
      marker.bindTooltip(tip, { direction: "top", offset: [0, -6] });
      var href = safeHref(p.href);
      if (href) {
        marker.on("click", function () { window.location.assign(href); });
      }
      marker.addTo(markers);
    });
    el.setAttribute("data-markers", String(points.length));

    // The search area of a "near" query: a circle around the centre.
    var area = null;
    var radiusKm = parseFloat(attr(el, "data-radius-km"));
    var centreLat = parseFloat(attr(el, "data-centre-lat"));
    var centreLon = parseFloat(attr(el, "data-centre-lon"));
    if (isNumber(radiusKm) && radiusKm > 0 && isNumber(centreLat) && isNumber(centreLon)) {
      area = L.circle([centreLat, centreLon], L.Util.extend({ radius: radiusKm * 1000, interactive: false, className: "entity-radius" }, RADIUS_STYLE)).addTo(map);
    }

    // The dots decide the view; with none, the search area; else the province (once loaded).
    var fitted = false;
    function fit(bounds) {
      if (!bounds || !bounds.isValid()) return false;
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: FIT_MAX_ZOOM });
      fitted = true;
      return true;
    }
    if (points.length) fit(markers.getBounds());
    else if (area) fit(area.getBounds());

    function done(state) {
      if (!fitted) map.setView(VIETNAM_CENTRE, VIETNAM_ZOOM);
      el.setAttribute("data-loaded", state);
    }

    var province = attr(el, "data-province");
    if (!province) {
      done("true");
      return;
    }

    function unitStyle(feature) {
      var kind = (feature.properties && feature.properties.kind) || "";
      return L.Util.extend({}, UNIT_STYLE, {
        className: "entity-unit unit-kind-" + kind,
        fillColor: KIND_FILL[kind] || FALLBACK_FILL
      });
    }

    // Same request as the province map; the outline is only a backdrop, so a failure leaves the dots alone.
    var url = "/api/v1/units/geojson?parent=" + encodeURIComponent(province);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/geo+json" } })
      .then(function (res) {
        if (!res.ok) throw new Error(String(res.status));
        return res.json();
      })
      .then(function (data) {
        var units = L.geoJSON(data, { style: unitStyle, interactive: false }).addTo(map);
        if (!fitted) fit(units.getBounds());
        done("true");
      })
      .catch(function () {
        done("error");
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
