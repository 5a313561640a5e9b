/*
 * Hải Đăng console — page behaviour shared by every screen.
 *
 * Plain ES2019, no modules, no build step. This file never contains
 * user-facing text: messages come from the server (RFC 9457 problem
 * details, already localised) or from data- attributes in the templates.
 */
(function () {
  "use strict";

  var JSON_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json"
  };

  // Vietnam has no DST, so a fixed offset is exact for Asia/Ho_Chi_Minh.
  var VN_OFFSET = "+07:00";

  /* ---------- Navigation after sign-in steps ---------- */

  // A `?next=` target is only honoured when it is a same-origin path:
  // "//host" and "/\host" are protocol-relative URLs in browsers.
  function safeNextParam() {
    if (!document.getElementById("login-form")) return null;
    var next = new URLSearchParams(window.location.search).get("next");
    // Only printable ASCII without backslashes: browsers drop tabs and newlines, so "/\t/host"
    // would become "//host".
    if (!next || next.charAt(0) !== "/" || !/^\/(?!\/)[\x21-\x5b\x5d-\x7e]*$/.test(next)) return null;
    return next;
  }

  /** Goes to the page for a server `next` step ("home", "change_password", "enrol_totp"). */
  function followNext(next) {
    var dest;
    if (next === "change_password") {
      dest = "/account/password";
    } else if (next === "enrol_totp") {
      dest = "/account/totp";
    } else {
      dest = (next === "home" && safeNextParam()) || "/";
    }
    window.location.assign(dest);
  }

  /* ---------- HTTP helpers ---------- */

  // The API follows Accept-Language, the pages follow the VI/EN switch (Vietnamese by default):
  // ask for the page's language so messages match the screen whatever the browser's locale.
  function requestHeaders() {
    var headers = {};
    for (var k in JSON_HEADERS) headers[k] = JSON_HEADERS[k];
    var lang = document.documentElement.lang;
    if (lang) headers["Accept-Language"] = lang;
    return headers;
  }

  function postJson(url, method, body) {
    return fetch(url, {
      method: method || "POST",
      headers: requestHeaders(),
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    });
  }

  // Resolves to the parsed JSON body, or null when the body is empty or not JSON
  // (e.g. 204 No Content from logout and revoke).
  function readJson(res) {
    return res.text().then(function (text) {
      if (!text) return null;
      try {
        return JSON.parse(text);
      } catch (e) {
        return null;
      }
    });
  }

  // Message for a failed response: problem detail, then title, then the HTTP status.
  function problemMessage(problem, res) {
    if (problem && typeof problem === "object") {
      if (problem.detail) return String(problem.detail);
      if (problem.title) return String(problem.title);
    }
    return res.statusText || String(res.status);
  }

  function showError(box, message) {
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  }

  function hideError(box) {
    if (!box) return;
    box.hidden = true;
    box.textContent = "";
  }

  // Localised text for a failed fetch (server unreachable): the form's own, else the page's.
  function networkError(form, err) {
    return form.getAttribute("data-network-error") ||
      document.body.getAttribute("data-network-error") || err.message;
  }

  // Marks the input the server named in a problem's `field` member, and focuses it.
  function markInvalidField(form, problem) {
    if (!problem || typeof problem.field !== "string" || !problem.field) return;
    var el = form.elements.namedItem(problem.field);
    if (!el || typeof el.setAttribute !== "function") return;
    el.setAttribute("aria-invalid", "true");
    if (typeof el.focus === "function") el.focus();
  }

  function clearInvalidFields(form) {
    var marked = form.querySelectorAll('[aria-invalid="true"]');
    for (var i = 0; i < marked.length; i++) marked[i].removeAttribute("aria-invalid");
  }

  function submitButtons(form) {
    return form.querySelectorAll('button[type="submit"], button:not([type]), input[type="submit"]');
  }

  function setBusy(form, busy) {
    form.dataset.busy = busy ? "true" : "";
    if (busy) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
    var buttons = submitButtons(form);
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = busy;
  }

  /* ---------- Sign-in form ---------- */

  function handleLogin(form) {
    var errorBox = document.getElementById("login-error");
    var totpField = document.getElementById("totp-field");
    var totpInput = document.getElementById("totp");
    var body = {
      username: form.elements.username ? form.elements.username.value : "",
      password: form.elements.password ? form.elements.password.value : ""
    };
    var code = totpInput ? totpInput.value.trim() : "";
    if (code) body.totp_code = code;

    hideError(errorBox);
    setBusy(form, true);
    postJson("/api/v1/auth/login", "POST", body)
      .then(function (res) {
        return readJson(res).then(function (data) {
          if (res.ok) {
            followNext(data && data.next);
            return; // stay busy while the browser navigates
          }
          setBusy(form, false);
          if (data && data.code === "totp_required" && totpField) {
            totpField.hidden = false;
            if (totpInput) totpInput.focus();
          }
          showError(errorBox, problemMessage(data, res));
        });
      })
      .catch(function (err) {
        setBusy(form, false);
        showError(errorBox, networkError(form, err));
      });
  }

  /* ---------- Generic JSON forms (form[data-json-action]) ---------- */

  // "YYYY-MM-DDTHH:MM[:SS]" from <input type=datetime-local> → RFC 3339 in Vietnam time.
  function localTimeToRfc3339(value) {
    if (/T\d{2}:\d{2}$/.test(value)) value += ":00";
    return value + VN_OFFSET;
  }

  function formToJson(form) {
    var out = {};
    var els = form.elements;
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var tag = el.tagName;
      if (!el.name || el.disabled) continue;
      if (tag !== "INPUT" && tag !== "SELECT" && tag !== "TEXTAREA") continue;
      var type = (el.type || "").toLowerCase();
      if (type === "submit" || type === "button" || type === "reset" || type === "image" || type === "file") continue;

      if (type === "checkbox" && el.hasAttribute("data-list-item")) {
        if (!Array.isArray(out[el.name])) out[el.name] = [];
        if (el.checked) out[el.name].push(el.value);
        continue;
      }
      if (type === "checkbox") {
        out[el.name] = el.checked;
        continue;
      }
      if (type === "radio") {
        if (el.checked) out[el.name] = el.value;
        continue;
      }
      if (tag === "SELECT" && el.multiple) {
        out[el.name] = Array.prototype.filter
          .call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        continue;
      }

      var value = el.value;
      if (el.hasAttribute("data-list")) {
        out[el.name] = value.split(",")
          .map(function (s) { return s.trim(); })
          .filter(function (s) { return s !== ""; });
        continue;
      }
      if (value === "") continue; // empty fields are left for server defaults
      if (el.hasAttribute("data-local-time")) {
        out[el.name] = localTimeToRfc3339(value);
      } else if (type === "number") {
        var n = Number(value);
        if (!isNaN(n)) out[el.name] = n;
      } else {
        out[el.name] = value;
      }
    }
    return out;
  }

  // The form's own error box: first descendant, else the nearest following
  // sibling, else one created at the end of the form.
  function errorBoxFor(form) {
    var box = form.querySelector(".error-box");
    if (box) return box;
    for (var sib = form.nextElementSibling; sib; sib = sib.nextElementSibling) {
      if (sib.classList.contains("error-box")) return sib;
    }
    box = document.createElement("div");
    box.className = "error-box";
    box.setAttribute("role", "alert");
    box.hidden = true;
    form.appendChild(box);
    return box;
  }

  // Shows a one-time secret (API token, TOTP seed) in the data-json-show target.
  function showSecret(selector, data) {
    var target = document.querySelector(selector);
    if (!target) return;
    var secret = typeof data.secret === "string" ? data.secret
      : typeof data.token === "string" ? data.token : "";
    target.textContent = secret;
    if (target.id) {
      var box = document.getElementById(target.id + "-box");
      if (box) box.hidden = false;
      var uri = data.otpauth_url || data.uri;
      var uriEl = document.getElementById(target.id + "-uri");
      if (uri && uriEl) {
        uriEl.textContent = uri;
        uriEl.hidden = false;
      }
    }
    target.hidden = false;
  }

  function handleJsonForm(form) {
    if (form.dataset.busy === "true") return; // ignore double submits
    // Irreversible actions (revoking) ask first; the question comes from the template.
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    var errorBox = errorBoxFor(form);
    var method = (form.getAttribute("data-json-method") || "POST").toUpperCase();
    var body = formToJson(form);

    hideError(errorBox);
    clearInvalidFields(form);
    setBusy(form, true);
    postJson(form.getAttribute("data-json-action"), method, method === "GET" ? undefined : body)
      .then(function (res) {
        return readJson(res).then(function (data) {
          if (!res.ok) {
            setBusy(form, false);
            showError(errorBox, problemMessage(data, res));
            markInvalidField(form, data);
            return;
          }
          var show = form.getAttribute("data-json-show");
          if (show) {
            setBusy(form, false);
            showSecret(show, data || {});
          } else if (form.hasAttribute("data-json-next")) {
            followNext(data && data.next);
          } else if (form.getAttribute("data-json-redirect")) {
            window.location.assign(form.getAttribute("data-json-redirect"));
          } else {
            window.location.reload();
          }
        });
      })
      .catch(function (err) {
        setBusy(form, false);
        showError(errorBox, networkError(form, err));
      });
  }

  /* ---------- Form uploads (form[data-upload-action]) ---------- */

  // A data form ("biểu mẫu") goes up as the file itself; a refusal comes back as a problem whose
  // `errors` list every row and column, shown in the table #upload-errors.
  function handleUpload(form) {
    if (form.dataset.busy === "true") return;
    var input = form.querySelector('input[type="file"]');
    var file = input && input.files && input.files[0];
    var ok = document.getElementById("upload-ok");
    var problem = document.getElementById("upload-problem");
    var table = document.getElementById("upload-errors");
    var body = table ? table.querySelector("tbody") : null;
    if (ok) ok.hidden = true;
    hideError(problem);
    if (table) table.hidden = true;
    if (body) body.textContent = "";
    if (!file) return;
    var headers = {
      "Content-Type": "application/octet-stream",
      "Accept": "application/json",
      // Proves the request comes from the console's own page (the CSRF check).
      "HX-Request": "true"
    };
    var lang = document.documentElement.lang;
    if (lang) headers["Accept-Language"] = lang;
    setBusy(form, true);
    var url = form.getAttribute("data-upload-action") + "?file_name=" + encodeURIComponent(file.name);
    fetch(url, { method: "POST", headers: headers, credentials: "same-origin", body: file })
      .then(function (res) {
        return readJson(res).then(function (data) {
          setBusy(form, false);
          if (res.ok) {
            if (ok) {
              ok.textContent = (form.getAttribute("data-upload-ok") || "")
                .replace("{rows}", String(data && data.rows))
                .replace("{period}", String(data && data.period));
              ok.hidden = false;
            }
            form.reset();
            // The scores on the page count the new rows: show them.
            window.setTimeout(function () { window.location.reload(); }, 1500);
            return;
          }
          showError(problem, problemMessage(data, res));
          var errors = data && Array.isArray(data.errors) ? data.errors : [];
          // A data form names the column (`column`), the indicators' form the figure's field
          // (`field`): both go in the column cell.
          if (body && errors.length) {
            errors.forEach(function (e) {
              var tr = document.createElement("tr");
              [e.row === null || e.row === undefined ? "" : String(e.row), e.column || e.field || "", e.message || e.code]
                .forEach(function (text, i) {
                  var td = document.createElement("td");
                  if (i === 0) td.className = "num";
                  td.textContent = text;
                  tr.appendChild(td);
                });
              body.appendChild(tr);
            });
            table.hidden = false;
          }
        });
      })
      .catch(function (err) {
        setBusy(form, false);
        showError(problem, networkError(form, err));
      });
  }

  /* ---------- Wiring ---------- */

  // One delegated listener, so forms added later (e.g. by htmx) work too.
  function onSubmit(event) {
    var form = event.target;
    if (!form || form.tagName !== "FORM") return;
    if (form.id === "login-form") {
      event.preventDefault();
      handleLogin(form);
    } else if (form.hasAttribute("data-json-action")) {
      event.preventDefault();
      handleJsonForm(form);
    } else if (form.hasAttribute("data-upload-action")) {
      event.preventDefault();
      handleUpload(form);
    }
  }

  /* ---------- Expandable table rows (button[data-toggle-row]) ---------- */

  // The button names the hidden <tr> holding a row's forms (users' lifecycle actions).
  function onClick(event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-toggle-row]") : null;
    if (!button) return;
    var row = document.querySelector(button.getAttribute("data-toggle-row"));
    if (!row) return;
    var open = row.hidden;
    row.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    var owner = button.closest("tr");
    if (owner) owner.classList.toggle("is-expanded", open);
    if (open) {
      var first = row.querySelector("input, select, textarea");
      // preventScroll: on a phone the table scrolls sideways and must stay where it is.
      if (first) first.focus({ preventScroll: true });
    }
  }

  /* ---------- Quick filter above a table (input[data-filter-table]) ---------- */

  function normalise(text) {
    // Case- and diacritic-insensitive, so "muong te" finds "Mường Tè"; đ has no decomposition.
    return text.toLocaleLowerCase("vi").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/\u0111/g, "d");
  }

  function applyFilter(input) {
    var table = document.querySelector(input.getAttribute("data-filter-table"));
    if (!table || !table.tBodies[0]) return;
    var body = table.tBodies[0];
    var needle = normalise(input.value.trim());
    var rows = body.rows;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (row.hasAttribute("data-filter-empty-row") || row.querySelector("td.empty")) continue;
      if (row.dataset.filterText === undefined) row.dataset.filterText = normalise(row.textContent);
      var match = !needle || row.dataset.filterText.indexOf(needle) !== -1;
      row.hidden = !match;
      if (match) shown++;
    }
    var emptyRow = body.querySelector("tr[data-filter-empty-row]");
    if (!emptyRow) {
      emptyRow = document.createElement("tr");
      emptyRow.setAttribute("data-filter-empty-row", "");
      var cell = document.createElement("td");
      cell.className = "empty";
      cell.colSpan = table.tHead && table.tHead.rows[0] ? table.tHead.rows[0].cells.length : 1;
      cell.textContent = input.getAttribute("data-filter-empty") || "";
      emptyRow.appendChild(cell);
      body.appendChild(emptyRow);
    }
    emptyRow.hidden = shown > 0 || !needle;
  }

  function onInput(event) {
    var input = event.target;
    if (input && input.hasAttribute && input.hasAttribute("data-filter-table")) applyFilter(input);
  }

  function setup() {
    document.addEventListener("submit", onSubmit);
    document.addEventListener("click", onClick);
    document.addEventListener("input", onInput);
    document.documentElement.dataset.js = "ready";
  }

  // Exposed for map.js and future scripts; not a module system, just a namespace.
  window.Haidang = { followNext: followNext };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
