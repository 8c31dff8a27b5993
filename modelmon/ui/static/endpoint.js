/* The endpoint page: results over time with thresholds, metrics, per-feature drift, traffic, data quality and
   alerts of one endpoint. The same code draws the offline report, fed from embedded data instead of the API. */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;
  const C = MM.charts;
  /* Windows ending in the last ...; no ``since`` is the API's default, the last 7 days (of the latest data). */
  const PRESETS = [["1h", "1 hour"], ["6h", "6 hours"], ["1d", "24 hours"], ["", "7 days"], ["30d", "30 days"]];
  const COLORS = ["#2456a6", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b"];

  /** The data of the served endpoint, through the JSON API. */
  MM.apiSource = function (ref) {
    const base = `/api/endpoints/${encodeURIComponent(ref)}`;
    return {
      live: true,
      endpoint: (range) => MM.api(base, range),
      histogram: (startMs, feature, endMs) => MM.api(`${base}/histograms`, { start_ms: startMs, end_ms: endMs, feature }),
    };
  };

  /** Draw the page into ``root`` from ``source`` ({live, endpoint(range), histogram(start, feature)}). */
  MM.renderEndpoint = async function (root, source) {
    const range = { since: MM.query().since || "", until: MM.query().until || "" };
    const head = h("div", { class: "page-head", id: "endpoint-head" });
    const sections = {};
    for (const [id, title] of [["results", "Results"], ["estimation", "Estimated performance"], ["drift", "Feature drift"],
      ["metrics", "Metrics"], ["traffic", "Traffic"], ["quality", "Data quality"], ["alerts", "Alerts"]]) {
      sections[id] = h("section", { id }, h("h2", {}, title), h("div", { class: "loading" }, "Loading…"));
    }
    const nav = h("nav", { class: "section-nav", "aria-label": "sections" },
      Object.entries(sections).map(([id, s]) => h("a", { href: `#${id}` }, s.firstChild.textContent)));
    MM.clear(root);
    MM.append(root, [head, nav, Object.values(sections)]);

    let loads = 0;
    async function load() {
      let body;
      try {
        body = await source.endpoint(range);
      } catch (err) {
        MM.showError(sections.results, err, "Could not load the endpoint");
        for (const id of ["estimation", "drift", "metrics", "traffic", "quality", "alerts"]) MM.clear(sections[id]);
        return;
      }
      renderHead(head, body, source, range, (next) => {
        Object.assign(range, next);
        if (source.live) MM.setQuery(range, { since: "", until: "" });
        load();
      });
      const xRange = timeRange(body);
      renderResults(sections.results, body, xRange);
      MM.performanceEstimation(sections.estimation, body.performance_estimation, xRange);
      MM.featureDrift(sections.drift, body.feature_drift, source);
      renderMetrics(sections.metrics, body.metrics || [], xRange);
      const traffic = body.traffic || {};
      renderTraffic(sections.traffic, traffic.points || [], traffic.step_ms, traffic.covered);
      renderQuality(sections.quality, body.data_quality);
      renderAlerts(sections.alerts, body.alerts || [], body.detections || []);
      root.dataset.loads = String(++loads); // each drawn range counts (tests wait for the next one)
      root.dataset.ready = "true";
    }
    await load();
  };

  /** The span every result and metric chart shares, so that their windows line up. */
  function timeRange(body) {
    const ends = (body.windows || []).map((w) => w.end_ms);
    if (!ends.length) return null;
    return [Math.min(...ends), Math.max(...ends)];
  }

  function renderHead(head, body, source, range, onRange) {
    const e = body.endpoint;
    MM.clear(head);
    const windows = body.windows || [];
    const w = windows.length ? windows[windows.length - 1] : null;
    const r = body.range;
    head.appendChild(h("div", {},
      h("h1", {}, e.name, " ", MM.badge(e.drift_status)),
      h("div", { class: "facts" },
        h("span", {}, "model ", h("b", {}, e.model || "—"), e.model_version ? ` version ${e.model_version}` : ""),
        h("span", {}, "id ", h("b", { class: "mono" }, e.endpoint_id)),
        h("span", {}, "latest window ", h("b", {}, w ? MM.fmtWindow(w.start_ms, w.end_ms) : "none in this range"))),
      h("div", { class: "facts", id: "window-count" },
        h("span", {}, h("b", {}, MM.fmtNum(windows.length)), ` analysed window${windows.length === 1 ? "" : "s"}`,
          r ? ` ending ${MM.fmtTime(r.since_ms)} – ${MM.fmtTime(r.until_ms)} UTC` : ""))));
    head.appendChild(source.live ? rangePicker(range, onRange) : h("div", { class: "muted" }, source.note || ""));
  }

  /** Presets and free since/until (30m, 2h, 1d, epoch ms or an ISO time, as the CLI takes them). */
  function rangePicker(range, onRange) {
    const since = h("input", { type: "text", id: "since", value: range.since, placeholder: "2h, 1d or ISO time",
      "aria-label": "since" });
    const until = h("input", { type: "text", id: "until", value: range.until, placeholder: "now",
      "aria-label": "until" });
    return h("form", { class: "range", id: "range", onsubmit: (event) => {
      event.preventDefault();
      onRange({ since: since.value.trim(), until: until.value.trim() });
    } },
    h("span", { class: "presets" }, PRESETS.map(([value, label]) => h("button", { type: "button",
      class: range.since === value && !range.until ? "active" : null, "data-since": value,
      onclick: () => onRange({ since: value, until: "" }) }, label))),
    h("label", {}, "from"), since, h("label", {}, "to"), until, h("button", { type: "submit", class: "primary" }, "Apply"));
  }

  function renderResults(section, body, xRange) {
    MM.clear(section).appendChild(h("h2", {}, "Results"));
    const results = body.results || [];
    if (!results.length) {
      section.appendChild(MM.empty("No results yet: apps analyse closed windows every base period.",
        "Windows close once traffic past their end arrives; 'modelmon status' shows each app's pending windows."));
      return;
    }
    const grid = h("div", { class: "grid2" });
    section.appendChild(grid);
    /* drift first (data, concept), then model and system performance, then anomalies; by app and name */
    const ordered = results.slice().sort((a, b) => (a.kind - b.kind) || a.app.localeCompare(b.app) ||
      a.result.localeCompare(b.result));
    const has = (v) => v !== null && v !== undefined;
    for (const r of ordered) {
      /* microseconds (latency_p99_us, ...) are drawn in ms, the unit a person reads latency in */
      const scale = /_us$/.test(r.result) ? 1e-3 : 1;
      const unit = scale === 1 ? "" : " ms";
      const fmt = (v) => `${MM.fmtNum(v)}${unit}`;
      const points = r.points.map((p) => ({ t: p.end_ms, start: p.start_ms, v: has(p.value) ? p.value * scale : p.value,
        status: p.status }));
      const last = points[points.length - 1];
      const chart = h("div", { class: "result-chart", "data-app": r.app, "data-result": r.result });
      const th = r.thresholds && { potential: has(r.thresholds.potential) ? r.thresholds.potential * scale : null,
        detected: has(r.thresholds.detected) ? r.thresholds.detected * scale : null };
      const legend = [{ label: unit ? "value (ms)" : "value", color: "#5f6b7a" }];
      if (th && has(th.potential)) legend.push({ label: `potential ${fmt(th.potential)}`, color: "#e8a33d", kind: "dash" });
      if (th && has(th.detected)) legend.push({ label: `detected ${fmt(th.detected)}`, color: "#c53030", kind: "dash" });
      grid.appendChild(h("div", { class: "panel" },
        h("div", { class: "panel-head" }, h("h3", {}, r.result),
          h("span", { class: "sub" }, `${r.app} · ${r.kind_name || "result"}`, " ", last ? MM.badge(last.status) : null)),
        C.legend(legend.concat(MM.STATUS_ORDER.filter((s) => points.some((p) => p.status === s))
          .map((s) => ({ label: MM.STATUS[s].label, kind: "dot", cls: "s" + s })))),
        chart));
      if (points.length) {
        C.lineChart(chart, { series: [{ name: r.result, color: "#5f6b7a", points }], thresholds: th,
          statusPoints: true, xRange, label: `${r.app} ${r.result} over time`, format: fmt });
      } else {
        chart.appendChild(MM.empty("No window in this time range."));
      }
    }
  }

  function renderMetrics(section, metrics, xRange) {
    MM.clear(section).appendChild(h("h2", {}, "Metrics"));
    if (!metrics.length) {
      section.appendChild(MM.empty("No metrics in this time range.",
        "Apps may report metrics (numbers without a status) next to their results; none did here."));
      return;
    }
    const grid = h("div", { class: "grid2" });
    section.appendChild(grid);
    metrics.forEach((m, i) => {
      const points = m.points.map((p) => ({ t: p.end_ms, start: p.start_ms, v: p.value }));
      const chart = h("div", { class: "metric-chart", "data-app": m.app, "data-metric": m.metric });
      grid.appendChild(h("div", { class: "panel" },
        h("div", { class: "panel-head" }, h("h3", {}, m.metric), h("span", { class: "sub" }, m.app)), chart));
      C.lineChart(chart, { series: [{ name: m.metric, color: COLORS[i % COLORS.length], points }], xRange, height: 180 });
    });
  }

  const MINUTE = 60e3;
  const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * MINUTE);

  /** Traffic of ``source`` ms steps (a minute, or longer when the API summed a long span) in buckets of
      whole steps, so that a chart has at most ``most`` points: requests and errors as per-minute averages,
      latency averaged over the requests, its max the bucket's max. A rate is averaged over the minutes of
      its bucket that ``covered`` (the API's first to last minute with traffic) holds: a bucket that traffic
      starts or ends inside is not diluted by the minutes before or after it. */
  function bucketed(points, source, most, covered) {
    const span = covered ? covered.end_ms - covered.start_ms
      : points.length ? points[points.length - 1].time_ms - points[0].time_ms + source : 0;
    const nice = NICE_STEPS.filter((s) => s >= source && s % source === 0);
    const step = nice.find((s) => span / s <= most) || source * Math.max(1, Math.ceil(span / source / most));
    const out = new Map();
    for (const p of points) {
      const t = Math.floor(p.time_ms / step) * step;
      const b = out.get(t) || { time_ms: t, requests: 0, errors: 0, latencySum: 0, latency_max_us: null };
      b.requests += p.requests || 0;
      b.errors += p.errors || 0;
      b.latencySum += (p.latency_avg_us || 0) * (p.requests || 0);
      if (p.latency_max_us !== null && p.latency_max_us !== undefined) b.latency_max_us = Math.max(b.latency_max_us ?? 0, p.latency_max_us);
      out.set(t, b);
    }
    const minutes = (t) => {
      const lo = covered ? Math.max(t, covered.start_ms) : t;
      const hi = covered ? Math.min(t + step, covered.end_ms) : t + step;
      return Math.max(1, (hi - lo) / MINUTE);
    };
    return { step, points: [...out.values()].map((b) => ({ time_ms: b.time_ms, requests: b.requests / minutes(b.time_ms),
      errors: b.errors / minutes(b.time_ms), latency_avg_us: b.requests ? b.latencySum / b.requests : null,
      latency_max_us: b.latency_max_us })) };
  }

  function renderTraffic(section, raw, stepMs, covered) {
    MM.clear(section).appendChild(h("h2", {}, "Traffic"));
    if (!raw.length) {
      section.appendChild(MM.empty("No predictions in this time range.",
        "A tracked model server (or batch inference) records every prediction's time, latency and errors."));
      return;
    }
    const { step, points } = bucketed(raw, stepMs || MINUTE, 240, covered);
    const over = step > MINUTE ? `averaged over ${step % 3600e3 === 0 ? `${step / 3600e3} h` : `${step / MINUTE} min`}` : "";
    const series = (key, scale) => points.filter((p) => p[key] !== null && p[key] !== undefined)
      .map((p) => ({ t: p.time_ms, v: p[key] * (scale || 1) }));
    const charts = [
      ["Predictions per minute", "predictions-chart", [{ name: "predictions/min", color: "#2456a6", points: series("requests") }], true],
      ["Errors per minute", "errors-chart", [{ name: "errors/min", color: "#c53030", points: series("errors") }], true],
      ["Latency (ms)", "latency-chart", [{ name: "average", color: "#2f855a", points: series("latency_avg_us", 1e-3) },
        { name: "max", color: "#c05621", points: series("latency_max_us", 1e-3), dash: "4 3" }], false],
    ];
    const grid = h("div", { class: "grid2" });
    section.appendChild(grid);
    for (const [title, id, s, area] of charts) {
      const chart = h("div", { id });
      grid.appendChild(h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("h3", {}, title),
        h("span", { class: "sub" }, over)),
        s.length > 1 ? C.legend(s.map((x) => ({ label: x.name, color: x.color, kind: x.dash ? "dash" : "line" }))) : null,
        chart));
      if (s[0].points.length) C.lineChart(chart, { series: s, area, height: 180 });
      else chart.appendChild(MM.empty("None recorded."));
    }
  }

  const SHARE = /(_rate|_share)$/;

  /** The data-quality app's latest checks: the worst feature's figure, its status, the flagged features,
      and every reported feature's figure on demand. */
  function renderQuality(section, quality) {
    MM.clear(section).appendChild(h("h2", {}, "Data quality"));
    if (!quality || !quality.length) {
      section.appendChild(MM.empty("No data-quality figures.",
        "Register the data-quality app to count missing values, out-of-range values and unseen categories per window."));
      return;
    }
    const fmt = (result, v) => (SHARE.test(result) ? MM.fmtPercent(v) : MM.fmtNum(v));
    section.appendChild(h("div", { class: "table-wrap" }, h("table", { class: "data", id: "quality-table" },
      h("thead", {}, h("tr", {}, ["Check", "Worst", "Status", "Worst feature", "Flagged features", "Window", "Per feature"]
        .map((c, i) => h("th", { class: i === 1 ? "num" : null }, c)))),
      h("tbody", {}, quality.map((q) => {
        const features = Object.entries(q.features || {});
        return h("tr", { "data-result": q.result },
          h("td", { class: "nowrap" }, h("b", {}, q.result.replace(/_/g, " ")), h("div", { class: "muted" }, q.app)),
          h("td", { class: "num" }, fmt(q.result, q.value)),
          h("td", {}, MM.badge(q.status)),
          h("td", {}, q.worst_feature || (q.reason ? h("span", { class: "muted" }, q.reason) : "—")),
          h("td", {}, (q.flagged_features || []).join(", ") || "none"),
          h("td", { class: "nowrap" }, MM.fmtWindow(q.start_ms, q.end_ms)),
          h("td", { class: "nowrap" }, features.length ? h("details", {}, h("summary", {}, `${features.length} feature${features.length === 1 ? "" : "s"}`),
            h("dl", { class: "measures" }, features.map(([f, v]) => [h("dt", {}, f),
              h("dd", {}, typeof v === "number" ? fmt(q.result, v) : JSON.stringify(v))]))) : "—"));
      })))));
  }

  /** The endpoint's alerts (every activation, whatever the range) and the results detected in the range. */
  function renderAlerts(section, alerts, detections) {
    MM.clear(section).appendChild(h("h2", {}, "Alerts"));
    if (alerts.length) section.appendChild(MM.activationsTable(alerts, { state: true }));
    else {
      section.appendChild(MM.empty("No alert for this endpoint.",
        "Alerts come from alert configs (modelmon alerts add --file FILE; the alerts page says how)."));
    }
    const about = `${detections.length} detected result${detections.length === 1 ? "" : "s"} in this range`;
    if (detections.length) {
      section.appendChild(h("details", { id: "detections" }, h("summary", {}, about),
        MM.detectionsTable(detections, false)));
    } else section.appendChild(h("p", { class: "note" }, "No result was detected in this range."));
  }

  if (MM.config.page === "endpoint") MM.start((root) => MM.renderEndpoint(root, MM.apiSource(MM.config.endpoint_id)));
})();
