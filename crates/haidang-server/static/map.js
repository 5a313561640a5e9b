/*
 * Hải Đăng console — province map (templates/map.html).
 *
 * Draws the province's local units (communes, wards, special zones) from
 * /api/v1/units/geojson with Leaflet (global `L`). Works offline: the tile
 * layer is optional and the container has a pale CSS background.
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
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
