/*
 * Hải Đăng console — pixelating areas of a report's photo before it is published
 * (template: reports_redact.html). The operator drags rectangles over the photo, or types one
 * in the photo's own pixels; the areas are sent in the photo's pixels, and the server pixelates
 * its public copy (the original stays for the roles allowed to see it).
 */
(function () {
  "use strict";

  var H = window.HaidangReports;
  var panel = document.getElementById("redact-panel");
  if (!H || !panel) return;
  var img = document.getElementById("redact-img");
  var stage = document.getElementById("redact-stage");
  var boxes = document.getElementById("redact-boxes");
  var saveBtn = document.getElementById("redact-save");
  var rects = [], target = null, start = null, sketch = null;

  /** Photo pixels per screen pixel. */
  function scale() { return img.naturalWidth / (img.clientWidth || 1); }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function status(text) { document.getElementById("redact-status").textContent = text || ""; }

  function place(div, r) {
    var s = scale();
    div.style.left = (r.x / s) + "px";
    div.style.top = (r.y / s) + "px";
    div.style.width = (r.w / s) + "px";
    div.style.height = (r.h / s) + "px";
  }
  function draw() {
    boxes.textContent = "";
    rects.forEach(function (r) {
      var div = document.createElement("div");
      div.className = "redact-box";
      place(div, r);
      boxes.appendChild(div);
    });
    // The count while marking; a message already there (saved) stays once nothing is marked.
    if (rects.length) status(panel.dataset.count.replace("{n}", H.num(rects.length)));
    saveBtn.disabled = rects.length === 0;
  }
  function point(e) {
    var b = img.getBoundingClientRect();
    return { x: clamp(e.clientX - b.left, 0, b.width), y: clamp(e.clientY - b.top, 0, b.height) };
  }
  /** The rectangle between two screen points, in the photo's pixels. */
  function between(a, b) {
    var s = scale();
    return {
      x: Math.round(Math.min(a.x, b.x) * s), y: Math.round(Math.min(a.y, b.y) * s),
      w: Math.round(Math.abs(b.x - a.x) * s), h: Math.round(Math.abs(b.y - a.y) * s)
    };
  }

  stage.addEventListener("pointerdown", function (e) {
    if (e.button !== 0 || !target) return;
    e.preventDefault();
    start = point(e);
    sketch = document.createElement("div");
    sketch.className = "redact-box redact-sketch";
    boxes.appendChild(sketch);
    if (stage.setPointerCapture) stage.setPointerCapture(e.pointerId);
  });
  stage.addEventListener("pointermove", function (e) {
    if (!start) return;
    place(sketch, between(start, point(e)));
  });
  stage.addEventListener("pointerup", function (e) {
    if (!start) return;
    var r = between(start, point(e));
    start = null;
    // A click, not a drag: nothing to pixelate.
    if (r.w >= 4 && r.h >= 4) rects.push(r);
    draw();
  });

  document.getElementById("redact-add").addEventListener("click", function () {
    var v = function (id) { return parseInt(document.getElementById(id).value, 10); };
    var r = { x: v("redact-x"), y: v("redact-y"), w: v("redact-w"), h: v("redact-h") };
    var fits = [r.x, r.y, r.w, r.h].every(function (n) { return isFinite(n) && n >= 0; }) && r.w > 0 && r.h > 0 &&
      r.x + r.w <= img.naturalWidth && r.y + r.h <= img.naturalHeight;
    H.show("redact-error", fits ? "" : document.getElementById("redact-size").textContent);
    if (!fits) return;
    rects.push(r);
    draw();
  });
  document.getElementById("redact-clear").addEventListener("click", function () { rects = []; status(""); draw(); });
  document.getElementById("redact-close").addEventListener("click", function () { panel.hidden = true; target = null; });
  window.addEventListener("resize", draw);

  saveBtn.addEventListener("click", function () {
    if (!target || !rects.length) return;
    saveBtn.disabled = true;
    var t = target;
    H.api("POST", "/api/v1/reports/" + encodeURIComponent(t.reportId) + "/media/" + encodeURIComponent(t.mediaId) +
      "/redact", { rects: rects }).then(function (r) {
      if (!r.ok) { saveBtn.disabled = false; H.show("redact-error", H.problem(r)); return; }
      H.show("redact-error", "");
      rects = [];
      // The new public copy, not the browser's cached one.
      img.src = t.url + "?v=" + Date.now();
      status(panel.dataset.saved);
      if (t.onSaved) t.onSaved();
    });
  });

  img.addEventListener("load", function () {
    var size = H.num(img.naturalWidth) + " × " + H.num(img.naturalHeight) + " px";
    document.getElementById("redact-size").textContent = size;
    draw();
  });

  window.HaidangRedact = {
    /** Opens the panel on one photo; `onSaved` runs after each saved redaction. */
    open: function (reportId, mediaId, url, onSaved) {
      target = { reportId: reportId, mediaId: mediaId, url: url, onSaved: onSaved };
      rects = [];
      H.show("redact-error", "");
      status("");
      img.src = url + "?v=" + Date.now();
      panel.hidden = false;
      panel.scrollIntoView({ block: "start" });
      saveBtn.disabled = true;
    }
  };
})();
