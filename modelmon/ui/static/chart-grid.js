/* modelmon charts, part 3: the features × windows drift heatmap and the reference/window histogram overlay. */
(function () {
  "use strict";
  const MM = window.MM;
  const C = MM.charts;
  /* Columns narrower than this are unreadable and unclickable: the heatmap then shows the latest windows. */
  const MIN_CELL_PX = 7;
  /* Light to dark (yellow, orange, red): darker is more drift. */
  const STOPS = [[255, 247, 224], [253, 212, 158], [244, 133, 74], [180, 35, 42]];

  C.heatColor = function (share) {
    const s = Math.min(1, Math.max(0, share)) * (STOPS.length - 1);
    const i = Math.min(STOPS.length - 2, Math.floor(s));
    const f = s - i;
    const rgb = STOPS[i].map((c, k) => Math.round(c + (STOPS[i + 1][k] - c) * f));
    return `rgb(${rgb.join(",")})`;
  };

  /**
   * Per-feature drift: rows are features, columns windows, colour the measure, a dot where the feature
   * drifted. opts: {features, windows: [{start_ms, end_ms}], values: [feature][window], drifted: same shape,
   * measure, selected?: {feature, window}, onSelect?(featureIndex, windowIndex)}.
   */
  C.heatmap = function (container, opts) {
    container.classList.add("chart");
    C.responsive(container, () => drawHeatmap(container, opts));
  };

  function drawHeatmap(container, opts) {
    MM.clear(container);
    const { features, windows, values } = opts;
    const drifted = opts.drifted || [];
    const width = Math.max(320, container.clientWidth || 800);
    const longest = Math.max(...features.map((f) => String(f).length), 4);
    const m = { top: 8, right: 12, bottom: 34, left: Math.min(200, 16 + longest * 6.6) };
    const room = width - m.left - m.right;
    const shown = Math.min(windows.length, Math.max(1, Math.floor(room / MIN_CELL_PX)));
    const first = windows.length - shown;
    const cw = room / shown;
    const ch = features.length > 40 ? 12 : 18;
    const height = m.top + ch * features.length + m.bottom;
    let top = 0;
    for (const row of values) for (let w = first; w < row.length; w++) if (row[w] !== null && row[w] > top) top = row[w];
    const vmax = top > 0 && top <= 1 ? 1 : top || 1; // TVD/Hellinger are in [0, 1]: keep the scale absolute
    const svg = C.svg("svg", { width, height, role: "img", "aria-label": `per-feature ${opts.measure || "drift"}` });
    const cells = C.svg("g", { class: "cells" }, svg);
    features.forEach((name, fi) => {
      const y = m.top + fi * ch;
      C.text(svg, m.left - 6, y + ch / 2 + 4, name, { "text-anchor": "end", class: "label" });
      for (let wi = first; wi < windows.length; wi++) {
        const v = values[fi][wi];
        const x = m.left + (wi - first) * cw;
        const rect = C.svg("rect", { class: "cell", x: x.toFixed(2), y, width: Math.max(1, cw).toFixed(2), height: ch,
          fill: v === null || v === undefined ? "#eceff3" : C.heatColor(v / vmax),
          "data-feature": name, "data-window": wi, "data-start": windows[wi].start_ms }, cells);
        if (drifted[fi] && drifted[fi][wi]) {
          rect.classList.add("drifted");
          if (cw >= 6) C.svg("circle", { cx: x + cw / 2, cy: y + ch / 2, r: Math.min(2.6, cw / 4), fill: "#1d2733",
            "pointer-events": "none" }, cells);
        }
        if (opts.selected && opts.selected.feature === name && opts.selected.window === wi) rect.classList.add("selected");
      }
    });
    heatAxis(svg, windows, first, m, cw, height);
    container.dataset.windows = shown;
    container.dataset.features = features.length;
    cells.addEventListener("mousemove", (event) => {
      const rect = event.target.closest("rect.cell");
      if (!rect) return C.hideTip();
      const fi = features.indexOf(rect.dataset.feature);
      const wi = Number(rect.dataset.window);
      const v = values[fi][wi];
      C.showTip(event, C.tipLines(rect.dataset.feature, [
        ["window", MM.fmtWindow(windows[wi].start_ms, windows[wi].end_ms)],
        [opts.measure || "value", v === null || v === undefined ? "not scored" : MM.fmtNum(v)],
        ["drifted", drifted[fi] && drifted[fi][wi] ? "yes" : "no"],
        opts.onSelect ? ["", "click for the histograms"] : null]));
    });
    cells.addEventListener("mouseleave", C.hideTip);
    cells.addEventListener("click", (event) => {
      const rect = event.target.closest("rect.cell");
      if (!rect || !opts.onSelect) return;
      opts.selected = { feature: rect.dataset.feature, window: Number(rect.dataset.window) };
      for (const other of cells.querySelectorAll("rect.selected")) other.classList.remove("selected");
      rect.classList.add("selected");
      opts.onSelect(features.indexOf(rect.dataset.feature), Number(rect.dataset.window));
    });
    container.appendChild(svg);
    if (first > 0) {
      container.appendChild(MM.h("div", { class: "note" },
        `Showing the latest ${MM.fmtNum(shown)} of ${MM.fmtNum(windows.length)} windows (more would not fit); ` +
        "narrow the time range to see earlier ones."));
    }
    container.appendChild(heatLegend(opts.measure, vmax));
  }

  /** Window start times under the columns, about every 90 px, with the date where the day changes. */
  function heatAxis(svg, windows, first, m, cw, height) {
    const axis = C.svg("g", { class: "axis x" }, svg);
    const every = Math.max(1, Math.ceil(90 / cw));
    let previousDay = null;
    for (let wi = first; wi < windows.length; wi += every) {
      const x = m.left + (wi - first) * cw + cw / 2;
      const label = MM.fmtTime(windows[wi].start_ms);
      const day = label.slice(0, 10);
      C.svg("line", { x1: x, x2: x, y1: height - m.bottom, y2: height - m.bottom + 4 }, axis);
      C.text(axis, x, height - m.bottom + 16, day !== previousDay ? label.slice(5) : label.slice(11),
        { "text-anchor": "middle", "font-weight": day !== previousDay ? 600 : null });
      previousDay = day;
    }
  }

  function heatLegend(measure, vmax) {
    const stops = [0, 0.25, 0.5, 0.75, 1].map((s) => C.heatColor(s)).join(",");
    return MM.h("div", { class: "legend" },
      MM.h("span", {}, `${measure || "drift"}: 0 `,
        MM.h("span", { class: "key box", style: `width:90px;background:linear-gradient(90deg,${stops})` }),
        ` ${MM.fmtNum(vmax)}`),
      MM.h("span", {}, MM.h("span", { class: "dot", style: "background:#1d2733" }),
        "drifted (over the feature's threshold)"),
      MM.h("span", {}, MM.h("span", { class: "key box", style: "background:#eceff3" }), "not scored"),
      MM.h("span", {}, "a column per window, labelled with its start"));
  }

  /**
   * Reference and window histograms of one feature, each as shares of its rows so that windows of any size
   * compare. opts: {edges, reference, window, categories?, labels?: a label per bin, totals?: [reference rows,
   * window rows]}. With one more count than edges + 1, the first
   * and last counts are the open-ended bins below and above the edges.
   */
  C.histogram = function (container, opts) {
    container.classList.add("chart");
    C.responsive(container, () => drawHistogram(container, opts));
  };

  function bins(opts) {
    const n = opts.reference.length;
    if (opts.categories) return opts.categories.map((c, i) => ({ lo: i, hi: i + 1, label: String(c) }));
    const e = opts.edges;
    const width = e.length > 1 ? (e[e.length - 1] - e[0]) / (e.length - 1) : 1;
    const inner = e.slice(0, -1).map((lo, i) => ({ lo, hi: e[i + 1], label: `${MM.fmtNum(lo)} – ${MM.fmtNum(e[i + 1])}` }));
    if (n === inner.length + 2) {
      return [{ lo: e[0] - width, hi: e[0], label: `below ${MM.fmtNum(e[0])}` }, ...inner,
        { lo: e[e.length - 1], hi: e[e.length - 1] + width, label: `${MM.fmtNum(e[e.length - 1])} and above` }];
    }
    return inner;
  }

  function drawHistogram(container, opts) {
    MM.clear(container);
    const b = bins(opts);
    const share = (counts) => {
      const total = counts.reduce((a, c) => a + (c || 0), 0);
      return counts.map((c) => (total ? (c || 0) / total : 0));
    };
    const totals = opts.totals || [null, null];
    const ref = share(opts.reference);
    const win = share(opts.window);
    const top = Math.max(...ref, ...win, 0.01);
    const f = C.frame(container, { x: [b[0].lo, b[b.length - 1].hi], y: [0, top * 1.1], height: opts.height || 240,
      xTime: false, yLabel: "share of rows", yFormat: (v) => `${MM.fmtNum(v * 100, 3)}%`, label: "histograms" });
    const axis = f.svg.querySelector(".axis.x");
    if (opts.categories) {
      b.forEach((bin) => C.text(axis, f.x((bin.lo + bin.hi) / 2), f.height - f.m.bottom + 16, bin.label.slice(0, 14),
        { "text-anchor": "middle" }));
    } else {
      for (const v of C.niceTicks(opts.edges[0], opts.edges[opts.edges.length - 1], 7)) {
        C.svg("line", { x1: f.x(v), x2: f.x(v), y1: f.height - f.m.bottom, y2: f.height - f.m.bottom + 4 }, axis);
        C.text(axis, f.x(v), f.height - f.m.bottom + 16, MM.fmtNum(v), { "text-anchor": "middle" });
      }
    }
    const base = f.y(0);
    b.forEach((bin, i) => {
      const x0 = f.x(bin.lo) + 0.5;
      const w = Math.max(1, f.x(bin.hi) - f.x(bin.lo) - 1);
      C.svg("rect", { class: "bar reference", x: x0, y: f.y(ref[i]), width: w, height: base - f.y(ref[i]) }, f.plot);
    });
    b.forEach((bin, i) => {
      const x0 = f.x(bin.lo) + 0.5;
      const w = Math.max(1, f.x(bin.hi) - f.x(bin.lo) - 1);
      C.svg("rect", { class: "bar window", x: x0, y: f.y(win[i]), width: w, height: Math.max(0, base - f.y(win[i])) }, f.plot);
      const hit = C.svg("rect", { x: x0, y: f.m.top, width: w, height: base - f.m.top, fill: "transparent" }, f.plot);
      const rows = (total, p) => (total ? ` (${MM.fmtNum(Math.round(total * p))} rows)` : "");
      hit.addEventListener("mousemove", (event) => C.showTip(event, C.tipLines((opts.labels || [])[i] || bin.label, [
        ["reference", `${MM.fmtNum(ref[i] * 100, 3)}%${rows(totals[0], ref[i])}`],
        ["window", `${MM.fmtNum(win[i] * 100, 3)}%${rows(totals[1], win[i])}`]])));
      hit.addEventListener("mouseleave", C.hideTip);
    });
    container.dataset.bins = b.length;
    container.appendChild(C.legend([{ label: "reference", color: "#9fb3c8", kind: "box" },
      { label: "window", color: "#2456a6", kind: "line" }]));
    container.appendChild(f.svg);
  }
})();
