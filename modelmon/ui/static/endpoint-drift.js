/* The endpoint page's feature-drift section: the features × windows heatmap and, for the chosen cell, the
   reference and window histograms of that feature overlaid, with the drift measures of that window. */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;

  /** values[feature][window], whichever way round the API sent the matrix. */
  function byFeature(matrix, features, windows) {
    if (!matrix) return features.map(() => windows.map(() => null));
    if (matrix.length === features.length && (matrix[0] || []).length === windows.length) return matrix;
    return features.map((_, f) => windows.map((__, w) => (matrix[w] ? matrix[w][f] : null)));
  }

  /** The cell shown first: the latest window's most drifted feature (a drifted one before any other; the
      offline report embeds these histograms). */
  function firstCell(values, drifted, windows) {
    const w = windows.length - 1;
    const score = (f) => [drifted[f][w] ? 1 : 0, values[f][w] ?? -1];
    let best = 0;
    values.forEach((_, f) => {
      const [d, v] = score(f);
      const [bd, bv] = score(best);
      if (d > bd || (d === bd && v > bv)) best = f;
    });
    return { f: best, w };
  }

  /**
   * Fill ``section`` from the endpoint body's ``feature_drift`` ({app, result, measure, features, windows,
   * values, drifted}); ``source.histogram(startMs, feature)`` gives a window's histograms.
   */
  MM.featureDrift = function (section, drift, source) {
    MM.clear(section);
    section.appendChild(h("h2", {}, "Feature drift"));
    if (!drift || !drift.features || !drift.features.length || !drift.windows.length) {
      section.appendChild(MM.empty("No per-feature drift yet.",
        "The histogram-data-drift app scores every feature of each closed window against the reference; " +
        "register it (modelmon's built-in apps) and give the endpoint a reference to see features here."));
      return;
    }
    const values = byFeature(drift.values, drift.features, drift.windows);
    const drifted = byFeature(drift.drifted, drift.features, drift.windows);
    const cell = firstCell(values, drifted, drift.windows);
    const heat = h("div", { id: "heatmap" });
    const detail = h("div", { class: "panel", id: "histogram-panel" });
    section.appendChild(h("div", { class: "panel" },
      h("div", { class: "panel-head" },
        h("h3", {}, `${drift.measure || "drift"} per feature and window`),
        h("span", { class: "sub" }, `${drift.app} · ${drift.result} — click a cell for its histograms`)),
      heat));
    /* a ranked feature's row shows its histograms in the ranking's window */
    const latest = drift.impact && drift.windows.findIndex((w) => w.end_ms === (drift.impact.window || {}).end_ms);
    if (drift.impact) section.appendChild(impactPanel(drift.impact, (feature) => {
      const f = drift.features.indexOf(feature);
      if (f >= 0) show(f, latest >= 0 ? latest : drift.windows.length - 1);
    }));
    section.appendChild(detail);
    const show = (f, w) => showHistogram(detail, source, drift.features[f], drift.windows[w],
      { measure: drift.measure, value: values[f][w], drifted: drifted[f][w] });
    MM.charts.heatmap(heat, { features: drift.features, windows: drift.windows, values, drifted,
      measure: drift.measure, selected: { feature: drift.features[cell.f], window: cell.w }, onSelect: show });
    show(cell.f, cell.w);
  };

  let pending = 0;
  /** The histograms of ``feature`` in ``window``; ``cell`` is the heatmap's {measure, value, drifted} there. */
  async function showHistogram(panel, source, feature, window, cell) {
    const { measure, value, drifted } = cell;
    const mine = ++pending;
    MM.clear(panel);
    const head = h("div", { class: "panel-head" },
      h("h3", {}, `Histograms of ${feature}`),
      h("span", { class: "sub" }, `window ${MM.fmtWindow(window.start_ms, window.end_ms)}`));
    panel.appendChild(head);
    const body = h("div", { class: "loading" }, "Loading the histograms…");
    panel.appendChild(body);
    let histo;
    try {
      histo = await source.histogram(window.start_ms, feature, window.end_ms);
    } catch (err) {
      if (mine === pending) MM.showError(body, err, "Could not load the histograms");
      return;
    }
    if (mine !== pending) return; // another cell was clicked meanwhile
    MM.clear(body).className = "";
    if (!histo) {
      body.appendChild(MM.empty("This report holds the histograms of the latest window's most drifted features only.",
        "Open the endpoint in 'modelmon ui' to see any window and feature."));
      return;
    }
    const chart = h("div", { id: "histogram", "data-feature": feature, "data-start": window.start_ms });
    const measures = h("dl", { class: "measures" },
      h("dt", {}, "drifted"), h("dd", {}, drifted ? MM.badge(2, "yes") : MM.badge(0, "no")),
      /* the app's own figure, unless the same measure is recomputed below */
      value !== null && value !== undefined && !(histo.measures && measure in histo.measures)
        ? [h("dt", {}, measure || "score"), h("dd", {}, MM.fmtNum(value))] : null,
      Object.entries(histo.measures || {}).map(([k, v]) => [h("dt", {}, k.replace(/_/g, " ")),
        h("dd", {}, typeof v === "number" ? MM.fmtNum(v) : String(v))]),
      h("dt", {}, "reference rows"), h("dd", {}, MM.fmtNum(histo.reference_total)),
      h("dt", {}, "window rows"), h("dd", {}, MM.fmtNum(histo.window_rows ?? histo.window_total)),
      histo.window_missing ? [h("dt", {}, "missing in window"), h("dd", {}, MM.fmtNum(histo.window_missing))] : null);
    body.appendChild(h("div", { class: "histo-layout" }, chart, h("div", {}, h("h3", {}, "Measures"), measures)));
    MM.charts.histogram(chart, { edges: histo.edges, reference: histo.reference, window: histo.window_counts,
      categories: histo.categories, labels: histo.bins, totals: [histo.reference_total, histo.window_total] });
  }

  const has = (v) => v !== null && v !== undefined;
  /** Ranked features listed before "show all". */
  const SHOWN_RANKS = 10;

  /** The latest window's drifted features by impact (drift × importance), its top culprit, and with
      ``segment_by`` the worst segments (``feature_drift.impact``, see modelmon/ui/drift_impact.py). */
  function impactPanel(impact, onFeature) {
    const w = impact.window || {};
    const panel = h("div", { class: "panel", id: "drift-impact" },
      h("div", { class: "panel-head" }, h("h3", {}, "Drifted features by impact"),
        h("span", { class: "sub" }, `${impact.app} · latest window ${MM.fmtWindow(w.start_ms, w.end_ms)} · ` +
          `importance: ${impact.importance_source || "unknown"}`)));
    const ranking = impact.ranking;
    if (!ranking) {
      panel.appendChild(MM.empty("This window was analysed before the app ranked drift by impact."));
    } else if (!ranking.length) {
      panel.appendChild(h("p", { class: "muted", id: "top-culprit" }, "No feature drifted in the latest window."));
    } else {
      panel.appendChild(h("p", { id: "top-culprit" }, "Top culprit: ", h("b", {}, impact.top_culprit),
        h("span", { class: "muted" }, has(ranking[0].impact) ? " — the drifted feature with the largest drift × importance"
          : " — the most drifted feature (no importance known)")));
      const top = Math.max(...ranking.map((r) => (has(r.impact) ? r.impact : r.drift)), 1e-12);
      const bar = (v) => h("span", { class: "impact-bar", style: "display:inline-block;height:.6rem;" +
        `width:${Math.max(2, Math.round(120 * v / top))}px;background:#c53030;opacity:.75;border-radius:2px` });
      panel.appendChild(h("div", { class: "table-wrap" }, h("table", { class: "data", id: "impact-table" },
        h("thead", {}, h("tr", {}, ["Feature", "Drift", "Importance", "Impact", ""]
          .map((c, i) => h("th", { class: i && i < 4 ? "num" : null }, c)))),
        h("tbody", {}, ranking.map((r, i) => h("tr", { "data-feature": r.feature, class: "link",
          hidden: i >= SHOWN_RANKS, title: `show the histograms of ${r.feature}`, onclick: () => onFeature(r.feature) },
          h("td", {}, r.feature),
          h("td", { class: "num" }, MM.fmtNum(r.drift)),
          h("td", { class: "num" }, has(r.importance) ? MM.fmtNum(r.importance) : "—"),
          h("td", { class: "num" }, has(r.impact) ? MM.fmtNum(r.impact) : "—"),
          h("td", {}, bar(has(r.impact) ? r.impact : r.drift))))))));
      if (ranking.length > SHOWN_RANKS) {
        const more = h("button", { type: "button", id: "impact-more", onclick: () => {
          panel.querySelectorAll("#impact-table tbody tr[hidden]").forEach((tr) => tr.removeAttribute("hidden"));
          more.remove();
        } }, `Show all ${ranking.length} drifted features`);
        panel.appendChild(h("p", {}, more));
      }
    }
    if (impact.segments) panel.appendChild(segmentsTable(impact.segments));
    return panel;
  }

  /** The worst segments of the latest window: status, drifted share, rows, and each one's top culprit. */
  function segmentsTable(seg) {
    const by = (seg.segment_by || []).join(", ");
    const out = h("div", { id: "worst-segments", style: "margin-top:1rem" },
      h("h3", {}, `Worst segments by ${by || "segment"}`));
    if (seg.escalated_by_segment) {
      out.appendChild(h("p", { class: "warning" }, `Segment ${seg.escalated_by_segment} drifts though the whole ` +
        "window does not: drifted_features_share was raised to potential detection."));
    }
    if (seg.reason) out.appendChild(h("p", { class: "muted" }, seg.reason));
    if (!(seg.worst_segments || []).length) return out;
    out.appendChild(h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", {}, h("tr", {}, ["Segment", "Status", "Drifted share", "Window rows", "Reference rows", "Top culprit"]
        .map((c, i) => h("th", { class: i >= 2 && i <= 4 ? "num" : null }, c)))),
      h("tbody", {}, seg.worst_segments.map((s) => h("tr", { "data-segment": s.segment },
        h("td", {}, s.segment),
        h("td", {}, MM.badge(s.status)),
        h("td", { class: "num" }, has(s.value) ? MM.fmtPercent(s.value) : "—"),
        h("td", { class: "num" }, MM.fmtNum(s.n_window)),
        h("td", { class: "num" }, has(s.n_reference) ? MM.fmtNum(s.n_reference) : "—"),
        h("td", {}, s.top_culprit || (s.note ? h("span", { class: "muted" }, s.note) : "—"))))))));
    return out;
  }
})();
