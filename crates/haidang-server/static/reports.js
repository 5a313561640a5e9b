/*
 * Hải Đăng console — citizen reports (templates: reports.html, reports_detail.html).
 * The helpers both pages share (words, names, dates in Vietnam's time, the API) and the
 * queue: the centre's intake or an agency's assigned reports, worked with the keyboard.
 * No user-facing text here: words come from the page's JSON blob (#reports-data), errors
 * from the API's problem details (already translated).
 */
(function () {
  "use strict";

  var blob = document.getElementById("reports-data");
  if (!blob) return;
  var D = JSON.parse(blob.textContent);

  /* ---------- words and names ---------- */
  function tr(key, vars) {
    var s = D.t[key] !== undefined ? D.t[key] : key;
    Object.keys(vars || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  }
  function org(idOrCode) {
    if (!idOrCode) return null;
    for (var i = 0; i < D.orgs.length; i++) {
      if (D.orgs[i].id === idOrCode || D.orgs[i].code === idOrCode) return D.orgs[i];
    }
    return null;
  }
  function orgName(idOrCode) { var o = org(idOrCode); return o ? o.name : (idOrCode || ""); }
  function categoryName(code) { var c = D.categories[code]; return c ? c.name : code; }
  function unitName(code) { return code ? (D.units[code] || code) : ""; }
  function stateLabel(s) { return tr("report_state." + s); }

  /* ---------- numbers, dates and time left ---------- */
  var numberFormat = new Intl.NumberFormat(D.lang === "en" ? "en" : "vi");
  function num(n) { return n === null || n === undefined ? "" : numberFormat.format(n); }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  // Vietnam keeps UTC+7 all year: shifting by 7 hours and reading UTC fields is exact.
  function fmtDate(iso) {
    if (!iso) return "";
    var d = new Date(new Date(iso).getTime() + 7 * 3600 * 1000);
    return pad(d.getUTCDate()) + "/" + pad(d.getUTCMonth() + 1) + "/" + d.getUTCFullYear() + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function span(ms) {
    var minutes = Math.max(1, Math.round(Math.abs(ms) / 60000));
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    var parts = [];
    if (days) parts.push(tr("reports_ui.days", { n: num(days) }));
    if (hours) parts.push(tr("reports_ui.hours", { n: num(hours) }));
    if (!days && mins) parts.push(tr("reports_ui.minutes", { n: num(mins) }));
    return parts.join(" ");
  }
  /** Time left before the deadline, or how late; "" without a deadline. */
  function timeLeft(report) {
    if (!report.deadline_at) return "";
    if (report.paused_at) return tr("reports_ui.paused");
    var ms = new Date(report.deadline_at).getTime() - Date.now();
    return ms < 0 ? tr("reports_ui.late_by", { time: span(ms) }) : tr("reports_ui.remaining", { time: span(ms) });
  }

  /* ---------- the API ---------- */
  /** Calls the API with `body` as JSON, or, given its `type`, as it is (a photo's bytes). */
  function api(method, url, body, type) {
    var headers = { "Content-Type": type || "application/json", "Accept": "application/json", "Accept-Language": D.lang };
    var payload = body === undefined ? undefined : (type ? body : JSON.stringify(body));
    return fetch(url, { method: method, headers: headers, credentials: "same-origin", body: payload })
      .then(function (res) {
        return res.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          return { ok: res.ok, status: res.status, data: data };
        });
      }, function () {
        return { ok: false, status: 0, data: { detail: document.body.getAttribute("data-network-error") } };
      });
  }
  function problem(r) {
    return (r.data && (r.data.detail || r.data.title)) || String(r.status);
  }
  /** Takes one step on a report, with the version seen so a colleague's step is not overwritten. */
  function step(report, body) {
    body.version = report.version;
    return api("POST", "/api/v1/reports/" + encodeURIComponent(report.id) + "/steps", body);
  }
  function allowed(report, name) {
    return (D.process[report.state] || []).indexOf(name) >= 0;
  }
  function duplicates(report) {
    return api("GET", "/api/v1/reports/" + encodeURIComponent(report.id) + "/duplicates")
      .then(function (r) { return r.ok && Array.isArray(r.data) ? r.data : []; });
  }

  /* ---------- page bits ---------- */
  function show(id, text) {
    var box = document.getElementById(id);
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }
  /** True when a key press belongs to a field being typed in (or to a form's own controls). */
  function typing(e) {
    var t = e.target;
    if (!t || !t.tagName) return false;
    return /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || t.isContentEditable || !!t.closest("form");
  }
  function toggleLegend() {
    var legend = document.getElementById("shortcut-legend");
    if (legend) legend.hidden = !legend.hidden;
  }
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text === null || text === undefined ? "" : text;
    tr.appendChild(td);
    return td;
  }
  function badge(text, cls) {
    var b = document.createElement("span");
    b.className = "badge " + (cls || "");
    b.textContent = text;
    return b;
  }

  /* ---------- the reject form (both pages) ---------- */
  var reject = { report: null, done: null };
  function openReject(report, done) {
    var form = document.getElementById("reject-form");
    if (!form || !report) return;
    reject.report = report;
    reject.done = done;
    form.reset();
    show("reject-error", "");
    document.getElementById("reject-number").textContent = num(report.number);
    form.hidden = false;
    document.getElementById("reject-reason").focus();
  }
  function closeReject() {
    var form = document.getElementById("reject-form");
    if (!form || form.hidden) return false;
    form.hidden = true;
    reject.report = null;
    if (document.activeElement && form.contains(document.activeElement)) document.activeElement.blur();
    return true;
  }
  function wireReject() {
    var form = document.getElementById("reject-form");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!reject.report) return;
      var report = reject.report;
      step(report, { step: "reject", reason: form.elements.reason.value, note: form.elements.note.value })
        .then(function (r) {
          if (!r.ok) { show("reject-error", problem(r)); return; }
          closeReject();
          if (reject.done) reject.done(report, "reject");
        });
    });
    // A select does not submit its form on Enter by itself: here it does, so the whole form
    // works from the keyboard. Escape closes it.
    form.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); closeReject(); return; }
      if (e.key === "Enter" && e.target.tagName === "SELECT") { e.preventDefault(); form.requestSubmit(); }
    });
    document.getElementById("reject-cancel").addEventListener("click", closeReject);
  }

  window.HaidangReports = {
    D: D, tr: tr, org: org, orgName: orgName, categoryName: categoryName, unitName: unitName,
    stateLabel: stateLabel, num: num, fmtDate: fmtDate, timeLeft: timeLeft, api: api, problem: problem,
    step: step, allowed: allowed, duplicates: duplicates, show: show, typing: typing,
    toggleLegend: toggleLegend, cell: cell, badge: badge, openReject: openReject,
    closeReject: closeReject, wireReject: wireReject
  };

  /* ---------- the queue ---------- */
  var root = document.getElementById("reports-queue");
  if (!root) return;
  var centre = root.dataset.mode === "centre";
  var OPEN = "received,verified,returned,assigned,accepted,in_progress,awaiting_info,answered";
  var AGENCY = "assigned,accepted,in_progress,awaiting_info,answered";
  var q = { items: [], selected: 0, tab: "intake", state: "" };

  function listUrl() {
    if (!centre) return "/api/v1/reports?state=" + AGENCY + "&oldest_first=true&limit=500";
    if (q.state) return "/api/v1/reports?state=" + q.state + "&oldest_first=true&limit=500";
    if (q.tab === "overdue") return "/api/v1/reports/overdue";
    var states = { intake: "received,verified,returned", open: OPEN, answered: "answered" }[q.tab];
    return "/api/v1/reports?state=" + states + "&oldest_first=true&limit=500";
  }

  function load() {
    return api("GET", listUrl()).then(function (r) {
      if (!r.ok) { show("queue-error", problem(r)); return; }
      var items = (r.data || []).map(function (x) {
        return x.report ? Object.assign({}, x.report, { overdue: true, hours_late: x.hours_late }) : x;
      });
      if (!centre) {
        // An agency works to its deadlines: the nearest first.
        items.sort(function (a, b) { return String(a.deadline_at || "~").localeCompare(String(b.deadline_at || "~")); });
      }
      q.items = items;
      q.selected = Math.min(q.selected, Math.max(0, items.length - 1));
      render();
      root.dataset.loaded = String(items.length);
    });
  }

  function loadOverdueCount() {
    if (!centre) return;
    api("GET", "/api/v1/reports/overdue").then(function (r) {
      var n = r.ok && Array.isArray(r.data) ? r.data.length : 0;
      var b = document.getElementById("overdue-count");
      b.textContent = n ? num(n) : "";
      b.hidden = !n;
    });
  }

  function render() {
    var body = document.querySelector("#queue-table tbody");
    body.textContent = "";
    if (!q.items.length) {
      var tr0 = document.createElement("tr");
      var td = cell(tr0, tr("reports_ui.empty"), "empty");
      td.colSpan = 9;
      body.appendChild(tr0);
      return;
    }
    q.items.forEach(function (r, i) {
      var row = document.createElement("tr");
      row.dataset.id = r.id;
      row.dataset.state = r.state;
      row.dataset.number = r.number;
      row.className = (i === q.selected ? "selected " : "") + (r.overdue ? "overdue" : "");
      row.setAttribute("aria-selected", i === q.selected ? "true" : "false");
      var a = document.createElement("a");
      a.href = "/reports/" + encodeURIComponent(r.id);
      a.textContent = num(r.number);
      cell(row, "", "num").appendChild(a);
      cell(row, fmtDate(r.received_at), "nowrap");
      cell(row, categoryName(r.category));
      cell(row, r.description.length > 140 ? r.description.slice(0, 140) + "…" : r.description, "report-text");
      cell(row, [unitName(r.unit_code), r.address].filter(Boolean).join(" · "));
      cell(row, "").appendChild(badge(stateLabel(r.state), "state-" + r.state));
      if (centre) cell(row, tr("channel." + r.channel));
      cell(row, fmtDate(r.deadline_at), "nowrap");
      var left = cell(row, "", "time-left");
      if (r.overdue) left.appendChild(badge(tr("reports_ui.overdue"), "badge-danger overdue-label"));
      left.appendChild(document.createTextNode(" " + timeLeft(r)));
      row.addEventListener("click", function (e) {
        if (e.target.tagName === "A") return;
        q.selected = i;
        render();
      });
      body.appendChild(row);
    });
    var sel = body.querySelector("tr.selected");
    if (sel && sel.scrollIntoView) sel.scrollIntoView({ block: "nearest" });
  }

  function selected() { return q.items[q.selected] || null; }
  function move(by) {
    if (!q.items.length) return;
    q.selected = Math.max(0, Math.min(q.items.length - 1, q.selected + by));
    render();
  }

  function done(report, name) {
    show("queue-error", "");
    show("queue-status", tr("reports_ui.done", { step: tr("report_step." + name), number: num(report.number) }));
    load();
    loadOverdueCount();
  }

  function act(name, extra) {
    var r = selected();
    show("queue-status", "");
    if (!r) { show("queue-error", tr("reports_ui.no_selection")); return; }
    if (!allowed(r, name)) { show("queue-error", tr("reports_ui.not_allowed")); return; }
    step(r, Object.assign({ step: name }, extra || {})).then(function (res) {
      if (!res.ok) { show("queue-error", problem(res)); return; }
      done(r, name);
    });
  }

  function merge() {
    var r = selected();
    if (!r) { show("queue-error", tr("reports_ui.no_selection")); return; }
    if (!allowed(r, "merge")) { show("queue-error", tr("reports_ui.not_allowed")); return; }
    duplicates(r).then(function (list) {
      if (!list.length) { show("queue-error", tr("reports_ui.no_duplicates")); return; }
      act("merge", { into: list[0].id });
    });
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape" && closeReject()) { e.preventDefault(); return; }
    // Enter on a link or a button is theirs (open, press).
    if (typing(e) || (e.key === "Enter" && /^(A|BUTTON)$/.test(e.target.tagName))) return;
    var handled = true;
    switch (e.key) {
      case "j": case "ArrowDown": case "n": move(1); break;
      case "k": case "ArrowUp": move(-1); break;
      case "Enter": if (selected()) window.location.assign("/reports/" + encodeURIComponent(selected().id)); break;
      case "?": toggleLegend(); break;
      case "v": if (centre) act("verify"); else handled = false; break;
      case "a": if (centre) act("assign"); else handled = false; break;
      case "r":
        if (centre && selected()) {
          if (allowed(selected(), "reject")) openReject(selected(), done);
          else show("queue-error", tr("reports_ui.not_allowed"));
        } else handled = false;
        break;
      case "m": if (centre) merge(); else handled = false; break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });

  Array.prototype.forEach.call(root.querySelectorAll(".tab"), function (b) {
    b.addEventListener("click", function () {
      q.tab = b.dataset.tab;
      q.selected = 0;
      Array.prototype.forEach.call(root.querySelectorAll(".tab"), function (x) {
        x.setAttribute("aria-selected", x === b ? "true" : "false");
      });
      load();
    });
  });
  var filter = document.getElementById("state-filter");
  if (filter) filter.addEventListener("change", function () { q.state = filter.value; q.selected = 0; load(); });

  /* ---------- the centre takes a report by hotline ---------- */
  function wireHotline() {
    var form = document.getElementById("hotline-form");
    if (!form) return;
    var cat = document.getElementById("hotline-category"), unit = document.getElementById("hotline-unit");
    function fill(select, map) {
      Object.keys(map).map(function (code) { return [code, map[code]]; })
        .sort(function (a, b) { return a[1].localeCompare(b[1], D.lang); })
        .forEach(function (pair) {
          var o = document.createElement("option");
          o.value = pair[0];
          o.textContent = pair[1];
          select.appendChild(o);
        });
    }
    var names = {};
    Object.keys(D.categories).forEach(function (code) { names[code] = D.categories[code].name; });
    fill(cat, names);
    fill(unit, D.units);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      show("hotline-error", "");
      var value = function (id) { return document.getElementById(id).value.trim(); };
      var name = value("hotline-name"), phone = value("hotline-phone");
      var consent = document.getElementById("hotline-consent").checked;
      if (!cat.value || !value("hotline-description") || (!unit.value && !value("hotline-address"))) {
        show("hotline-error", tr("reports_ui.hotline_need_fields"));
        return;
      }
      if ((name || phone) && !consent) { show("hotline-error", tr("reports_ui.hotline_need_consent")); return; }
      var body = {
        category: cat.value, description: value("hotline-description"), channel: "hotline",
        urgency: value("hotline-urgency"), public: false
      };
      if (unit.value) body.unit_code = unit.value;
      if (value("hotline-address")) body.address = value("hotline-address");
      if (name || phone) {
        body.contact = {};
        if (name) body.contact.name = name;
        if (phone) body.contact.phone = phone;
        body.consent = document.getElementById("hotline-consent-text").textContent.trim();
      }
      var button = document.getElementById("hotline-submit");
      button.disabled = true;
      button.textContent = tr("reports_ui.hotline_saving");
      api("POST", "/api/v1/reports", body).then(function (r) {
        button.disabled = false;
        button.textContent = tr("reports_ui.hotline_submit");
        if (!r.ok) { show("hotline-error", problem(r)); return; }
        form.reset();
        document.getElementById("hotline-done-text").textContent =
          tr("reports_ui.hotline_done", { number: num(r.data.report.number) });
        document.getElementById("hotline-code").textContent = r.data.tracking_code;
        document.getElementById("hotline-done").hidden = false;
        load();
      });
    });
  }

  wireReject();
  wireHotline();
  load();
  loadOverdueCount();
})();
