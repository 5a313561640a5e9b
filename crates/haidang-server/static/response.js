/*
 * Hải Đăng console — response (template: response.html): the live alert list (with a bell for
 * new severe alerts), the incident board and command page, the agency's tasks, public
 * warnings, and the rules and playbook editors. No user-facing text here: words come from the
 * page's JSON blob (#response-data), errors from the API's problem details (already translated).
 */
(function () {
  "use strict";

  var blob = document.getElementById("response-data");
  var root = document.getElementById("response");
  if (!blob || !root) return;
  var D = JSON.parse(blob.textContent);
  var view = root.getAttribute("data-view");

  function tr(key, vars) {
    var s = D.t[key] !== undefined ? D.t[key] : key;
    Object.keys(vars || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  }
  function org(idOrCode) {
    for (var i = 0; i < D.orgs.length; i++) {
      if (D.orgs[i].id === idOrCode || D.orgs[i].code === idOrCode) return D.orgs[i];
    }
    return null;
  }
  function orgName(x) { var o = org(x); return o ? o.name : (x || ""); }
  function unitName(code) { return code ? (D.units[code] || code) : ""; }
  var numberFormat = new Intl.NumberFormat(D.lang === "en" ? "en" : "vi", { maximumFractionDigits: 2 });
  function num(n) { return n === null || n === undefined ? "" : numberFormat.format(n); }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  // Vietnam keeps UTC+7 all year: shifting by 7 hours and reading UTC fields is exact.
  function fmtDate(iso) {
    if (!iso) return "";
    var d = new Date(new Date(iso).getTime() + 7 * 3600 * 1000);
    return pad(d.getUTCDate()) + "/" + pad(d.getUTCMonth() + 1) + "/" + d.getUTCFullYear() + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function api(method, url, body) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json", "Accept-Language": D.lang };
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (res) {
        return res.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          return { ok: res.ok, status: res.status, data: data };
        });
      }, function () { return { ok: false, status: 0, data: { detail: document.body.getAttribute("data-network-error") } }; });
  }
  function problem(r) { return (r.data && (r.data.detail || r.data.title)) || String(r.status); }
  function show(id, text) {
    var box = document.getElementById(id);
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function button(label, id, onClick) {
    var b = el("button", "btn btn-small", label);
    b.type = "button";
    if (id) b.id = id;
    b.addEventListener("click", onClick);
    return b;
  }
  function after(r, reload) {
    if (!r.ok) { show("action-error", problem(r)); return false; }
    show("action-error", "");
    if (reload) reload();
    return true;
  }

  /* ---------- alerts ---------- */
  var alerts = {};
  var incidentFor = null;
  function bell() {
    var on = document.getElementById("sound-on");
    if (!on || !on.checked) return;
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      [0, 0.35].forEach(function (start) {
        var o = ctx.createOscillator(), g = ctx.createGain();
        o.frequency.value = 880; o.connect(g); g.connect(ctx.destination);
        g.gain.setValueAtTime(0.2, ctx.currentTime + start);
        o.start(ctx.currentTime + start); o.stop(ctx.currentTime + start + 0.25);
      });
    } catch (e) { /* no sound device: the row still flashes */ }
    document.body.setAttribute("data-bell", String(Date.now()));
  }
  function alertStep(a, body) {
    // The state seen, not the version: the engine moves a rising river's value every few seconds.
    body.expected_state = a.state;
    return api("POST", "/api/v1/alerts/" + encodeURIComponent(a.id) + "/steps", body).then(function (r) { after(r, loadAlerts); });
  }
  function renderAlerts() {
    var tbody = document.querySelector("#alert-table tbody");
    var filter = document.getElementById("alert-filter").value;
    var list = Object.keys(alerts).map(function (k) { return alerts[k]; })
      .filter(function (a) { return !filter || ["dismissed", "resolved"].indexOf(a.state) < 0; })
      .sort(function (x, y) { return y.number - x.number; });
    tbody.textContent = "";
    if (!list.length) {
      var row = el("tr"); var td = el("td", "empty", tr("response_ui.no_alerts")); td.colSpan = 8; row.appendChild(td); tbody.appendChild(row);
      return;
    }
    list.forEach(function (a) {
      var row = el("tr", "sev-" + a.severity + (a.condition_active ? "" : " cleared"));
      row.id = "alert-" + a.number;
      row.appendChild(el("td", "num", "A-" + a.number));
      row.appendChild(el("td", null, fmtDate(a.raised_at)));
      row.appendChild(el("td", null, tr("severity." + a.severity)));
      row.appendChild(el("td", null, a.title));
      row.appendChild(el("td", null, (a.units || []).slice(0, 1).map(unitName).join("")));
      row.appendChild(el("td", "num", num(a.value)));
      row.appendChild(el("td", "state", tr("alert_state." + a.state)));
      var actions = el("td", "actions");
      var allowed = D.me.handle ? (D.process[a.state] || []) : [];
      allowed.forEach(function (name) {
        if (name === "note" || name === "resolve") return;
        actions.appendChild(button(tr("alert_action." + name), "act-" + name + "-" + a.number, function () {
          if (name === "dismiss") {
            var reason = window.prompt(tr("response_ui.dismiss_reason"));
            if (reason) alertStep(a, { action: "dismiss", note: reason });
          } else if (name === "forward") {
            var code = window.prompt(tr("response_ui.forward_to"));
            if (code) alertStep(a, { action: "forward", org: code, due: new Date(Date.now() + 4 * 3600 * 1000).toISOString() });
          } else if (name === "incident") {
            incidentFor = a;
            document.getElementById("incident-title").value = a.title;
            document.getElementById("incident-dialog").showModal();
          } else {
            alertStep(a, { action: name });
          }
        }));
      });
      if (a.incident_id) {
        var link = el("a", null, tr("response_ui.open_command")); link.href = "/incidents/" + a.incident_id; actions.appendChild(link);
      }
      row.appendChild(actions);
      tbody.appendChild(row);
    });
  }
  function loadAlerts() {
    api("GET", "/api/v1/alerts?limit=200").then(function (r) {
      if (!r.ok) { show("action-error", problem(r)); return; }
      alerts = {};
      r.data.forEach(function (a) { alerts[a.id] = a; });
      renderAlerts();
    });
  }
  function live() {
    var status = document.getElementById("live-status");
    var source = new EventSource("/api/v1/live");
    source.onopen = function () { status.textContent = tr("response_ui.live_on"); status.className = "badge status-on_track"; };
    source.onerror = function () { status.textContent = tr("response_ui.live_reconnecting"); status.className = "badge status-off_track"; };
    ["alert.raised", "alert.updated", "alert.step", "alert.resolved"].forEach(function (kind) {
      source.addEventListener(kind, function (e) {
        var ev = JSON.parse(e.data);
        alerts[ev.data.id] = ev.data;
        renderAlerts();
        if (kind === "alert.raised" && (ev.data.severity === "severe" || ev.data.severity === "extreme")) bell();
      });
    });
  }
  function initAlerts() {
    var types = document.getElementById("incident-type");
    Object.keys(D.t).filter(function (k) { return k.indexOf("incident_type.") === 0; }).forEach(function (k) {
      var o = el("option", null, D.t[k]); o.value = k.slice("incident_type.".length); types.appendChild(o);
    });
    document.getElementById("alert-filter").addEventListener("change", renderAlerts);
    document.getElementById("incident-cancel").addEventListener("click", function () { document.getElementById("incident-dialog").close(); });
    document.getElementById("incident-form").addEventListener("submit", function (e) {
      e.preventDefault();
      if (!incidentFor) return;
      var kind = incidentFor.kind === "flood" ? "flood_landslide" : null;
      var body = { title: document.getElementById("incident-title").value, incident_type: types.value,
        mode: document.getElementById("incident-mode").value, severity: incidentFor.severity, alert_id: incidentFor.id };
      if (kind && !types.dataset.touched) body.incident_type = kind;
      api("POST", "/api/v1/incidents", body).then(function (r) {
        if (!r.ok) { show("incident-error", problem(r)); return; }
        window.location.href = "/incidents/" + r.data.incident.id;
      });
    });
    types.addEventListener("change", function () { types.dataset.touched = "1"; });
    loadAlerts();
    live();
  }

  /* ---------- incidents ---------- */
  function initBoard() {
    api("GET", "/api/v1/incidents?open=true").then(function (r) {
      var board = document.getElementById("incident-board");
      board.textContent = "";
      if (!r.ok) { board.appendChild(el("p", "error-box", problem(r))); return; }
      if (!r.data.length) { board.appendChild(el("p", "empty", tr("response_ui.no_incidents"))); return; }
      r.data.forEach(function (i) {
        var card = el("a", "card incident-card sev-" + i.severity);
        card.href = "/incidents/" + i.id;
        card.appendChild(el("strong", null, "SC-" + i.number + " · " + i.title));
        card.appendChild(el("p", null, tr("incident_type." + i.incident_type) + " · " + (i.mode === "immediate" ? tr("response_ui.mode_immediate") : tr("response_ui.mode_timed"))));
        card.appendChild(el("p", "muted", fmtDate(i.opened_at) + " · " + (i.units || []).slice(0, 1).map(unitName).join("")));
        board.appendChild(card);
      });
    });
  }

  function initIncident() {
    var id = D.extra.id;
    var orgSelect = document.getElementById("task-org");
    D.orgs.forEach(function (o) { var opt = el("option", null, o.name); opt.value = o.code; orgSelect.appendChild(opt); });
    function act(body) {
      return api("POST", "/api/v1/incidents/" + encodeURIComponent(id) + "/actions", body).then(function (r) { if (after(r)) render(r.data); });
    }
    function render(d) {
      var i = d.incident;
      document.getElementById("incident-heading").textContent = "SC-" + i.number + " · " + i.title;
      document.getElementById("incident-meta").textContent = [tr("incident_type." + i.incident_type), tr("severity." + i.severity),
        i.mode === "immediate" ? tr("response_ui.mode_immediate") : tr("response_ui.mode_timed"), fmtDate(i.opened_at),
        (i.units || []).slice(0, 1).map(unitName).join(""), i.state === "closed" ? tr("response_ui.closed") : ""].filter(Boolean).join(" · ");
      var list = document.getElementById("checklist");
      list.textContent = "";
      (i.checklist || []).forEach(function (c, n) {
        var li = el("li", c.done_at ? "done" : "");
        var box = el("input"); box.type = "checkbox"; box.checked = !!c.done_at; box.id = "check-" + n;
        box.disabled = !D.me.handle || i.state === "closed";
        box.addEventListener("change", function () { act({ kind: "check", index: n, done: box.checked }); });
        var label = el("label", null, c.text + (c.org ? " — " + orgName(c.org) : "")); label.htmlFor = box.id;
        li.appendChild(box); li.appendChild(label); list.appendChild(li);
      });
      var tbody = document.querySelector("#task-table tbody");
      tbody.textContent = "";
      (d.tasks || []).slice().sort(function (a, b) { return orgName(a.org_id).localeCompare(orgName(b.org_id)); }).forEach(function (t) {
        var row = el("tr", t.escalated_at && t.state !== "done" ? "overdue" : "");
        row.appendChild(el("td", null, orgName(t.org_id)));
        row.appendChild(el("td", null, t.title + (t.progress.length ? " — " + t.progress[t.progress.length - 1].note : "")));
        row.appendChild(el("td", null, fmtDate(t.due_at)));
        row.appendChild(el("td", "state", tr("task_state." + t.state)));
        tbody.appendChild(row);
      });
      var mob = document.getElementById("mobilised");
      mob.textContent = "";
      (i.mobilised || []).forEach(function (m) { mob.appendChild(el("li", null, m.name + " — " + m.role + (m.duty_phone ? " · ☎ " + m.duty_phone : ""))); });
      var msgs = document.getElementById("messages");
      msgs.textContent = "";
      (i.messages || []).forEach(function (m) { var b = el("details"); b.appendChild(el("summary", null, m.name)); b.appendChild(el("p", null, m.text)); msgs.appendChild(b); });
      var tl = document.getElementById("timeline");
      tl.textContent = "";
      (d.timeline || []).slice().reverse().forEach(function (e) {
        tl.appendChild(el("li", "tl-" + e.kind, fmtDate(e.at) + " · " + e.actor + " · " + tr("response_ui.tl_" + e.kind) + ": " + e.text));
      });
    }
    function load() {
      api("GET", "/api/v1/incidents/" + encodeURIComponent(id)).then(function (r) { if (after(r)) render(r.data); });
      api("GET", "/api/v1/incidents/" + encodeURIComponent(id) + "/situation").then(function (r) {
        var ul = document.getElementById("situation");
        ul.textContent = "";
        if (!r.ok) { ul.appendChild(el("li", "muted", problem(r))); return; }
        (r.data.nearby || []).forEach(function (n) {
          ul.appendChild(el("li", null, n.name + " · " + tr("response_ui.kind_" + n.kind) + " · " + num(n.distance_m) + " m" + (n.reading ? " · " + n.reading : "")));
        });
        if (r.data.communes && r.data.communes.length) {
          ul.appendChild(el("li", "muted", tr("response_ui.communes_affected") + ": " + r.data.communes.map(unitName).join(", ")));
        }
      });
    }
    document.getElementById("task-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var hours = Number(document.getElementById("task-hours").value) || 4;
      act({ kind: "task", org: orgSelect.value, title: document.getElementById("task-title").value,
        due_at: new Date(Date.now() + hours * 3600 * 1000).toISOString() });
    });
    document.getElementById("note-form").addEventListener("submit", function (e) {
      e.preventDefault();
      act({ kind: "note", text: document.getElementById("note-text").value }).then(function () { document.getElementById("note-text").value = ""; });
    });
    document.getElementById("close-form").addEventListener("submit", function (e) {
      e.preventDefault();
      act({ kind: "close", report: document.getElementById("close-report").value });
    });
    var source = new EventSource("/api/v1/live");
    ["incident.updated", "task.updated", "task.assigned", "task.overdue"].forEach(function (k) { source.addEventListener(k, load); });
    load();
  }

  /* ---------- the agency's tasks ---------- */
  function initTasks() {
    function load() {
      api("GET", "/api/v1/tasks").then(function (r) {
        var box = document.getElementById("task-list");
        box.textContent = "";
        if (!after(r)) return;
        if (!r.data.length) { box.appendChild(el("p", "empty", tr("response_ui.no_tasks"))); return; }
        r.data.forEach(function (t) {
          var card = el("div", "card task-card" + (t.overdue ? " overdue" : ""));
          card.id = "task-" + t.id;
          card.appendChild(el("strong", null, t.title));
          card.appendChild(el("p", null, orgName(t.org_id) + " · " + tr("response_ui.col_due") + ": " + fmtDate(t.due_at) + " · " + tr("task_state." + t.state) + (t.overdue ? " · " + tr("response_ui.overdue") : "")));
          var link = el("a", null, tr("response_ui.open_command")); link.href = "/incidents/" + t.incident_id; card.appendChild(link);
          var note = el("input"); note.placeholder = tr("response_ui.progress_note"); note.setAttribute("aria-label", tr("response_ui.progress_note"));
          card.appendChild(note);
          function step(action) {
            api("POST", "/api/v1/tasks/" + encodeURIComponent(t.id) + "/steps", { action: action, note: note.value, version: t.version }).then(function (r2) { after(r2, load); });
          }
          if (t.state === "assigned") card.appendChild(button(tr("response_ui.accept"), null, function () { step("accept"); }));
          card.appendChild(button(tr("response_ui.report_progress"), null, function () { step("progress"); }));
          card.appendChild(button(tr("response_ui.done"), null, function () { step("done"); }));
          box.appendChild(card);
        });
      });
    }
    load();
  }

  /* ---------- public warnings ---------- */
  function initWarnings() {
    function load() {
      api("GET", "/api/v1/warnings").then(function (r) {
        var box = document.getElementById("warning-list");
        box.textContent = "";
        if (!after(r)) return;
        if (!r.data.length) { box.appendChild(el("p", "empty", tr("response_ui.no_warnings"))); return; }
        r.data.forEach(function (w) {
          var card = el("div", "card warning-card");
          card.appendChild(el("strong", null, "CB-" + w.number + " · " + w.draft.headline_vi));
          card.appendChild(el("p", null, tr("warning_state." + w.state) + " · " + w.draft.communes.map(unitName).join(", ") + " · " + tr("response_ui.expires") + " " + fmtDate(w.draft.expires)));
          if (w.note) card.appendChild(el("p", "muted", w.note));
          (w.sent || []).forEach(function (s) { var a = el("a", null, s.msg_type + " " + fmtDate(s.sent)); a.href = "/cap/" + s.identifier; card.appendChild(a); card.appendChild(document.createTextNode(" ")); });
          function step(action, note) {
            api("POST", "/api/v1/warnings/" + w.id + "/steps", { action: action, note: note || "", version: w.version }).then(function (r2) { after(r2, load); });
          }
          if (D.me.handle && (w.state === "draft" || w.state === "published")) card.appendChild(button(tr("response_ui.submit"), null, function () { step("submit"); }));
          if (D.me.approve && w.state === "pending") {
            card.appendChild(button(tr("response_ui.approve"), null, function () { step("approve"); }));
            card.appendChild(button(tr("response_ui.send_back"), null, function () { var n = window.prompt(tr("response_ui.send_back_note")); if (n) step("send_back", n); }));
          }
          if (D.me.approve && w.published && w.state !== "cancelled") {
            card.appendChild(button(tr("response_ui.cancel_warning"), null, function () { var n = window.prompt(tr("response_ui.cancel_note")); if (n) step("cancel", n); }));
          }
          box.appendChild(card);
        });
      });
    }
    load();
  }

  /* ---------- rules and playbooks ---------- */
  function initRules() {
    var ruleText = document.getElementById("rule-json"), pbText = document.getElementById("playbook-json");
    var editing = { rule: null, playbook: null };
    function load() {
      api("GET", "/api/v1/alert-rules").then(function (r) {
        var tbody = document.querySelector("#rule-table tbody");
        tbody.textContent = "";
        if (!after(r)) return;
        r.data.forEach(function (rule) {
          var row = el("tr");
          var name = el("td"); var a = el("a", null, rule.name); a.href = "#rule-editor-h";
          a.addEventListener("click", function () { editing.rule = rule; ruleText.value = JSON.stringify(rule, null, 2); });
          name.appendChild(a); row.appendChild(name);
          row.appendChild(el("td", null, rule.scope.entity_type + (rule.scope.entities.length ? " · " + rule.scope.entities.join(", ") : "")));
          var c = rule.condition;
          row.appendChild(el("td", "mono", c.kind + " " + (c.attribute || "") + (c.above !== undefined && c.above !== null ? " > " + num(c.above) : "") + (c.below !== undefined && c.below !== null ? " < " + num(c.below) : "") + (c.minutes ? " " + c.minutes + "′" : "")));
          row.appendChild(el("td", null, tr("severity." + rule.severity)));
          tbody.appendChild(row);
        });
      });
      api("GET", "/api/v1/playbooks").then(function (r) {
        var box = document.getElementById("playbook-list");
        box.textContent = "";
        if (!after(r)) return;
        r.data.forEach(function (p) {
          var d = el("details", "card"); var s = el("summary", null, p.name + " · " + tr("incident_type." + p.incident_type));
          d.appendChild(s);
          var ol = el("ol"); p.steps.forEach(function (st) { ol.appendChild(el("li", null, st.text + (st.org ? " — " + orgName(st.org) : ""))); });
          d.appendChild(ol);
          if (D.me.rules) d.appendChild(button(tr("response_ui.edit"), null, function () { editing.playbook = p; pbText.value = JSON.stringify(p, null, 2); pbText.focus(); }));
          box.appendChild(d);
        });
      });
    }
    function save(kind, text, base) {
      var body;
      try { body = JSON.parse(text.value); } catch (e) { show("action-error", tr("response_ui.not_json")); return; }
      var existing = editing[kind] && body.id === editing[kind].id;
      var url = (kind === "rule" ? "/api/v1/alert-rules" : "/api/v1/playbooks") + (existing ? "/" + encodeURIComponent(body.id) : "");
      api(existing ? "PUT" : "POST", url, body).then(function (r) { if (after(r, load)) { text.value = ""; editing[kind] = null; } });
    }
    document.getElementById("rule-form").addEventListener("submit", function (e) { e.preventDefault(); save("rule", ruleText); });
    document.getElementById("playbook-form").addEventListener("submit", function (e) { e.preventDefault(); save("playbook", pbText); });
    if (!D.me.rules) { ruleText.disabled = true; pbText.disabled = true; }
    load();
  }

  ({ alerts: initAlerts, incidents: initBoard, incident: initIncident, tasks: initTasks, warnings: initWarnings, rules: initRules }[view] || function () {})();
})();
