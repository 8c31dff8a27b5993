/* modelmon charts, part 1: SVG helpers, scales, UTC time ticks, axes and the shared tooltip.
   The charts draw SVG themselves (no charting library): the pages and the offline report stay small, and
   every chart carries data attributes (data-points, data-windows) that tests and people can read. */
(function () {
  "use strict";
  const MM = (window.MM = window.MM || {});
  const NS = "http://www.w3.org/2000/svg";
  const C = (MM.charts = MM.charts || {});

  C.svg = function (tag, attrs, parent) {
    const el = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) el.setAttribute(key, String(value));
    }
    if (parent) parent.appendChild(el);
    return el;
  };
  C.text = function (parent, x, y, content, attrs) {
    const el = C.svg("text", Object.assign({ x, y }, attrs || {}), parent);
    el.textContent = content;
    return el;
  };

  /** A linear scale from [d0, d1] to [r0, r1]; a zero-width domain maps to the middle. */
  C.scale = function (d0, d1, r0, r1) {
    const span = d1 - d0;
    const f = (v) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0));
    f.domain = [d0, d1];
    f.invert = (px) => (r1 === r0 ? d0 : d0 + ((px - r0) / (r1 - r0)) * span);
    return f;
  };

  /** About ``count`` round ticks covering [lo, hi] (1, 2, 2.5 or 5 × a power of ten apart). */
  C.niceTicks = function (lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
    return ticks;
  };
  /** Tick labels with the decimals their step needs, the same on every tick (1.95, 1.975, 2.000 read as
      uneven: 1.950, 1.975, 2.000); tiny steps fall back to MM.fmtNum's exponents. */
  C.tickFormat = function (ticks) {
    const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 0;
    if (!(step > 0) || step < 1e-4) return MM.fmtNum;
    let decimals = 0;
    while (decimals < 6 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-9 * 10 ** decimals) decimals++;
    return (v) => v.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  };
  /** [lo, hi] widened to round numbers, with room above (and below when negative). */
  C.niceDomain = function (values, extra) {
    const all = values.concat(extra || []).filter((v) => v !== null && v !== undefined && Number.isFinite(v));
    if (!all.length) return [0, 1];
    let lo = Math.min(...all);
    let hi = Math.max(...all);
    if (lo > 0 && lo < hi * 0.5) lo = 0;
    if (hi === lo) {
      const pad = Math.abs(hi) * 0.1 || 1;
      return [lo - (lo === 0 ? 0 : pad), hi + pad];
    }
    const pad = (hi - lo) * 0.08;
    return [lo === 0 ? 0 : lo - pad, hi + pad];
  };

  const MIN = 60e3;
  const HOUR = 60 * MIN;
  const DAY = 24 * HOUR;
  const TIME_STEPS = [1e3, 5e3, 15e3, 30e3, MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR,
    3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY];
  const pad = (n) => String(n).padStart(2, "0");

  /** UTC ticks on round times: [{t, label, major}] — a tick on a new day (or the first) shows the date. */
  C.timeTicks = function (t0, t1, count) {
    if (!(t1 > t0)) return [{ t: t0, label: MM.fmtTime(t0), major: true }];
    const raw = (t1 - t0) / Math.max(1, count);
    const step = TIME_STEPS.find((s) => s >= raw) || Math.ceil(raw / (30 * DAY)) * 30 * DAY;
    const ticks = [];
    let previousDay = null;
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const d = new Date(t);
      const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
      const clock = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` + (step < MIN ? `:${pad(d.getUTCSeconds())}` : "");
      const newDay = day !== previousDay;
      let label;
      if (step >= DAY) label = day.slice(5);
      else label = newDay ? `${day.slice(5)} ${clock}` : clock;
      ticks.push({ t, label, major: newDay && step < DAY });
      previousDay = day;
    }
    return ticks;
  };

  /**
   * The frame of an x/y chart inside ``container``: an SVG sized to the container's width with margins,
   * gridlines, a UTC time x axis (or a linear one) and a y axis. Returns {svg, plot, x, y, width, height, m}.
   */
  C.frame = function (container, opts) {
    const width = Math.max(280, Math.floor(opts.width || container.clientWidth || 600));
    const height = opts.height || 220;
    const m = Object.assign({ top: 10, right: 16, bottom: 30, left: 58 }, opts.margin || {});
    const svg = C.svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": opts.label || "chart" });
    const x = C.scale(opts.x[0], opts.x[1], m.left, width - m.right);
    const y = C.scale(opts.y[0], opts.y[1], height - m.bottom, m.top);
    const grid = C.svg("g", { class: "grid" }, svg);
    const yAxis = C.svg("g", { class: "axis y" }, svg);
    const yTicks = C.niceTicks(opts.y[0], opts.y[1], Math.max(2, Math.floor((height - m.top - m.bottom) / 40)));
    const yFormat = opts.yFormat || C.tickFormat(yTicks);
    for (const v of yTicks) {
      C.svg("line", { class: "gridline", x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }, grid);
      C.text(yAxis, m.left - 6, y(v) + 4, yFormat(v), { "text-anchor": "end" });
    }
    if (opts.yLabel) {
      C.text(yAxis, 12, m.top + (height - m.top - m.bottom) / 2, opts.yLabel, {
        "text-anchor": "middle", transform: `rotate(-90 12 ${m.top + (height - m.top - m.bottom) / 2})`, class: "label" });
    }
    const xAxis = C.svg("g", { class: "axis x" }, svg);
    C.svg("line", { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom }, xAxis);
    if (opts.xTime !== false) {
      const ticks = C.timeTicks(opts.x[0], opts.x[1], Math.max(2, Math.floor((width - m.left - m.right) / 95)));
      for (const tick of ticks) {
        const px = x(tick.t);
        C.svg("line", { x1: px, x2: px, y1: height - m.bottom, y2: height - m.bottom + 4 }, xAxis);
        C.text(xAxis, px, height - m.bottom + 16, tick.label, { "text-anchor": "middle",
          "font-weight": tick.major && ticks.length > 1 ? 600 : null });
      }
    }
    const plot = C.svg("g", { class: "plot" }, svg);
    return { svg, plot, x, y, width, height, m };
  };

  /* One tooltip element for the whole page. */
  let tip = null;
  C.showTip = function (event, content) {
    if (!tip) {
      tip = MM.h("div", { class: "tooltip", role: "tooltip" });
      document.body.appendChild(tip);
    }
    MM.clear(tip);
    MM.append(tip, [content]);
    tip.hidden = false;
    const pad = 14;
    const box = tip.getBoundingClientRect();
    let left = event.clientX + pad;
    let top = event.clientY + pad;
    if (left + box.width > window.innerWidth - 4) left = event.clientX - box.width - pad;
    if (top + box.height > window.innerHeight - 4) top = event.clientY - box.height - pad;
    tip.style.left = `${Math.max(4, left)}px`;
    tip.style.top = `${Math.max(4, top)}px`;
  };
  /* Hidden and emptied: a hidden tooltip never holds the text of the last chart hovered. */
  C.hideTip = function () {
    if (!tip) return;
    tip.hidden = true;
    MM.clear(tip);
  };
  /* Scrolling moves the page under a still pointer without a mousemove: the tooltip would float over
     whatever scrolled in. */
  window.addEventListener("scroll", () => C.hideTip(), { passive: true });
  /** Lines of a tooltip: [["time", "…"], ["value", "…"], ["status", badgeElement]]; a row without a key is a note. */
  C.tipLines = function (title, rows) {
    return [MM.h("div", { style: "font-weight:600" }, title),
      rows.filter(Boolean).map(([k, v]) => (k
        ? MM.h("div", {}, MM.h("span", { style: "color:#a9b6c5" }, k + ": "), v)
        : MM.h("div", { style: "color:#a9b6c5" }, v)))];
  };

  /** The index of the point whose x is nearest ``value`` in the sorted array ``xs``. */
  C.nearest = function (xs, value) {
    let lo = 0;
    let hi = xs.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] < value) lo = mid;
      else hi = mid;
    }
    return Math.abs(xs[lo] - value) <= Math.abs(xs[hi] - value) ? lo : hi;
  };

  /** A legend row: [{label, color, kind: "line" | "dash" | "box" | "dot", cls}]. */
  C.legend = function (items) {
    return MM.h("div", { class: "legend" }, items.map((item) => MM.h("span", {},
      item.kind === "dot"
        ? MM.h("span", { class: "dot " + (item.cls || "") })
        : MM.h("span", { class: "key " + (item.kind || ""),
          style: item.kind === "dash" ? `border-color:${item.color}` : `background:${item.color}` }),
      item.label)));
  };

  /* Charts re-draw at their container's new width when the window is resized. */
  const drawn = new Map();
  C.responsive = function (container, draw) {
    drawn.set(container, draw);
    draw();
  };
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const [container, draw] of drawn) {
        if (container.isConnected) draw();
        else drawn.delete(container);
      }
    }, 150);
  });
})();
