/* The endpoint page's estimated-performance section: the performance-estimation app's estimate of each metric per
   window with its band and the reference, next to the realized value wherever labels gave one. */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;
  const C = MM.charts;
  const LABELS = { accuracy: "accuracy", precision: "precision", recall: "recall", f1: "F1", roc_auc: "ROC AUC",
    mae: "MAE", rmse: "RMSE" };
  const COLORS = { estimate: "#2456a6", band: "#8fa8cf", reference: "#5f6b7a", realized: "#c05621" };
  const has = (v) => v !== null && v !== undefined;

  /**
   * Fill ``section`` from the endpoint body's ``performance_estimation`` ({app, metrics: [{metric, reference,
   * points: [{start_ms, end_ms, estimate, lower, upper, reference, status, realized, realized_source}]}]}).
   */
  MM.performanceEstimation = function (section, est, xRange) {
    MM.clear(section).appendChild(h("h2", {}, "Estimated performance"));
    const metrics = ((est && est.metrics) || []).filter((m) => m.points.length);
    if (!metrics.length) {
      section.appendChild(MM.empty("No performance estimate.",
        "The performance-estimation app estimates a classifier's accuracy, F1 and ROC AUC from its scores " +
        "(a regressor's MAE and RMSE from its inputs), without labels; register it with a labelled reference " +
        "(reference_data) to see them here."));
      return;
    }
    section.appendChild(h("p", { class: "note" }, `${est.app}: estimated without labels; ` +
      "the band is where the realized value should fall (95%). Realized values outside it more often than one " +
      "window in twenty mean the estimate is not valid any more (concept drift: see docs/apps.md)."));
    section.appendChild(latestTable(metrics));
    const grid = h("div", { class: "grid2" });
    section.appendChild(grid);
    for (const m of metrics) grid.appendChild(panel(est.app, m, xRange));
  };

  /** The latest window of each metric: estimate, band, reference, realized and the estimate's error. */
  function latestTable(metrics) {
    const fmt = (v) => (has(v) ? MM.fmtNum(v, 3) : "—");
    const rows = metrics.map((m) => {
      const p = m.points[m.points.length - 1];
      const error = has(p.realized) && has(p.estimate) ? p.estimate - p.realized : null;
      const outside = has(p.realized) && has(p.lower) && (p.realized < p.lower || p.realized > p.upper);
      return h("tr", { "data-metric": m.metric },
        h("td", {}, LABELS[m.metric] || m.metric),
        h("td", { class: "num" }, fmt(p.estimate)),
        h("td", { class: "num" }, has(p.lower) ? `${fmt(p.lower)} – ${fmt(p.upper)}` : "—"),
        h("td", { class: "num" }, fmt(p.reference ?? m.reference)),
        h("td", { class: "num realized", title: p.realized_source ? `measured on labels by ${p.realized_source}` : null },
          fmt(p.realized),
          outside ? h("div", { class: "note", title: "the estimate is not valid here: concept drift?" },
            "outside the band") : ""),
        h("td", { class: "num" }, has(error) ? `${error >= 0 ? "+" : ""}${MM.fmtNum(error, 3)}` : "—"),
        h("td", {}, MM.badge(p.status)));
    });
    const last = metrics[0].points[metrics[0].points.length - 1];
    return h("div", { class: "table-wrap" },
      h("table", { class: "data", id: "estimation-table" },
        h("caption", {}, `latest window ${MM.fmtWindow(last.start_ms, last.end_ms)}`),
        h("thead", {}, h("tr", {}, ["metric", "estimated", "band", "reference", "realized", "estimate − realized",
          "status"].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows)));
  }

  function panel(app, m, xRange) {
    const pts = m.points.filter((p) => has(p.estimate));
    const at = (key) => pts.filter((p) => has(p[key])).map((p) => ({ t: p.end_ms, start: p.start_ms, v: p[key] }));
    const realized = at("realized");
    /* realized values only where labels exist: one line per run of consecutive labelled windows, so that no
       line is drawn across a window without labels */
    const runs = [];
    pts.forEach((p, i) => {
      if (!has(p.realized)) return;
      const point = { t: p.end_ms, start: p.start_ms, v: p.realized };
      if (i > 0 && has(pts[i - 1].realized)) runs[runs.length - 1].push(point);
      else runs.push([point]);
    });
    const series = [
      { name: "estimated", color: COLORS.estimate,
        points: pts.map((p) => ({ t: p.end_ms, start: p.start_ms, v: p.estimate, status: p.status })) },
      ...runs.map((run) => ({ name: "realized", color: COLORS.realized, points: run })),
      { name: "band low", color: COLORS.band, dash: "3,3", points: at("lower") },
      { name: "band high", color: COLORS.band, dash: "3,3", points: at("upper") },
      { name: "reference", color: COLORS.reference, dash: "7,4",
        points: pts.map((p) => ({ t: p.end_ms, start: p.start_ms, v: p.reference ?? m.reference })).filter((p) => has(p.v)) },
    ];
    const chart = h("div", { class: "result-chart estimation-chart", "data-metric": m.metric,
      "data-realized": String(realized.length) });
    const last = pts[pts.length - 1];
    const legend = [{ label: "estimated", color: COLORS.estimate }, { label: "band (95%)", color: COLORS.band, kind: "dash" },
      { label: "reference", color: COLORS.reference, kind: "dash" }];
    if (realized.length) legend.push({ label: "realized (labels)", color: COLORS.realized });
    const out = h("div", { class: "panel" },
      h("div", { class: "panel-head" }, h("h3", {}, `${LABELS[m.metric] || m.metric}: estimated vs realized`),
        h("span", { class: "sub" }, `${app} · ${m.result}`, " ", last ? MM.badge(last.status) : null)),
      C.legend(legend), chart);
    /* status-coloured points hide the markers of the other series: a lone labelled window must stay visible */
    C.lineChart(chart, { series, statusPoints: !realized.length, xRange, label: `${m.metric} estimated and realized`,
      format: (v) => MM.fmtNum(v, 3) });
    return out;
  }
})();
