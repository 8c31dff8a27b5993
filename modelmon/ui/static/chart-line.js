/* modelmon charts, part 2: values over time (with threshold lines and status-coloured points) and sparklines. */
(function () {
  "use strict";
  const MM = window.MM;
  const C = MM.charts;
  /* Above this many points a chart marks only the windows with a problem (potential or detected). */
  const ALL_POINTS_UP_TO = 300;
  /* Series without statuses (metrics, traffic) show their points up to this many. */
  const FEW_POINTS = 60;

  /** Path commands through the points, broken where a gap is wider than 1.5 usual steps (missing windows). */
  function pathOf(points, x, y) {
    const steps = [];
    for (let i = 1; i < points.length; i++) steps.push(points[i].t - points[i - 1].t);
    steps.sort((a, b) => a - b);
    const usual = steps.length ? steps[Math.floor(steps.length / 2)] : 0;
    let d = "";
    points.forEach((p, i) => {
      const gap = i > 0 && usual > 0 && p.t - points[i - 1].t > usual * 1.5;
      d += `${i === 0 || gap ? "M" : "L"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
    });
    return d;
  }

  /** The potential/detected bands and dashed lines; a detected threshold below the potential one means
      lower values are worse (accuracy), so the bands go down. */
  function drawThresholds(f, thresholds) {
    if (!thresholds) return;
    const { potential, detected } = thresholds;
    const [lo, hi] = f.y.domain;
    const clamp = (v) => Math.min(hi, Math.max(lo, v));
    const x0 = f.m.left;
    const x1 = f.width - f.m.right;
    const band = (a, b, cls) => {
      const ya = f.y(clamp(a));
      const yb = f.y(clamp(b));
      if (Math.abs(ya - yb) > 0.5) {
        C.svg("rect", { class: "band " + cls, x: x0, width: x1 - x0, y: Math.min(ya, yb), height: Math.abs(ya - yb) }, f.plot);
      }
    };
    const up = detected === null || potential === null || detected >= potential;
    if (potential !== null && potential !== undefined) band(potential, detected ?? (up ? hi : lo), "potential");
    if (detected !== null && detected !== undefined) band(detected, up ? hi : lo, "detected");
    for (const [value, cls] of [[potential, "potential"], [detected, "detected"]]) {
      if (value === null || value === undefined || value < lo || value > hi) continue;
      C.svg("line", { class: "threshold " + cls, x1: x0, x2: x1, y1: f.y(value), y2: f.y(value) }, f.plot);
    }
  }

  function draw(container, opts) {
    MM.clear(container);
    const series = opts.series.filter((s) => s.points.length);
    const first = series[0];
    const ts = series.flatMap((s) => [s.points[0].t, s.points[s.points.length - 1].t]);
    let [t0, t1] = opts.xRange || [Math.min(...ts), Math.max(...ts)];
    if (t1 <= t0) {
      const half = (opts.period || 60e3) / 2;
      t0 -= half;
      t1 += half;
    }
    const th = opts.thresholds || null;
    const values = series.flatMap((s) => s.points.map((p) => p.v));
    const yDomain = opts.yDomain || C.niceDomain(values.concat(opts.area ? [0] : []),
      th ? [th.potential, th.detected].filter((v) => v !== null && v !== undefined) : []);
    const f = C.frame(container, { x: [t0, t1], y: yDomain, height: opts.height, yLabel: opts.yLabel,
      yFormat: opts.yFormat, label: opts.label });
    drawThresholds(f, th);
    for (const s of series) {
      if (opts.area && s === first) {
        const base = f.y(Math.max(yDomain[0], 0)).toFixed(1);
        const pts = s.points;
        C.svg("path", { d: `${pathOf(pts, f.x, f.y)}L${f.x(pts[pts.length - 1].t).toFixed(1)},${base}L${f.x(pts[0].t).toFixed(1)},${base}Z`,
          fill: s.color, "fill-opacity": 0.12, stroke: "none" }, f.plot);
      }
      C.svg("path", { class: "series", d: pathOf(s.points, f.x, f.y), stroke: s.color,
        "stroke-dasharray": s.dash || null, style: s.points.length > 500 ? "stroke-width:1" : null }, f.plot);
    }
    /* Without status points, a short series marks its values too: a lone window draws no line at all. */
    for (const s of opts.statusPoints ? [] : series) {
      if (s.points.length > FEW_POINTS) continue;
      for (const p of s.points) {
        C.svg("circle", { class: "vx", cx: f.x(p.t).toFixed(1), cy: f.y(p.v).toFixed(1), r: 2.2, fill: s.color }, f.plot);
      }
    }
    if (opts.statusPoints && first) {
      const all = first.points.length <= ALL_POINTS_UP_TO;
      const r = first.points.length > 80 ? 2.2 : 3.5;
      for (const p of first.points) {
        if (!all && !(p.status >= 1)) continue;
        C.svg("circle", { class: `pt s${p.status}`, cx: f.x(p.t).toFixed(1), cy: f.y(p.v).toFixed(1), r }, f.plot);
      }
    }
    container.dataset.points = first ? first.points.length : 0;
    container.appendChild(f.svg);
    hover(f, series, opts);
  }

  /** A guide line and a tooltip at the window nearest the pointer. */
  function hover(f, series, opts) {
    if (!series.length) return;
    const guide = C.svg("line", { class: "guide", y1: f.m.top, y2: f.height - f.m.bottom, visibility: "hidden" }, f.svg);
    const mark = C.svg("circle", { class: "mark", r: 5, visibility: "hidden" }, f.svg);
    const overlay = C.svg("rect", { x: f.m.left, y: f.m.top, width: f.width - f.m.left - f.m.right,
      height: f.height - f.m.top - f.m.bottom, fill: "transparent" }, f.svg);
    const xs = series.map((s) => s.points.map((p) => p.t));
    const format = opts.format || MM.fmtNum;
    overlay.addEventListener("mousemove", (event) => {
      const box = f.svg.getBoundingClientRect();
      const t = f.x.invert(event.clientX - box.left);
      const i = C.nearest(xs[0], t);
      const p = series[0].points[i];
      guide.setAttribute("x1", f.x(p.t));
      guide.setAttribute("x2", f.x(p.t));
      guide.setAttribute("visibility", "visible");
      mark.setAttribute("cx", f.x(p.t));
      mark.setAttribute("cy", f.y(p.v));
      mark.setAttribute("visibility", "visible");
      const when = p.start !== undefined ? MM.fmtWindow(p.start, p.t) : `${MM.fmtTime(p.t)} UTC`;
      const rows = series.map((s, k) => {
        const q = k === 0 ? p : s.points[C.nearest(xs[k], p.t)];
        return q && q.t === p.t ? [s.name, format(q.v)] : null;
      });
      if (p.status !== undefined && opts.statusPoints) rows.push(["status", MM.badge(p.status)]);
      C.showTip(event, C.tipLines(when, rows));
    });
    overlay.addEventListener("mouseleave", () => {
      guide.setAttribute("visibility", "hidden");
      mark.setAttribute("visibility", "hidden");
      C.hideTip();
    });
  }

  /**
   * Values over time. opts: {series: [{name, color, points: [{t, v, status?, start?}], dash?}],
   * thresholds?: {potential, detected}, statusPoints?, area?, xRange?: [t0, t1], height?, yLabel?, format?}.
   * The container gets data-points = the first series' points.
   */
  C.lineChart = function (container, opts) {
    container.classList.add("chart");
    C.responsive(container, () => draw(container, opts));
  };

  /** A small drift line for a table row: points coloured by status, the latest one larger. */
  C.sparkline = function (container, points, opts) {
    const o = Object.assign({ width: 120, height: 26 }, opts || {});
    container.classList.add("spark");
    container.dataset.points = points.length;
    if (!points.length) {
      container.appendChild(MM.h("span", { class: "muted" }, "—"));
      return;
    }
    const ts = points.map((p) => p.t);
    const [lo, hi] = C.niceDomain(points.map((p) => p.v));
    const x = C.scale(ts[0], ts[ts.length - 1], 3, o.width - 4);
    const y = C.scale(lo, hi, o.height - 3, 3);
    const svg = C.svg("svg", { width: o.width, height: o.height, role: "img", "aria-label": "drift over time" });
    C.svg("path", { d: pathOf(points, x, y), fill: "none", stroke: "#8796a8", "stroke-width": 1.2 }, svg);
    points.forEach((p, i) => {
      const last = i === points.length - 1;
      if (points.length <= 60 || last || p.status >= 1) {
        C.svg("circle", { class: `pt s${p.status}`, cx: x(p.t), cy: y(p.v), r: last ? 2.8 : 1.7 }, svg);
      }
    });
    svg.addEventListener("mousemove", (event) => {
      const box = svg.getBoundingClientRect();
      const p = points[C.nearest(ts, x.invert(event.clientX - box.left))];
      C.showTip(event, C.tipLines(MM.fmtWindow(p.start ?? p.t, p.t), [[o.name || "value", MM.fmtNum(p.v)],
        ["status", MM.badge(p.status)]]));
    });
    svg.addEventListener("mouseleave", C.hideTip);
    container.appendChild(svg);
  };
})();
