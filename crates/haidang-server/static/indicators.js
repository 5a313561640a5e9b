/*
 * Hải Đăng console — monitoring indicators (templates: /indicators/...).
 * The series chart with its target line, the communes' map, sending figures from the
 * submission table, reviewing them, and saving this year's targets. Labels come from the page.
 */
(function () {
  "use strict";

  var PALETTE = { value: "#1d4e89", target: "#d55e00", on_track: "#2e7d32", at_risk: "#e69f00", off_track: "#c62828" };

  function headers() {
    var h = { "Content-Type": "application/json", "Accept": "application/json", "HX-Request": "true" };
    if (document.documentElement.lang) h["Accept-Language"] = document.documentElement.lang;
    return h;
  }

  function send(url, method, body) {
    return fetch(url, { method: method, headers: headers(), credentials: "same-origin", body: JSON.stringify(body) })
      .then(function (res) {
        return res.text().then(function (t) {
          var data = null;
          try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
          return { ok: res.ok, status: res.status, data: data };
        });
      });
  }

  function show(id, text) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  // Vietnamese decimal comma and thousands dots, or a plain number.
  function parseNumber(text) {
    var t = String(text || "").trim();
    if (!t) return null;
    if (t.indexOf(",") >= 0) t = t.replace(/\./g, "").replace(",", ".");
    var n = Number(t);
    return isNaN(n) ? NaN : n;
  }

  /* ---------- the series chart ---------- */
  function drawChart(fig) {
    if (!window.uPlot || !fig.dataset.to) return;
    var url = "/api/v1/indicators/query?codes=" + encodeURIComponent(fig.dataset.code) +
      "&from=" + encodeURIComponent(fig.dataset.from) + "&to=" + encodeURIComponent(fig.dataset.to);
    fetch(url, { headers: headers(), credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (list) {
      if (!Array.isArray(list) || !list.length) return;
      var xs = [], values = [], targets = [], labels = [];
      list.forEach(function (e, i) {
        xs.push(i);
        labels.push(e.period);
        var v = e.to_date !== undefined && e.to_date !== null ? e.to_date : e.value;
        values.push(v === null || v === undefined ? null : v);
        var t = e.expected !== null && e.expected !== undefined ? e.expected : e.target;
        targets.push(t === null || t === undefined ? null : t);
      });
      var cumulative = list.some(function (e) { return e.to_date !== undefined && e.to_date !== null; });
      // The page's language decides the separators ("1.234,5" in Vietnamese); a month reads
      // "11/2026" as elsewhere on the page, not the API's "2026-11".
      var nf = new Intl.NumberFormat(document.documentElement.lang || "vi", { maximumFractionDigits: 2 });
      var fmt = function (u, v) { return v === null || v === undefined ? "—" : nf.format(v); };
      var periodText = function (p) {
        var m = /^(\d{4})-(\d{2}|Q\d|H\d)$/.exec(p || "");
        return m ? m[2] + "/" + m[1] : (p || "");
      };
      var opts = {
        width: Math.max(320, fig.clientWidth || 640), height: 260,
        scales: { x: { time: false } },
        axes: [{ values: function (u, ticks) { return ticks.map(function (t) { return periodText(labels[t]); }); } },
          { values: function (u, ticks) { return ticks.map(function (t) { return nf.format(t); }); } }],
        series: [{ label: fig.dataset.labelPeriod, value: function (u, i) { return i === null || i === undefined ? "—" : periodText(labels[i]); } },
          { label: cumulative ? fig.dataset.cumulativeLabel : fig.dataset.labelValue, stroke: PALETTE.value, width: 2, value: fmt },
          { label: fig.dataset.labelTarget, stroke: PALETTE.target, dash: [6, 4], width: 2, value: fmt }]
      };
      fig.textContent = "";
      new window.uPlot(opts, [xs, values, targets], fig);
      fig.setAttribute("data-points", String(values.filter(function (v) { return v !== null; }).length));
    });
  }

  /* ---------- the communes' map (choropleth) ---------- */
  function drawMap(el) {
    if (!window.L) return;
    var rows = document.querySelectorAll("#commune-table tbody tr");
    var byUnit = {}, vals = [];
    rows.forEach(function (tr) {
      var v = parseFloat(tr.dataset.value);
      byUnit[tr.dataset.unit] = { value: v, status: tr.dataset.status, name: tr.cells[0].textContent, shown: tr.cells[2].textContent.trim() !== "—" ? tr.cells[2].textContent : tr.cells[1].textContent };
      if (!isNaN(v)) vals.push(v);
    });
    var min = Math.min.apply(null, vals), max = Math.max.apply(null, vals);
    var map = window.L.map(el, { attributionControl: false, zoomControl: true });
    fetch("/api/v1/units/geojson?parent=12", { headers: headers(), credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (geo) {
      var layer = window.L.geoJSON(geo, {
        filter: function (f) { return byUnit[f.properties.code] !== undefined; },
        style: function (f) {
          var d = byUnit[f.properties.code];
          var share = max > min ? (d.value - min) / (max - min) : 0.5;
          var fill = d.status && PALETTE[d.status] ? PALETTE[d.status] : "rgba(29,78,137," + (0.15 + 0.75 * share).toFixed(2) + ")";
          return { color: "#5b6675", weight: 1, fillColor: fill, fillOpacity: d.status && PALETTE[d.status] ? 0.55 : 0.8 };
        },
        onEachFeature: function (f, l) { var d = byUnit[f.properties.code]; l.bindTooltip(d.name + ": " + d.shown); }
      }).addTo(map);
      try { map.fitBounds(layer.getBounds()); } catch (e) { map.setView([22.4, 103.3], 8); }
      el.setAttribute("data-drawn", String(layer.getLayers().length));
    });
  }

  /* ---------- sending figures from the table ---------- */
  function sendValues(btn) {
    var rows = document.querySelectorAll("#values-table tbody tr[data-code]");
    var values = [], bad = false;
    show("values-problem", ""); show("values-ok", "");
    rows.forEach(function (tr) {
      tr.querySelector(".row-error").textContent = "";
      var raw = tr.querySelector(".value-input").value;
      if (!raw.trim()) return;
      var v = parseNumber(raw);
      if (isNaN(v)) { tr.querySelector(".row-error").textContent = "?"; bad = true; return; }
      values.push({ code: tr.dataset.code, unit_code: tr.dataset.unit, period: tr.dataset.period, kind: tr.dataset.kind,
        value: v, comment: tr.querySelector(".comment-input").value, row: Number(tr.dataset.row) });
    });
    if (bad || !values.length) return;
    btn.disabled = true;
    send("/api/v1/indicators/values", "POST", { values: values, submit: true }).then(function (r) {
      btn.disabled = false;
      if (r.ok) { show("values-ok", document.getElementById("values-ok").textContent || "OK"); return; }
      show("values-problem", r.data && r.data.detail);
      (r.data && r.data.errors || []).forEach(function (e) {
        var tr = document.querySelector('#values-table tbody tr[data-row="' + e.row + '"]');
        if (tr) tr.querySelector(".row-error").textContent = e.message;
      });
    });
  }

  function review(btn, approve) {
    var tr = btn.closest("tr");
    var reason = "";
    if (!approve) {
      reason = window.prompt(btn.dataset.prompt || "") || "";
      if (!reason.trim()) return;
    }
    var key = { code: tr.dataset.code, unit_code: tr.dataset.unit, period: tr.dataset.period, kind: tr.dataset.kind };
    send("/api/v1/indicators/values/review", "POST", { keys: [key], approve: approve, reason: reason }).then(function (r) {
      if (r.ok) { tr.remove(); return; }
      show("review-problem", r.data && r.data.detail);
    });
  }

  function saveTargets(btn) {
    var table = document.getElementById("catalog-table");
    var year = Number(table.dataset.year);
    var targets = [];
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      var v = parseNumber(tr.querySelector(".target-input").value);
      if (v !== null && !isNaN(v)) targets.push({ code: tr.dataset.code, year: year, value: v });
    });
    btn.disabled = true;
    send("/api/v1/indicators/targets", "PUT", targets).then(function (r) {
      btn.disabled = false;
      show("targets-problem", r.ok ? "" : r.data && r.data.detail);
      if (r.ok) document.getElementById("targets-ok").hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var fig = document.getElementById("indicator-chart");
    if (fig) drawChart(fig);
    var map = document.getElementById("indicator-map");
    if (map) drawMap(map);
    var sendBtn = document.getElementById("values-send");
    if (sendBtn) sendBtn.addEventListener("click", function () { sendValues(sendBtn); });
    var save = document.getElementById("targets-save");
    if (save) save.addEventListener("click", function () { saveTargets(save); });
    document.querySelectorAll(".review-approve").forEach(function (b) { b.addEventListener("click", function () { review(b, true); }); });
    document.querySelectorAll(".review-return").forEach(function (b) { b.addEventListener("click", function () { review(b, false); }); });
  });
})();
