/*
 * Hải Đăng — the citizens' portal (templates/portal_*.html).
 *
 * - Maps of published reports (#portal-map) and the place picker (#pick-map), drawn with
 *   Leaflet (global `L`) over the province's communes from /portal/communes.geojson; the
 *   basemap is optional (data-tile-url), so the maps work offline.
 * - The step-by-step report form (#report-form): photos are uploaded one by one to
 *   /api/v1/public/media, then the report is posted to /api/v1/public/reports; the tracking
 *   code in the answer is shown once.
 * - Following a report (#track-form): the code is only ever sent in a POST body, never put in
 *   the URL, and kept in this page's memory for the reporter's steps.
 * Every text comes from the page (data-texts, data- attributes, the templates); none lives here.
 */
(function () {
  "use strict";

  var MEDIA_URL = "/api/v1/public/media";
  var REPORTS_URL = "/api/v1/public/reports";
  var TRACK_URL = "/api/v1/public/track";
  var STEPS_URL = "/api/v1/public/track/steps";
  var MAX_PHOTOS = 5;
  var MAX_PHOTO_BYTES = 8 * 1024 * 1024;
  var PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
  var ZONE = "Asia/Ho_Chi_Minh";
  // Shown until the boundaries arrive (Vietnam as a whole).
  var VIETNAM_CENTRE = [16.0, 106.0];
  var VIETNAM_ZOOM = 5;
  var UNIT_STYLE = { weight: 1, color: "#3d5a73", fillColor: "#a9c9a4", fillOpacity: 0.35 };
  var MARKER_STYLE = { radius: 8, weight: 2, color: "#ffffff", fillColor: "#c8102e", fillOpacity: 0.95 };

  var lang = document.body.getAttribute("data-lang") || "vi";
  var networkError = document.body.getAttribute("data-network-error") || "";

  function byId(id) {
    return document.getElementById(id);
  }

  function parseData(el, name) {
    try {
      return JSON.parse(el.getAttribute(name) || "{}");
    } catch (e) {
      return {};
    }
  }

  /** `text` with {name} replaced from `values`. */
  function fill(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (m, k) {
      return values[k] === undefined ? m : String(values[k]);
    });
  }

  /** dd/mm/yyyy HH:MM in Vietnam's time. */
  function localTime(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: ZONE, day: "2-digit", month: "2-digit", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(d).forEach(function (p) { parts[p.type] = p.value; });
    return parts.day + "/" + parts.month + "/" + parts.year + " " + parts.hour + ":" + parts.minute;
  }

  function formatNumber(n) {
    return Number(n).toLocaleString(lang === "en" ? "en-GB" : "vi-VN");
  }

  /** POSTs JSON; resolves to {status, body} (body null when not JSON), rejects when offline. */
  function postJson(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { status: res.status, body: body };
      });
    });
  }

  function showError(form, field, text) {
    var slot = form.querySelector('[data-error-for="' + field + '"]');
    if (!slot) slot = document.querySelector('[data-error-for="' + field + '"]');
    if (!slot) return null;
    slot.textContent = text;
    slot.hidden = false;
    return slot;
  }

  function clearErrors(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-error-for]"), function (el) {
      el.hidden = true;
      el.textContent = "";
    });
  }

  // ---- Maps ----

  function baseMap(el) {
    var map = L.map(el, { zoomSnap: 0.25, scrollWheelZoom: false });
    var tiles = el.getAttribute("data-tile-url");
    if (tiles) {
      L.tileLayer(tiles, { attribution: el.getAttribute("data-tile-attribution") || "", maxZoom: 19 }).addTo(map);
    }
    map.setView(VIETNAM_CENTRE, VIETNAM_ZOOM);
    var ready = fetch(el.getAttribute("data-geojson"), { credentials: "same-origin" })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (geo) {
        if (!geo || !geo.features || !geo.features.length) return null;
        var layer = L.geoJSON(geo, { style: UNIT_STYLE, interactive: false }).addTo(map);
        map.fitBounds(layer.getBounds(), { animate: false });
        return layer;
      })
      .catch(function () { return null; });
    return { map: map, ready: ready };
  }

  /** The published reports' map: one marker per list item with a place. */
  function reportsMap(el) {
    var m = baseMap(el);
    var points = [];
    Array.prototype.forEach.call(document.querySelectorAll("#report-list [data-lat]"), function (li) {
      var lat = parseFloat(li.getAttribute("data-lat"));
      var lon = parseFloat(li.getAttribute("data-lon"));
      if (!isFinite(lat) || !isFinite(lon)) return;
      var title = li.querySelector(".p-card-title");
      var marker = L.circleMarker([lat, lon], MARKER_STYLE).addTo(m.map);
      marker.bindPopup(
        (li.querySelector(".p-number") || {}).textContent + " · " + (title ? title.textContent : "")
      );
      points.push([lat, lon]);
    });
    el.setAttribute("data-markers", String(points.length));
    m.ready.then(function () {
      if (points.length) m.map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 13, animate: false });
    });
  }

  // ---- The report form ----

  function initReportForm(form) {
    var texts = parseData(form, "data-texts");
    var attributes = parseData(form, "data-attributes");
    var steps = form.querySelectorAll("[data-step]");
    var dots = form.querySelectorAll("[data-step-dot]");
    var back = byId("step-back");
    var next = byId("step-next");
    var send = byId("send-report");
    var current = 1;
    var point = null;
    var photos = [];
    var picker = null;

    function stepOf(el) {
      var s = el && el.closest("[data-step]");
      return s ? Number(s.getAttribute("data-step")) : current;
    }

    function show(n, quiet) {
      current = n;
      Array.prototype.forEach.call(steps, function (s) {
        s.hidden = Number(s.getAttribute("data-step")) !== n;
      });
      Array.prototype.forEach.call(dots, function (d) {
        var k = Number(d.getAttribute("data-step-dot"));
        if (k === n) d.setAttribute("aria-current", "step"); else d.removeAttribute("aria-current");
        d.classList.toggle("done", k < n);
      });
      back.hidden = n === 1;
      next.hidden = n === steps.length;
      send.hidden = n !== steps.length;
      if (n === 3) initPicker();
      var legend = form.querySelector('[data-step="' + n + '"] legend');
      if (legend && !quiet) legend.scrollIntoView({ block: "start" });
    }

    // Category fields, drawn when a category is chosen.
    function drawAttributes() {
      var box = byId("attributes");
      box.textContent = "";
      (attributes[byId("category").value] || []).forEach(function (a) {
        var id = "attr-" + a.code;
        var label = document.createElement("label");
        label.setAttribute("for", id);
        label.textContent = a.label + " ";
        if (a.required) {
          var req = document.createElement("span");
          req.className = "p-req";
          req.textContent = texts.required_mark;
          label.appendChild(req);
        }
        var input;
        if (a.values && a.values.length) {
          input = document.createElement("select");
          var empty = document.createElement("option");
          empty.value = "";
          empty.textContent = "—";
          input.appendChild(empty);
          a.values.forEach(function (v) {
            var o = document.createElement("option");
            o.value = v[0];
            o.textContent = v[1];
            input.appendChild(o);
          });
        } else {
          input = document.createElement("input");
          input.type = "text";
          if (a.datatype === "number") input.inputMode = "decimal";
        }
        input.id = id;
        input.setAttribute("data-attribute", a.code);
        if (a.required) input.required = true;
        var error = document.createElement("p");
        error.className = "p-error";
        error.setAttribute("data-error-for", "attributes." + a.code);
        error.setAttribute("role", "alert");
        error.hidden = true;
        box.appendChild(label);
        box.appendChild(input);
        box.appendChild(error);
      });
    }
    byId("category").addEventListener("change", drawAttributes);

    // Photos: checked and previewed here, uploaded when the report is sent.
    function drawPhotos() {
      var list = byId("photo-previews");
      list.textContent = "";
      photos.forEach(function (p, i) {
        var li = document.createElement("li");
        var img = document.createElement("img");
        img.src = p.preview;
        img.alt = texts.photo_alt;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "p-btn";
        remove.textContent = texts.photo_remove;
        remove.addEventListener("click", function () {
          photos.splice(i, 1);
          drawPhotos();
        });
        li.appendChild(img);
        li.appendChild(remove);
        list.appendChild(li);
      });
    }
    byId("photos").addEventListener("change", function (e) {
      clearErrors(form);
      Array.prototype.forEach.call(e.target.files || [], function (file) {
        if (photos.length >= MAX_PHOTOS) return;
        if (PHOTO_TYPES.indexOf(file.type) < 0) return showError(form, "media", texts.photo_type);
        if (file.size > MAX_PHOTO_BYTES) return showError(form, "media", texts.photo_too_large);
        var entry = { file: file, preview: "" };
        photos.push(entry);
        // A data: URL: the page's content security policy allows those, not blob: ones.
        var reader = new FileReader();
        reader.onload = function () {
          entry.preview = String(reader.result);
          drawPhotos();
        };
        reader.readAsDataURL(file);
      });
      e.target.value = "";
    });

    // Place: the device's position, a tap on the map, or a commune and an address.
    var marker = null;
    function setPoint(lat, lon) {
      point = { lat: lat, lon: lon };
      byId("picked").hidden = false;
      byId("picked-coords").textContent = lat.toFixed(5) + ", " + lon.toFixed(5);
      if (picker) {
        if (marker) marker.setLatLng([lat, lon]);
        else marker = L.circleMarker([lat, lon], MARKER_STYLE).addTo(picker.map);
        picker.map.setView([lat, lon], Math.max(picker.map.getZoom(), 14));
      }
    }
    function initPicker() {
      var el = byId("pick-map");
      if (picker || !el || typeof L === "undefined") return;
      picker = baseMap(el);
      picker.map.on("click", function (e) { setPoint(e.latlng.lat, e.latlng.lng); });
      if (point) setPoint(point.lat, point.lon);
    }
    byId("clear-point").addEventListener("click", function () {
      point = null;
      byId("picked").hidden = true;
      if (marker) { marker.remove(); marker = null; }
    });
    byId("use-location").addEventListener("click", function () {
      var status = byId("location-status");
      if (!navigator.geolocation) { status.textContent = texts.location_unsupported; return; }
      status.textContent = texts.locating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        status.textContent = texts.location_found;
        setPoint(pos.coords.latitude, pos.coords.longitude);
      }, function () {
        status.textContent = texts.location_failed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });

    function contact() {
      var c = {
        name: byId("contact-name").value.trim(),
        phone: byId("contact-phone").value.trim(),
        email: byId("contact-email").value.trim()
      };
      return c.name || c.phone || c.email ? c : null;
    }

    /** The first problem of step `n` the reporter can fix here, shown; false when none. */
    function invalid(n) {
      clearErrors(form);
      if (n === 1) {
        if (!byId("category").value) return showError(form, "category", texts.need_category);
        var missing = Array.prototype.filter.call(form.querySelectorAll("[data-attribute]"), function (el) {
          return el.required && !el.value.trim();
        })[0];
        if (missing) return showError(form, "attributes." + missing.getAttribute("data-attribute"), texts.need_note);
        if (!byId("description").value.trim()) return showError(form, "description", texts.need_description);
      }
      if (n === 3 && !point && !byId("unit-code").value && !byId("address").value.trim()) {
        return showError(form, "location", texts.need_place);
      }
      if (n === 4 && contact() && !byId("consent").checked) {
        return showError(form, "consent", texts.need_consent);
      }
      return false;
    }

    // A refusal goes away once the reporter changes something on its step.
    function clearStep(e) {
      // The photo picker shows its own refusals as it checks the files.
      var s = e.target.id !== "photos" && e.target.closest && e.target.closest("[data-step]");
      if (s) clearErrors(s);
    }
    form.addEventListener("change", clearStep);
    form.addEventListener("input", clearStep);

    next.addEventListener("click", function () {
      var problem = invalid(current);
      if (problem) { problem.scrollIntoView({ block: "center" }); return; }
      show(current + 1);
    });
    back.addEventListener("click", function () {
      clearErrors(form);
      show(current - 1);
    });

    /** The API's refusal shown next to the field it names, on that field's step. */
    function showProblem(body) {
      var field = (body && body.field) || "form";
      var text = (body && body.detail) || networkError;
      if (field === "media_urls" || field === "media_ids") field = "media";
      var slot = showError(form, field, text);
      if (!slot && field.indexOf("attributes.") === 0) slot = showError(form, "attributes", text);
      if (!slot) slot = showError(form, "form", text);
      if (slot) {
        show(stepOf(slot));
        slot.scrollIntoView({ block: "center" });
      }
    }

    /** Uploads the photos in turn; resolves to their ids, or null when one was refused. */
    function upload(status) {
      var ids = [];
      var chain = Promise.resolve(true);
      photos.forEach(function (p) {
        chain = chain.then(function (go) {
          if (!go) return false;
          status.textContent = texts.uploading;
          return fetch(MEDIA_URL, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": p.file.type, "Accept": "application/json" },
            body: p.file
          }).then(function (res) {
            return res.json().catch(function () { return null; }).then(function (body) {
              if (res.status === 201 && body && body.id) { ids.push(body.id); return true; }
              // Not there yet on this server: the report goes without its photos.
              if (res.status === 404 || res.status === 405) {
                showError(form, "media", texts.photo_skipped);
                photos.length = 0;
                return "skip";
              }
              showProblem({ field: "media", detail: (body && body.detail) || networkError });
              return false;
            });
          });
        }).then(function (r) { return r === "skip" ? false : r; });
      });
      return chain.then(function (ok) { return ok || !photos.length ? ids : null; });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      for (var n = 1; n <= steps.length; n++) {
        var problem = invalid(n);
        if (problem) { show(n); problem.scrollIntoView({ block: "center" }); return; }
      }
      send.disabled = true;
      var label = send.textContent;
      send.textContent = texts.sending;
      upload(send).then(function (ids) {
        if (ids === null) return null;
        var attrs = {};
        Array.prototype.forEach.call(form.querySelectorAll("[data-attribute]"), function (el) {
          if (el.value.trim()) attrs[el.getAttribute("data-attribute")] = el.value.trim();
        });
        var c = contact();
        var payload = {
          category: byId("category").value,
          description: byId("description").value.trim(),
          address: byId("address").value.trim() || null,
          unit_code: byId("unit-code").value || null,
          urgency: byId("urgency-urgent").checked ? "urgent" : "ordinary",
          "public": byId("public").checked,
          attributes: attrs
        };
        if (point) { payload.lon = point.lon; payload.lat = point.lat; }
        if (c) { payload.contact = c; payload.consent = byId("consent-text").textContent.trim(); }
        if (ids.length) payload.media_ids = ids;
        return postJson(REPORTS_URL, payload).then(function (res) {
          if (res.status === 201 && res.body && res.body.tracking_code) {
            form.hidden = true;
            byId("tracking-code").textContent = res.body.tracking_code;
            byId("receipt-time").textContent = localTime(res.body.received_at);
            var receipt = byId("receipt");
            receipt.hidden = false;
            receipt.focus();
            receipt.scrollIntoView({ block: "start" });
            return;
          }
          showProblem(res.body);
        });
      }).catch(function () {
        showProblem({ field: "form", detail: networkError });
      }).then(function () {
        send.disabled = false;
        send.textContent = label;
      });
    });

    byId("copy-code").addEventListener("click", function () {
      var code = byId("tracking-code").textContent;
      var done = function () { byId("copy-status").textContent = texts.copied; };
      var failed = function () { byId("copy-status").textContent = texts.copy_failed; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(code).then(done, failed);
      } else {
        failed();
      }
    });

    show(1, true);
  }

  // ---- Following a report ----

  /** XXXX-XXXX-XXXX-XXXX from what was typed (any case, spaces, dashes); null when not 16. */
  function normalizeCode(typed) {
    var letters = String(typed).replace(/[\s-]/g, "").toUpperCase();
    if (!/^[A-Z0-9]{16}$/.test(letters)) return null;
    return letters.match(/.{4}/g).join("-");
  }

  function initTrack(form) {
    var texts = parseData(form, "data-texts");
    var categories = parseData(form, "data-categories");
    var result = byId("track-result");
    var code = null;

    function setText(id, text) {
      byId(id).textContent = text || "";
    }

    function render(v) {
      result.hidden = false;
      setText("view-category", formatNumberLabel(v) + (categories[v.category] || v.category));
      var state = byId("view-state");
      state.textContent = texts["state_" + v.state] || v.state;
      state.className = "p-state p-state-" + v.state;
      setText("view-description", v.description);
      setText("view-address", v.address);
      setText("view-received", localTime(v.received_at));
      setText("view-deadline", v.deadline_at ? localTime(v.deadline_at) : texts.no_deadline);
      byId("view-merged").hidden = !v.merged_into;
      if (v.merged_into) setText("view-merged", fill(texts.merged_into, { number: formatNumber(v.merged_into) }));
      byId("view-answer-box").hidden = !v.answer;
      setText("view-answer", v.answer);
      setText("view-answered", v.answered_at ? texts.answered_at + " " + localTime(v.answered_at) : "");
      var media = v.media || [];
      drawMedia("view-photos", media.filter(function (m) { return m.stage !== "answer"; }), texts.photo_alt);
      drawMedia("view-answer-photos", media.filter(function (m) { return m.stage === "answer"; }), texts.answer_photo_alt);
      byId("view-rating").hidden = !v.rating;
      if (v.rating) setText("view-rating", fill(texts.rated, { rating: v.rating }));
      var list = byId("view-history");
      list.textContent = "";
      (v.history || []).slice().reverse().forEach(function (s) {
        var li = document.createElement("li");
        var time = document.createElement("time");
        time.textContent = localTime(s.at);
        var what = document.createElement("strong");
        what.textContent = texts["action_" + s.action] || texts["state_" + s.state] || s.action;
        li.appendChild(time);
        li.appendChild(what);
        if (s.note) {
          var note = document.createElement("p");
          note.className = "p-note";
          note.textContent = s.note;
          li.appendChild(note);
        }
        list.appendChild(li);
      });
      byId("rate-form").hidden = !v.can_rate;
      byId("info-form").hidden = !v.can_provide_info;
      byId("reopen-form").hidden = !v.can_reopen;
    }

    /** The report's photos (public copies, without position) and videos, each opening full size. */
    function drawMedia(id, list, alt) {
      var box = byId(id);
      box.textContent = "";
      box.hidden = !list.length;
      list.forEach(function (m) {
        var li = document.createElement("li");
        if (String(m.content_type).indexOf("video/") === 0) {
          var video = document.createElement("video");
          video.src = m.url;
          video.controls = true;
          video.preload = "metadata";
          li.appendChild(video);
        } else {
          var link = document.createElement("a");
          link.href = m.url;
          link.target = "_blank";
          link.rel = "noopener";
          var img = document.createElement("img");
          img.src = m.url;
          img.alt = alt;
          link.appendChild(img);
          li.appendChild(link);
        }
        box.appendChild(li);
      });
    }

    function formatNumberLabel(v) {
      return v.number ? texts.number_prefix + formatNumber(v.number) + " · " : "";
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      clearErrors(document);
      var typed = normalizeCode(byId("track-code").value);
      if (!typed) { showError(form, "code", texts.code_invalid); return; }
      var button = byId("track-submit");
      button.disabled = true;
      postJson(TRACK_URL, { code: typed }).then(function (res) {
        if (res.status === 200 && res.body) {
          code = typed;
          byId("action-status").hidden = true;
          render(res.body);
          result.focus();
          return;
        }
        result.hidden = true;
        code = null;
        showError(form, "code", res.status === 404 ? texts.not_found : (res.body && res.body.detail) || networkError);
      }).catch(function () {
        showError(form, "code", networkError);
      }).then(function () { button.disabled = false; });
    });

    /** One of the reporter's steps; the answer is the report as it now stands. */
    function step(actionForm, field, payload, doneText) {
      actionForm.addEventListener("submit", function (e) {
        e.preventDefault();
        clearErrors(result);
        if (!code) return;
        var body = payload();
        if (!body) return;
        var confirmText = actionForm.querySelector("[data-confirm]");
        if (confirmText && !window.confirm(confirmText.getAttribute("data-confirm"))) return;
        body.code = code;
        var button = actionForm.querySelector("button[type=submit]");
        button.disabled = true;
        postJson(STEPS_URL, body).then(function (res) {
          if (res.status === 200 && res.body) {
            render(res.body);
            var status = byId("action-status");
            status.textContent = doneText;
            status.hidden = false;
            status.scrollIntoView({ block: "center" });
            actionForm.reset && actionForm.reset();
            lightStars(0);
            return;
          }
          showError(result, field, (res.body && res.body.detail) || networkError);
        }).catch(function () {
          showError(result, field, networkError);
        }).then(function () { button.disabled = false; });
      });
    }

    function lightStars(n) {
      Array.prototype.forEach.call(document.querySelectorAll(".p-stars label"), function (l, i) {
        l.classList.toggle("lit", i < n);
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll(".p-stars input"), function (input) {
      input.addEventListener("change", function () { lightStars(Number(input.value)); });
    });

    function noted(id, field) {
      return function () {
        var note = byId(id).value.trim();
        if (!note) { showError(result, field, texts.need_note); return null; }
        return { step: field === "info" ? "provide_info" : "reopen", note: note };
      };
    }

    step(byId("rate-form"), "rating", function () {
      var chosen = document.querySelector(".p-stars input:checked");
      if (!chosen) { showError(result, "rating", texts.need_rating); return null; }
      return { step: "rate", rating: Number(chosen.value), note: byId("rate-note").value.trim() };
    }, texts.step_done);
    step(byId("info-form"), "info", noted("info-note", "info"), texts.step_done);
    step(byId("reopen-form"), "reopen", noted("reopen-note", "reopen"), texts.step_done);
    step(byId("erase-form"), "erase", function () { return { step: "erase_identity" }; }, texts.erased);
  }

  function init() {
    var map = byId("portal-map");
    if (map && typeof L !== "undefined") reportsMap(map);
    var form = byId("report-form");
    if (form) initReportForm(form);
    var track = byId("track-form");
    if (track) initTrack(track);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
