/* The alert tables, shared by the alerts page (every endpoint) and the endpoint page (its own): activations of
   alert configs, their history of transitions, and the writer's detected results. */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;
  const SEVERITY = { high: 2, medium: 1, low: -1 }; /* coloured as the statuses: red, amber, grey */
  const TRANSITION = { fired: 2, resolved: 0, reset: -1 };

  MM.severityBadge = function (severity) {
    const status = SEVERITY[severity];
    return h("span", { class: `badge ${status === undefined ? "snone" : "s" + status}`, title: "severity" },
      severity || "—");
  };
  /** An activation's state: active (red) or resolved (green). */
  MM.stateBadge = function (state) {
    return h("span", { class: `badge ${state === "active" ? "s2" : "s0"}` }, state);
  };
  MM.transitionBadge = function (transition) {
    const title = { fired: "the alert turned active", resolved: "a later window of the result resolved it",
      reset: "reset by hand" }[transition];
    return h("span", { class: `badge s${TRANSITION[transition] === undefined ? -1 : TRANSITION[transition]}`, title },
      transition);
  };

  const endpointLink = (a) => h("a", { href: `/endpoints/${encodeURIComponent(a.endpoint_id)}` },
    a.endpoint_name || String(a.endpoint_id || "").slice(0, 8));
  /* the result, with its app under it (both may be long: a cell of two lines rather than one cut short) */
  const appResult = (a) => [h("div", { class: "strong", title: a.result }, a.result),
    h("div", { class: "note", title: `app ${a.app}` }, a.app)];
  const when = (ms) => [MM.fmtTime(ms), h("div", { class: "note" }, MM.fmtAgo(ms))];

  /** Activations: (state), severity, config, (endpoint), app / result, summary, since (the last change), fired. */
  MM.activationsTable = function (alerts, opts) {
    const o = opts || {};
    const col = (width, text, cls) => h("th", { style: width ? `width:${width}` : null, class: cls || null }, text);
    return h("div", { class: "table-wrap" }, h("table", { class: "data alerts activations" },
      h("thead", {}, h("tr", {}, o.state ? col("6.5rem", "State") : null, col("6.5rem", "Severity"),
        col("9rem", "Config"), o.endpoint ? col("10rem", "Endpoint") : null, col("14rem", "Result / app"),
        col(null, "Summary"), col("11.5rem", o.state ? "Changed" : "Since"), col("4.5rem", "Fired", "num"))),
      h("tbody", {}, alerts.map((a) => h("tr", { "data-state": a.state, "data-key": a.key },
        o.state ? h("td", {}, MM.stateBadge(a.state)) : null,
        h("td", {}, MM.severityBadge(a.severity)),
        h("td", { title: a.config }, a.config),
        o.endpoint ? h("td", {}, endpointLink(a)) : null,
        h("td", {}, appResult(a)),
        h("td", { class: "summary", title: `${a.summary}\nwindow ${MM.fmtWindow(a.window_start_ms, a.window_end_ms)}` },
          a.summary || "—"),
        h("td", { class: "nowrap" }, when(a.changed_ms)),
        h("td", { class: "num", title: "how many times it fired" }, MM.fmtNum(a.activations)))))));
  };

  /** Where a transition's notification went: each channel and its delivery state. */
  function delivered(row) {
    const items = row.deliveries || [];
    if (!items.length) return h("span", { class: "muted", title: row.transition === "reset"
      ? "a manual reset notifies nobody" : "no channel, or no longer in the outbox" }, "—");
    return items.map((d) => h("span", { class: `delivery ${d.state}`, title: d.error || `${d.attempts} attempt(s)` },
      `${d.channel} ${d.state}`));
  }

  /** Transitions newest first: time, fired / resolved / reset, severity, config, (endpoint), app / result,
      window, value, notified. */
  MM.historyTable = function (rows, withEndpoint) {
    const col = (width, text, cls) => h("th", { style: width ? `width:${width}` : null, class: cls || null }, text);
    return h("div", { class: "table-wrap" }, h("table", { class: "data alerts history" },
      h("thead", {}, h("tr", {}, col("11rem", "Time"), col("6.5rem", "Transition"), col("6.5rem", "Severity"),
        col("9rem", "Config"), withEndpoint ? col("10rem", "Endpoint") : null, col(null, "Result / app"),
        col("11rem", "Window end"), col("6rem", "Value", "num"), col("10rem", "Notified"))),
      h("tbody", {}, rows.map((r) => h("tr", { "data-transition": r.transition },
        h("td", { class: "nowrap" }, MM.fmtTime(r.time_ms)),
        h("td", {}, MM.transitionBadge(r.transition)),
        h("td", {}, MM.severityBadge(r.severity)),
        h("td", { title: r.config }, r.config),
        withEndpoint ? h("td", {}, endpointLink(r)) : null,
        h("td", {}, appResult(r)),
        h("td", { class: "nowrap" }, r.window_end_ms === null ? h("span", { class: "muted" }, "—")
          : MM.fmtTime(r.window_end_ms)),
        h("td", { class: "num" }, MM.fmtNum(r.value)),
        h("td", {}, delivered(r)))))));
  };

  /** The writer's detected results newest first: window, (endpoint), app, result, value, current or past. */
  MM.detectionsTable = function (items, withEndpoint) {
    const sorted = items.slice().sort((a, b) => (b.end_ms || 0) - (a.end_ms || 0));
    return h("div", { class: "table-wrap" }, h("table", { class: "data alerts detections" },
      h("thead", {}, h("tr", {}, h("th", { style: "width:17rem" }, "Window"),
        withEndpoint ? h("th", { style: "width:13rem" }, "Endpoint") : null, h("th", { style: "width:13rem" }, "App"),
        h("th", {}, "Result"), h("th", { class: "num", style: "width:7rem" }, "Value"),
        h("th", { style: "width:7rem" }, "Now"))),
      h("tbody", {}, sorted.map((d) => h("tr", { "data-current": d.current },
        h("td", {}, MM.fmtWindow(d.start_ms, d.end_ms)),
        withEndpoint ? h("td", {}, endpointLink(d)) : null,
        h("td", {}, d.app), h("td", {}, d.result),
        h("td", { class: "num" }, MM.fmtNum(d.value)),
        h("td", { title: d.current ? "the result's latest window, still detected" : "a later window was analysed" },
          d.current ? MM.badge(2, "current") : MM.badge(-1, "past")))))));
  };
})();
