/*
 * Hải Đăng — citizen reports' statistics (templates: portal_statistics.html,
 * reports_statistics.html). Reads the figures from the statistics API named in the page's
 * JSON blob (#stats-data) and names the rows from the names it carries; the downloads ask
 * the same API for CSV or XLSX. No user-facing text here: words come from the blob.
 */
(function () {
  "use strict";

  var blob = document.getElementById("stats-data");
  if (!blob) return;
  var D = JSON.parse(blob.textContent);

  function tr(key) { return D.t[key] !== undefined ? D.t[key] : key; }
  var locale = D.lang === "en" ? "en" : "vi";
  function num(n, digits) {
    if (n === null || n === undefined) return "—";
    return new Intl.NumberFormat(locale, { minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 })
      .format(n);
  }
  function pct(n) { return n === null || n === undefined ? "—" : num(n, 1) + " %"; }
  function rating(n) { return n === null || n === undefined ? "—" : num(n, 1) + "/5"; }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  // Vietnam keeps UTC+7 all year: shifting by 7 hours and reading UTC fields is exact.
  function local(ms) {
    var d = new Date(ms + 7 * 3600 * 1000);
    return { y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate() };
  }
  function fmtDate(iso) {
    var d = local(new Date(iso).getTime());
    return pad(d.d) + "/" + pad(d.m) + "/" + d.y;
  }

  /** The period's first day (yyyy-mm-dd, Vietnam time); the period runs until now. */
  function fromFor(period) {
    var t = local(Date.now());
    if (period === "year") return t.y + "-01-01";
    if (period === "months12") {
      var m = t.m - 11, y = t.y;
      if (m <= 0) { m += 12; y -= 1; }
      return y + "-" + pad(m) + "-01";
    }
    return t.y + "-" + pad(t.m) + "-01";
  }

  var period = document.getElementById("stats-period");
  var by = document.getElementById("stats-by");
  var errorBox = document.getElementById("stats-error");
  var range = document.getElementById("stats-range");
  var tbody = document.querySelector("#stats-table tbody");
  var byLabel = {
    category: "stats.by_category", agency: "stats.by_agency", unit: "stats.by_unit", channel: "stats.by_channel"
  };

  function query(format) {
    var q = "?from=" + encodeURIComponent(fromFor(period.value)) + "&by=" + encodeURIComponent(by.value);
    return D.api + q + (format ? "&format=" + format : "");
  }
  function name(key) {
    var names = D.names[by.value] || {};
    if (names[key] !== undefined) return names[key];
    return key || tr("stats.unknown");
  }
  function cell(tr_, text, numeric) {
    var td = document.createElement(numeric ? "td" : "th");
    if (numeric) td.className = "num"; else td.setAttribute("scope", "row");
    td.textContent = text;
    tr_.appendChild(td);
  }

  function draw(stats) {
    range.textContent = tr("stats.range").replace("{from}", fmtDate(stats.from)).replace("{to}", fmtDate(stats.to));
    var total = stats.total || {};
    var shown = {
      received: num(total.received), answered: num(total.answered), on_time_pct: pct(total.on_time_pct),
      overdue: num(total.overdue), satisfaction: rating(total.satisfaction)
    };
    Object.keys(shown).forEach(function (k) {
      var dd = document.querySelector('[data-total="' + k + '"]');
      if (dd) dd.textContent = shown[k];
    });
    document.getElementById("stats-name-col").textContent = tr(byLabel[by.value]);
    document.getElementById("stats-caption").textContent = tr("stats.caption") + " " + tr(byLabel[by.value]).toLowerCase();
    var rows = (stats.rows || []).slice().sort(function (a, b) {
      return (b.received - a.received) || String(name(a.key)).localeCompare(String(name(b.key)), locale);
    });
    tbody.textContent = "";
    if (!rows.length) {
      var empty = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 11;
      td.textContent = tr("stats.empty");
      empty.appendChild(td);
      tbody.appendChild(empty);
      return;
    }
    rows.forEach(function (r) {
      var row = document.createElement("tr");
      cell(row, name(r.key), false);
      cell(row, num(r.received), true);
      cell(row, num(r.verified), true);
      cell(row, num(r.rejected), true);
      cell(row, num(r.answered), true);
      cell(row, num(r.answered_on_time), true);
      cell(row, pct(r.on_time_pct), true);
      cell(row, num(r.overdue), true);
      cell(row, num(r.closed), true);
      cell(row, num(r.median_handling_hours, 1), true);
      cell(row, rating(r.satisfaction), true);
      tbody.appendChild(row);
    });
  }

  function load() {
    document.getElementById("stats-csv").href = query("csv");
    document.getElementById("stats-xlsx").href = query("xlsx");
    errorBox.hidden = true;
    range.textContent = tr("stats.loading");
    fetch(query(null), { headers: { "Accept": "application/json", "Accept-Language": D.lang }, credentials: "same-origin" })
      .then(function (res) {
        return res.json().then(function (data) { return { ok: res.ok, status: res.status, data: data }; },
          function () { return { ok: false, status: res.status, data: null }; });
      }, function () {
        return { ok: false, status: 0, data: { detail: document.body.getAttribute("data-network-error") } };
      })
      .then(function (r) {
        if (r.ok) { draw(r.data); return; }
        range.textContent = "";
        errorBox.textContent = (r.data && (r.data.detail || r.data.title)) || tr("stats.failed");
        errorBox.hidden = false;
      });
  }

  period.addEventListener("change", load);
  by.addEventListener("change", load);
  document.getElementById("stats-form").addEventListener("submit", function (e) { e.preventDefault(); load(); });
  load();
})();
