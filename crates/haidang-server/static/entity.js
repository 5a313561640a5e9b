/*
 * Hải Đăng console — attribute history charts on an entity's page
 * (templates: /data/entities/{id}).
 *
 * Reads the figures in #history-charts, asks the NGSI-LD temporal API once
 * for all their attributes (simplified temporalValues form) and draws one
 * uPlot line chart (canvas 2D, global `uPlot`) per figure. All labels come
 * from data- attributes and figcaptions in the page; no text lives here.
 */
(function () {
  "use strict";

  // Vietnam has no DST, so a fixed offset is exact for Asia/Ho_Chi_Minh
  // (used only to tell calendar days apart on the time axis).
  var TZ = "Asia/Ho_Chi_Minh";
  var TZ_OFFSET_S = 7 * 3600;
  var DAY_S = 86400;
  var CHART_HEIGHT = 220;
  var RESIZE_DELAY_MS = 150;
  // Navy first (the console's accent), then colours that stay apart for
  // colour-blind readers when an attribute has several datasets.
  var PALETTE = ["#1d4e89", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#5b6675"];
  var AXIS_STYLE = {
    stroke: "#5b6675",
    grid: { stroke: "#e6e9ee", width: 1 },
    ticks: { stroke: "#d5dbe3", width: 1 }
  };

  function attr(el, name) {
    return el.getAttribute(name) || "";
  }

  function isNumber(v) {
    return typeof v === "number" && isFinite(v);
  }

  function extend(target, source) {
    for (var k in source) target[k] = source[k];
    return target;
  }

  /* ---------- Reading the temporal representation ---------- */

  // The hub answers with compact names; should a name come back expanded
  // (no @context for it), accept the full IRI that ends with the short name.
  function memberFor(data, name) {
    if (Object.prototype.hasOwnProperty.call(data, name)) return data[name];
    for (var key in data) {
      if (!Object.prototype.hasOwnProperty.call(data, key)) continue;
      var tail = key.length - name.length - 1;
      if (tail >= 0 && key.slice(tail + 1) === name && "/#:".indexOf(key.charAt(tail)) !== -1) {
        return data[key];
      }
    }
    return undefined;
  }

  // [[seconds...], [values...]] sorted by time; points whose value is not a
  // number (texts, objects, null) or whose time does not parse are skipped.
  function seriesTable(instance) {
    var pairs = instance && Array.isArray(instance.values) ? instance.values : [];
    var points = [];
    for (var i = 0; i < pairs.length; i++) {
      var p = pairs[i];
      if (!Array.isArray(p) || !isNumber(p[0]) || typeof p[1] !== "string") continue;
      var ms = Date.parse(p[1]);
      if (!isFinite(ms)) continue;
      points.push([ms / 1e3, p[0]]);
    }
    points.sort(function (a, b) { return a[0] - b[0]; });
    return [
      points.map(function (p) { return p[0]; }),
      points.map(function (p) { return p[1]; })
    ];
  }

  // One entry per dataset (an attribute with several datasetIds is an array),
  // keeping only those with at least one drawable point.
  function seriesFor(data, name) {
    var member = memberFor(data, name);
    var instances = Array.isArray(member) ? member : member ? [member] : [];
    var out = [];
    for (var i = 0; i < instances.length; i++) {
      var table = seriesTable(instances[i]);
      if (table[0].length === 0) continue;
      out.push({ table: table, datasetId: typeof instances[i].datasetId === "string" ? instances[i].datasetId : "" });
    }
    return out;
  }

  /* ---------- Formatting ---------- */

  // A formatter that keeps only the given fields, in that order, joined by "/".
  function slashed(intl, fields) {
    return {
      format: function (d) {
        var got = {};
        intl.formatToParts(d).forEach(function (p) { got[p.type] = p.value; });
        return fields.map(function (f) { return got[f] || ""; }).join("/");
      }
    };
  }

  function formatters(lang) {
    var locale = lang === "vi" ? "vi-VN" : "en-GB";
    // hourCycle rather than hour12:false, which some engines render as "24:00" at midnight.
    var base = { timeZone: TZ, hourCycle: "h23" };
    var dateTime = new Intl.DateTimeFormat(locale, extend({
      day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit"
    }, base));
    var hm = new Intl.DateTimeFormat(locale, extend({ hour: "2-digit", minute: "2-digit" }, base));
    var hms = new Intl.DateTimeFormat(locale, extend({ hour: "2-digit", minute: "2-digit", second: "2-digit" }, base));
    // Day/month and month/year as on Vietnamese paperwork ("01/12", "12/2026"):
    // ICU's short vi patterns are "01-12" and "tháng 12, 2026".
    var dm = slashed(new Intl.DateTimeFormat(locale, extend({ day: "2-digit", month: "2-digit" }, base)), ["day", "month"]);
    var my = slashed(new Intl.DateTimeFormat(locale, extend({ month: "2-digit", year: "numeric" }, base)), ["month", "year"]);

    function num(v) {
      return v.toLocaleString(locale, { maximumFractionDigits: 2 });
    }

    function dayOf(ts) {
      return Math.floor((ts + TZ_OFFSET_S) / DAY_S);
    }

    // Our own tick labels: uPlot's defaults are English month names and a
    // 12-hour clock. Ticks within a day show the date under the first tick
    // and wherever the day changes.
    function timeTicks(u, splits, axisIdx, foundSpace, foundIncr) {
      var prevDay = null;
      return splits.map(function (ts) {
        if (ts == null) return null;
        var d = new Date(ts * 1e3);
        if (foundIncr >= 28 * DAY_S) return my.format(d);
        if (foundIncr >= DAY_S) return dm.format(d);
        var time = (foundIncr < 60 ? hms : hm).format(d);
        var day = dayOf(ts);
        var label = prevDay === null || day !== prevDay ? time + "\n" + dm.format(d) : time;
        prevDay = day;
        return label;
      });
    }

    return {
      num: num,
      dateTime: function (ts) { return dateTime.format(new Date(ts * 1e3)); },
      timeTicks: timeTicks
    };
  }

  // Room for the longest tick label, so "1.234,56" is never clipped
  // (uPlot's default y-axis width is fixed).
  function yAxisSize(u, values, axisIdx, cycleNum) {
    var axis = u.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    var size = axis.ticks.size + axis.gap;
    var longest = "";
    (values || []).forEach(function (v) {
      if (v != null && String(v).length > longest.length) longest = String(v);
    });
    if (longest) {
      u.ctx.font = axis.font[0];
      size += u.ctx.measureText(longest).width / uPlot.pxRatio;
    }
    return Math.ceil(size);
  }

  /* ---------- Drawing ---------- */

  function widthOf(box) {
    return Math.max(Math.floor(box.clientWidth), 200);
  }

  function seriesLabel(figure) {
    var caption = figure.querySelector("figcaption");
    var label = caption ? caption.textContent.trim() : attr(figure, "data-attr");
    var unit = attr(figure, "data-unit");
    return unit ? label + " (" + unit + ")" : label;
  }

  function timeCell(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function showEmpty(figure, text) {
    var p = document.createElement("p");
    p.className = "chart-empty";
    p.textContent = text;
    var box = figure.querySelector(".chart-canvas");
    if (box) box.hidden = true;
    figure.appendChild(p);
  }

  function drawChart(figure, box, series, fmt, timeLabel) {
    var label = seriesLabel(figure);
    var many = series.length > 1;
    var data = many
      ? uPlot.join(series.map(function (s) { return s.table; }))
      : series[0].table;

    var ySeries = series.map(function (s, i) {
      var colour = PALETTE[i % PALETTE.length];
      return {
        // Several datasets of one attribute: the datasetId tells them apart.
        label: many && s.datasetId ? label + " · " + s.datasetId : label,
        stroke: colour,
        width: 2,
        fill: many ? undefined : "rgba(29, 78, 137, 0.08)",
        // Gaps introduced by joining datasets on one time axis are bridged.
        spanGaps: true,
        points: { size: 5 },
        value: function (u, v) { return v == null ? "" : fmt.num(v); }
      };
    });

    var opts = {
      width: widthOf(box),
      height: CHART_HEIGHT,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), TZ); },
      scales: { x: { time: true } },
      // Room on the right for half of the last time label, which uPlot would otherwise clip.
      padding: [null, 24, null, null],
      series: [{
        // An element, not a string: uPlot swaps an empty string for its English "Time".
        label: timeCell(timeLabel),
        value: function (u, ts) { return ts == null ? "" : fmt.dateTime(ts); }
      }].concat(ySeries),
      axes: [
        extend({ values: fmt.timeTicks, space: 70 }, AXIS_STYLE),
        extend({ values: function (u, splits) {
          return splits.map(function (v) { return v == null ? null : fmt.num(v); });
        }, size: yAxisSize }, AXIS_STYLE)
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } }
    };

    var chart = new uPlot(opts, data, box);
    box.classList.add("chart-drawn");
    // uPlot's legend puts ":" after the time label; without a label it would stand alone.
    if (!timeLabel) box.classList.add("chart-no-time-label");
    return chart;
  }

  function fail(section, figures) {
    var p = document.createElement("p");
    p.className = "chart-error";
    p.setAttribute("role", "alert");
    p.textContent = attr(section, "data-error");
    // Captions with no chart under them would only repeat the error.
    for (var i = 0; i < figures.length; i++) figures[i].hidden = true;
    section.insertBefore(p, figures.length ? figures[0] : null);
    section.setAttribute("data-loaded", "true");
  }

  function temporalUrl(section, names) {
    var q = "attrs=" + names.map(encodeURIComponent).join(",");
    var from = attr(section, "data-from");
    if (from) q += "&timerel=after&timeAt=" + encodeURIComponent(from);
    q += "&options=temporalValues";
    return "/ngsi-ld/v1/temporal/entities/" + encodeURIComponent(attr(section, "data-entity-id")) + "?" + q;
  }

  function init() {
    var section = document.getElementById("history-charts");
    if (!section) return;
    var figures = Array.prototype.slice.call(section.querySelectorAll("figure.chart[data-attr]"));
    if (figures.length === 0) {
      section.setAttribute("data-loaded", "true");
      return;
    }
    if (typeof uPlot === "undefined") {
      fail(section, figures);
      return;
    }

    var fmt = formatters(attr(section, "data-lang"));
    var timeLabel = attr(section, "data-label-time");
    var names = [];
    figures.forEach(function (f) {
      var name = attr(f, "data-attr");
      if (name && names.indexOf(name) === -1) names.push(name);
    });

    var charts = [];

    fetch(temporalUrl(section, names), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (res) {
        if (!res.ok) throw new Error(String(res.status));
        return res.json();
      })
      .then(function (data) {
        if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error("shape");
        figures.forEach(function (figure) {
          var box = figure.querySelector(".chart-canvas");
          var series = seriesFor(data, attr(figure, "data-attr"));
          if (!box || series.length === 0) {
            showEmpty(figure, attr(section, "data-empty"));
            return;
          }
          charts.push({ box: box, chart: drawChart(figure, box, series, fmt, timeLabel) });
        });
        section.setAttribute("data-loaded", "true");
      })
      .catch(function () {
        // A chart that threw half-way is removed so the error stands alone.
        charts.forEach(function (c) { c.chart.destroy(); c.box.classList.remove("chart-drawn"); });
        charts = [];
        fail(section, figures);
      });

    // Charts follow their box's width: on window resize, and also when the
    // box alone changes (a scrollbar appearing once the charts are in).
    // Debounced, so a drag-resize redraws once.
    var timer = null;
    function fitAll() {
      timer = null;
      charts.forEach(function (c) {
        var width = widthOf(c.box);
        if (width !== c.chart.width) c.chart.setSize({ width: width, height: CHART_HEIGHT });
      });
    }
    function later() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(fitAll, RESIZE_DELAY_MS);
    }
    window.addEventListener("resize", later);
    if (typeof ResizeObserver === "function") {
      var watcher = new ResizeObserver(later);
      figures.forEach(function (f) {
        var box = f.querySelector(".chart-canvas");
        if (box) watcher.observe(box);
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
