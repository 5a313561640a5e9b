/*
 * Hải Đăng console — one citizen report (template: reports_detail.html).
 * Shows the report, its place, the masked contact (and the clear one on request, audited),
 * the steps taken, the agencies' parts and extension requests, and the steps its state
 * allows this user. Each step posts to the API and reloads the report; a refusal shows the
 * API's own (translated) words in place. The queue's letters act on this report too.
 */
(function () {
  "use strict";

  var H = window.HaidangReports;
  var root = document.getElementById("report-detail");
  if (!H || !root) return;
  var D = H.D, tr = H.tr, me = D.me;
  var id = root.dataset.id;
  var current = null;
  var dups = [];

  // Which side takes each step, and what it asks for (field name → required?).
  var CENTRE = ["verify", "assign", "merge", "approve", "send_back", "transfer", "redact", "reopen"];
  var AGENCY = ["accept", "start", "return", "request_info", "provide_info", "answer", "request_extension"];
  var FIELDS = {
    verify: [], approve: [], accept: [], start: [],
    assign: [["agency", false], ["supporting", false], ["part", false], ["note", false]],
    merge: [["into", true], ["note", false]],
    send_back: [["note", true]], reopen: [["note", true]], return: [["note", true]],
    request_info: [["note", true]], provide_info: [["note", true]],
    transfer: [["agency", true], ["note", false]],
    redact: [["public_description", true]],
    answer: [["answer", true]],
    request_extension: [["deadline", true], ["note", true]]
  };
  var LABELS = {
    agency: "reports_ui.field_agency", supporting: "reports_ui.field_supporting", part: "reports_ui.field_part",
    note: "reports_ui.field_note", into: "reports_ui.field_into", answer: "reports_ui.field_answer",
    public_description: "reports_ui.field_public_description", deadline: "reports_ui.field_deadline"
  };

  function holds(report) { return !!report.agency_id && report.agency_id === me.org_id; }
  function mayTake(report, name) {
    if (!H.allowed(report, name)) return false;
    if (name === "provide_info") return me.centre || holds(report);
    if (CENTRE.indexOf(name) >= 0) return me.centre;
    return holds(report);
  }

  function setText(elId, text) { var el = document.getElementById(elId); if (el) el.textContent = text || ""; }

  /* ---------- showing the report ---------- */
  function render(d) {
    var r = d.report;
    current = r;
    root.dataset.state = r.state;
    root.dataset.version = r.version;
    var state = document.getElementById("report-state");
    state.textContent = H.stateLabel(r.state);
    state.className = "badge report-state state-" + r.state;
    document.getElementById("report-overdue").hidden = !d.overdue;
    setText("report-number", H.num(r.number));
    setText("report-description", r.description);
    setText("report-category", H.categoryName(r.category));
    setText("report-channel", tr("channel." + r.channel));
    setText("report-urgency", tr("urgency." + r.urgency));
    setText("report-received", H.fmtDate(r.received_at));
    setText("report-unit", H.unitName(r.unit_code));
    setText("report-address", r.address);
    setText("report-agency", H.orgName(r.agency_id));
    setText("report-deadline", r.deadline_at ? H.fmtDate(r.deadline_at) + " · " + H.timeLeft(r) : "");
    setText("report-public", tr(r.public ? "reports_ui.yes" : "reports_ui.no"));
    setText("report-answer", r.answer);
    renderMedia(d.media || [], r);
    renderContact(document.getElementById("contact-masked"), r.contact_masked);
    renderTimeline(d.steps);
    renderAssignments(d.assignments);
    renderExtensions(d.extensions);
    renderActions(d);
    if (me.centre && H.allowed(r, "merge")) {
      H.duplicates(r).then(renderDuplicates);
    } else {
      renderDuplicates([]);
    }
  }

  /** The photos and videos (their public copies, without position) and, for the agency that
   *  holds the report while it works on it, a way to add a photo of the result. */
  function renderMedia(list, r) {
    var ul = document.getElementById("report-media");
    ul.textContent = "";
    list.forEach(function (m) {
      var url = "/api/v1/reports/" + encodeURIComponent(r.id) + "/media/" + encodeURIComponent(m.id);
      var li = document.createElement("li");
      li.dataset.id = m.id;
      li.dataset.stage = m.stage;
      var figure = document.createElement("figure");
      var caption = document.createElement("figcaption");
      caption.textContent = tr("reports_ui.media_stage_" + m.stage);
      var link = document.createElement("a");
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener";
      var shown;
      if (m.media_type === "mp4") {
        shown = document.createElement("video");
        shown.controls = true;
        shown.preload = "metadata";
      } else {
        shown = document.createElement("img");
        shown.alt = caption.textContent;
      }
      // A redacted copy has a new size: the browser must not show the one it cached.
      shown.src = url + "?v=" + m.size;
      link.appendChild(shown);
      figure.appendChild(link);
      if (m.redacted) caption.textContent += " · " + tr("reports_ui.redact_done");
      figure.appendChild(caption);
      li.appendChild(figure);
      // The centre pixelates faces, plates or names before the report is published.
      if (me.centre && m.media_type !== "mp4" && window.HaidangRedact) {
        var redact = document.createElement("button");
        redact.type = "button";
        redact.className = "btn btn-secondary btn-small media-redact";
        redact.textContent = tr("reports_ui.redact_open");
        redact.addEventListener("click", function () { window.HaidangRedact.open(r.id, m.id, url, load); });
        li.appendChild(redact);
      }
      ul.appendChild(li);
    });
    document.getElementById("media-none").hidden = list.length > 0;
    var open = ["accepted", "in_progress", "awaiting_info"].indexOf(r.state) >= 0;
    document.getElementById("media-add").hidden = !(open && holds(r));
  }

  var mediaFile = document.getElementById("media-file");
  mediaFile.addEventListener("change", function () {
    var file = mediaFile.files && mediaFile.files[0];
    if (!file || !current) return;
    var status = document.getElementById("media-status");
    status.textContent = tr("reports_ui.media_uploading");
    H.show("action-error", "");
    // The bytes as they are; the server reads their type. A photo's content type, which no
    // cross-site form can send, proves the request comes from this page (as JSON does for the
    // other steps).
    H.api("POST", "/api/v1/reports/" + encodeURIComponent(current.id) + "/media", file,
      file.type || "application/octet-stream").then(function (r) {
      mediaFile.value = "";
      if (!r.ok) { status.textContent = ""; H.show("action-error", H.problem(r)); return null; }
      status.textContent = tr("reports_ui.media_added");
      return load();
    });
  });

  function renderContact(list, contact) {
    list.textContent = "";
    var any = false;
    ["name", "phone", "email", "id_number"].forEach(function (k) {
      if (!contact || !contact[k]) return;
      any = true;
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = tr("reports_ui.contact_" + k);
      dd.textContent = contact[k];
      dd.className = "contact-" + k;
      list.appendChild(dt);
      list.appendChild(dd);
    });
    if (!any) {
      var p = document.createElement("dd");
      p.textContent = tr("reports_ui.anonymous");
      list.appendChild(p);
    }
    var button = document.getElementById("contact-show");
    if (button && list.id === "contact-masked") button.hidden = !any;
  }

  function rows(tableId, items, build) {
    var body = document.querySelector("#" + tableId + " tbody");
    body.textContent = "";
    items.forEach(function (item) {
      var row = document.createElement("tr");
      build(row, item);
      body.appendChild(row);
    });
  }

  function renderTimeline(steps) {
    rows("timeline", steps, function (row, s) {
      row.dataset.action = s.action;
      H.cell(row, H.fmtDate(s.at), "nowrap");
      H.cell(row, tr("report_step." + s.action));
      H.cell(row, s.from_state === s.to_state ? H.stateLabel(s.to_state)
        : H.stateLabel(s.from_state) + " → " + H.stateLabel(s.to_state));
      H.cell(row, H.org(s.actor_name) ? H.orgName(s.actor_name) : s.actor_name);
      H.cell(row, s.note);
    });
  }

  function renderAssignments(list) {
    rows("assignments", list, function (row, a) {
      H.cell(row, H.orgName(a.org_id));
      H.cell(row, tr("assignment_role." + a.role));
      H.cell(row, a.part);
      H.cell(row, H.fmtDate(a.deadline_at), "nowrap");
      H.cell(row, a.answer);
      H.cell(row, H.fmtDate(a.ended_at), "nowrap");
    });
  }

  function renderExtensions(list) {
    rows("extensions", list, function (row, x) {
      H.cell(row, x.reason);
      H.cell(row, H.fmtDate(x.requested_deadline), "nowrap");
      H.cell(row, "").appendChild(H.badge(tr("extension_state." + x.state)));
      var actions = H.cell(row, "", "actions-col");
      if (x.state === "pending" && me.decide && H.allowed(current, "decide_extension")) {
        [[true, "reports_ui.approve_extension", "btn btn-small btn-primary"],
          [false, "reports_ui.refuse_extension", "btn btn-small btn-danger"]].forEach(function (c) {
          var b = document.createElement("button");
          b.type = "button";
          b.className = c[2] + " decide-" + (c[0] ? "approve" : "refuse");
          b.textContent = tr(c[1]);
          b.addEventListener("click", function () {
            take({ step: "decide_extension", extension_id: x.id, approve: c[0] });
          });
          actions.appendChild(b);
        });
      }
    });
  }

  function renderDuplicates(list) {
    dups = list;
    var ul = document.getElementById("duplicates");
    ul.textContent = "";
    document.getElementById("duplicates-card").hidden = !list.length;
    list.forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/reports/" + encodeURIComponent(r.id);
      a.textContent = H.num(r.number) + " · " + H.fmtDate(r.received_at) + " · " + H.stateLabel(r.state);
      var p = document.createElement("p");
      p.className = "hint";
      p.textContent = r.description;
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-small merge-into";
      b.textContent = tr("reports_ui.merge_into");
      b.addEventListener("click", function () { take({ step: "merge", into: r.id }); });
      li.appendChild(a);
      li.appendChild(b);
      li.appendChild(p);
      ul.appendChild(li);
    });
  }

  /* ---------- the steps this user may take ---------- */
  function field(form, name, d) {
    var wrap = document.createElement("div");
    wrap.className = "field";
    var label = document.createElement("label");
    var inputId = "f-" + form.dataset.step + "-" + name;
    label.htmlFor = inputId;
    label.textContent = tr(LABELS[name]);
    var input;
    if (name === "agency" || name === "supporting") {
      input = document.createElement("select");
      if (name === "supporting") input.multiple = true;
      D.orgs.forEach(function (o) {
        if (o.id === me.org_id) return;
        var opt = document.createElement("option");
        opt.value = o.code;
        var suggested = name === "agency" && d.suggested_agency === o.code;
        opt.textContent = o.name + (suggested ? " (" + tr("reports_ui.suggested") + ")" : "");
        opt.selected = suggested;
        input.appendChild(opt);
      });
    } else if (name === "answer" || name === "public_description") {
      input = document.createElement("textarea");
      if (name === "public_description") input.value = d.report.public_description || d.report.description;
    } else {
      input = document.createElement("input");
      input.type = name === "deadline" ? "date" : "text";
      input.autocomplete = "off";
      if (name === "into" && dups.length) input.value = String(dups[0].number);
    }
    input.id = inputId;
    input.name = name;
    wrap.appendChild(label);
    wrap.appendChild(input);
    form.appendChild(wrap);
  }

  function bodyOf(form) {
    var name = form.dataset.step, body = { step: name };
    FIELDS[name].forEach(function (f) {
      var el = form.elements[f[0]];
      if (!el) return;
      if (f[0] === "supporting") {
        var part = form.elements.part ? form.elements.part.value : "";
        body.supporting = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return { agency: o.value, part: part }; });
      } else if (f[0] === "deadline") {
        // The end of the working day in Vietnam on the date chosen.
        if (el.value) body.deadline = el.value + "T17:00:00+07:00";
      } else if (f[0] !== "part" && el.value !== "") {
        body[f[0]] = el.value;
      }
    });
    return body;
  }

  function renderActions(d) {
    var box = document.getElementById("actions");
    box.textContent = "";
    var names = CENTRE.concat(AGENCY).filter(function (n) { return mayTake(d.report, n); });
    if (me.centre && H.allowed(d.report, "reject")) {
      var rb = document.createElement("button");
      rb.type = "button";
      rb.id = "open-reject";
      rb.className = "btn btn-danger";
      rb.textContent = tr("report_step.reject");
      rb.addEventListener("click", function () { H.openReject(current, done); });
      box.appendChild(rb);
    }
    if (!names.length && !box.childNodes.length) {
      var p = document.createElement("p");
      p.className = "hint";
      p.textContent = tr("reports_ui.no_actions");
      box.appendChild(p);
      return;
    }
    names.forEach(function (name) {
      var form = document.createElement("form");
      form.className = "step-form";
      form.dataset.step = name;
      form.id = "step-" + name;
      FIELDS[name].forEach(function (f) { field(form, f[0], d); });
      var b = document.createElement("button");
      b.type = "submit";
      b.className = "btn " + (/^(verify|assign|accept|answer|approve)$/.test(name) ? "btn-primary" : "");
      b.textContent = tr("report_step." + name);
      form.appendChild(b);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        take(bodyOf(form), form);
      });
      box.appendChild(form);
    });
  }

  /* ---------- acting and reloading ---------- */
  function load() {
    return H.api("GET", "/api/v1/reports/" + encodeURIComponent(id)).then(function (r) {
      if (!r.ok) { H.show("action-error", H.problem(r)); return; }
      render(r.data);
      root.dataset.loaded = "true";
    });
  }

  function done(report, name) {
    H.show("action-error", "");
    H.show("action-status", tr("reports_ui.done", { step: tr("report_step." + name), number: H.num(report.number) }));
    return load();
  }

  function take(body, form) {
    if (!current) return;
    H.show("action-status", "");
    if (!H.allowed(current, body.step)) { H.show("action-error", tr("reports_ui.not_allowed")); return; }
    var report = current;
    H.step(report, body).then(function (r) {
      if (!r.ok) {
        H.show("action-error", H.problem(r));
        var bad = form && r.data && r.data.field && form.elements[r.data.field];
        if (bad && bad.setAttribute) { bad.setAttribute("aria-invalid", "true"); bad.focus(); }
        return;
      }
      done(report, body.step);
    });
  }

  /** The report after this one in the user's list (the queue's order), or the first. */
  function goNext() {
    var url = me.centre
      ? "/api/v1/reports?state=received,verified,returned&oldest_first=true&limit=500"
      : "/api/v1/reports?state=assigned,accepted,in_progress,awaiting_info,answered&oldest_first=true&limit=500";
    H.api("GET", url).then(function (r) {
      var list = (r.ok && r.data) || [];
      var others = list.filter(function (x) { return x.id !== id; });
      var after = others.filter(function (x) { return current && x.received_at > current.received_at; });
      var next = after[0] || others[0];
      if (next) window.location.assign("/reports/" + encodeURIComponent(next.id));
    });
  }

  var contactButton = document.getElementById("contact-show");
  if (contactButton) {
    contactButton.addEventListener("click", function () {
      H.api("GET", "/api/v1/reports/" + encodeURIComponent(id) + "/contact").then(function (r) {
        if (!r.ok) { H.show("action-error", H.problem(r)); return; }
        renderContact(document.getElementById("contact-clear-list"), r.data && r.data.contact);
        document.getElementById("contact-clear").hidden = false;
        contactButton.hidden = true;
      });
    });
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape" && H.closeReject()) { e.preventDefault(); return; }
    if (H.typing(e) || !current) return;
    var handled = true;
    switch (e.key) {
      case "v": if (me.centre) take({ step: "verify" }); else handled = false; break;
      case "a": if (me.centre) take({ step: "assign" }); else handled = false; break;
      case "r":
        if (me.centre && H.allowed(current, "reject")) H.openReject(current, done);
        else handled = false;
        break;
      case "m":
        if (!me.centre) { handled = false; break; }
        if (dups.length) take({ step: "merge", into: dups[0].id });
        else H.show("action-error", tr("reports_ui.no_duplicates"));
        break;
      case "n": goNext(); break;
      case "?": H.toggleLegend(); break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });

  /* ---------- the place ---------- */
  function drawMap(r) {
    var el = document.getElementById("report-map");
    var geometry = null;
    try { geometry = root.dataset.geometry ? JSON.parse(root.dataset.geometry) : null; } catch (e) { geometry = null; }
    if (!window.L || (!geometry && (r.lat === null || r.lat === undefined))) { el.hidden = true; return; }
    var map = window.L.map(el, { attributionControl: false, scrollWheelZoom: false });
    // Leaflet draws a layer only on a map with a view: set it first, from the layers' bounds.
    var layers = [];
    if (geometry) {
      layers.push(window.L.geoJSON(geometry, { style: { color: "#1d4e89", weight: 2, fillOpacity: 0.08 } }));
    }
    var point = r.lat !== null && r.lat !== undefined;
    if (point) {
      layers.push(window.L.circleMarker([r.lat, r.lon], { radius: 8, color: "#b42318", weight: 3, fillOpacity: 0.6 }));
    }
    if (geometry) map.fitBounds(layers[0].getBounds(), { padding: [12, 12] });
    else map.setView([r.lat, r.lon], 14);
    layers.forEach(function (l) { l.addTo(map); });
    el.dataset.drawn = "true";
  }

  H.wireReject();
  load().then(function () {
    if (!current) return;
    // A map that cannot be drawn leaves the rest of the page working; the reason stays on it.
    try { drawMap(current); } catch (e) { document.getElementById("report-map").dataset.error = String(e); }
  });
})();
