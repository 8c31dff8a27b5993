/* The alerts page (GET /api/alerts): the active alerts of the project's alert configs, the history of their
   transitions, failed notifications, the configs, and the results the apps detected. ?endpoint= and ?since=
   pass to the API. */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;
  const plural = (n, word) => `${MM.fmtNum(n)} ${word}${n === 1 ? "" : "s"}`;

  MM.start(async (root) => {
    const query = MM.query();
    const body = await MM.api("/api/alerts", { since: query.since, endpoint: query.endpoint });
    const alerts = body.alerts || [];
    const configs = body.configs || [];
    const active = alerts.filter((a) => a.state === "active");
    const found = body.detections || { items: [] };
    MM.clear(root);
    root.appendChild(h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Alerts"),
      h("div", { class: "sub", id: "alert-counts" }, `${active.length} active, ${alerts.length - active.length} resolved`,
        " · ", configs.length ? plural(configs.length, "alert config") : "no alert config",
        query.endpoint ? [" · endpoint ", h("b", {}, query.endpoint), " (", h("a", { href: "/alerts" }, "all"), ")"] : null))));
    const failed = (body.deliveries || {}).failed || 0;
    if (failed) {
      root.appendChild(h("div", { class: "warning" }, `${plural(failed, "notification")} could not be sent: `,
        h("a", { href: "#deliveries" }, "see why")));
    }
    if (!configs.length && !alerts.length) root.appendChild(setup(body.project));
    else {
      root.append(
        h("section", { id: "active" }, h("h2", {}, "Active alerts"),
          active.length ? MM.activationsTable(active, { endpoint: true })
            : MM.empty("No active alert.", configs.length ? `Watching: ${configs.map((c) => c.name).join(", ")}.` : null)),
        h("section", { id: "history" }, h("h2", {}, "History"),
          h("p", { class: "muted" }, "Each time an alert fired, was resolved by a later window of its result, or was ",
            "reset by hand; newest first", body.history_total > (body.history || []).length
              ? ` (the latest ${body.history.length} of ${MM.fmtNum(body.history_total)})` : "", "."),
          (body.history || []).length ? MM.historyTable(body.history, true) : MM.empty("No alert has fired yet.")));
    }
    const failedItems = (body.deliveries || {}).failed_items || [];
    if (failedItems.length) root.appendChild(deliveries(failedItems));
    if (configs.length) root.appendChild(configTable(configs));
    root.appendChild(detections(found, configs.length > 0));
    root.dataset.ready = "true";
  });

  /** No config yet: what an alert config is and the two ways to store one. */
  function setup(project) {
    const yaml = ["name: drift", "severity: high", "trigger: {events: [data_drift_detected]}",
      "criteria: {count: 3, period: 30m}", "notifications: [{kind: webhook, url_env: MY_HOOK_URL}]"].join("\n");
    return h("section", { id: "setup" }, h("div", { class: "empty setup" },
      h("b", {}, `Project ${project} has no alert config yet.`),
      h("p", {}, "An alert config says which results raise an alert (here: data drift detected in 3 windows within ",
        "30 minutes) and where it is sent: webhook, Slack, email or the log. Write it to a file, drift.yaml:"),
      h("pre", { class: "snippet" }, yaml),
      h("p", {}, "and store it with the CLI, on the home that modelmon ui serves (--home):"),
      h("pre", { class: "snippet" }, `modelmon alerts add --file drift.yaml --project ${project}`),
      h("p", {}, "or from Python: ", h("code", {}, "project.store_alert_config({...})"), " with the same fields. ",
        "The alerts function evaluates every new window against it; ", h("code", {}, "modelmon alerts --help"),
        " lists, resets and deletes configs.")));
  }

  function deliveries(items) {
    const about = (d) => (d.alert ? [h("div", { class: "strong" }, `${d.alert.config}: ${d.alert.endpoint_name ||
      d.alert.endpoint_id} ${d.alert.result}`), h("div", { class: "note" }, `${d.alert.transition}, window ending `,
      MM.fmtTime(d.alert.window_end_ms))] : h("span", { class: "mono" }, d.key));
    return h("section", { id: "deliveries" }, h("h2", {}, "Failed notifications"),
      h("p", { class: "muted" }, "Given up after their retries; the alert itself is unaffected."),
      h("div", { class: "table-wrap" }, h("table", { class: "data alerts" },
        h("thead", {}, h("tr", {}, h("th", { style: "width:11rem" }, "Failed"), h("th", { style: "width:22rem" }, "Alert"),
          h("th", { style: "width:6rem" }, "Channel"), h("th", { class: "num", style: "width:6rem" }, "Attempts"),
          h("th", {}, "Error"))),
        h("tbody", {}, items.map((d) => h("tr", { title: d.key }, h("td", { class: "nowrap" }, MM.fmtTime(d.done_ms)),
          h("td", {}, about(d)), h("td", {}, d.channel), h("td", { class: "num" }, MM.fmtNum(d.attempts)),
          h("td", { class: "summary" }, d.error || "—")))))));
  }

  function configTable(configs) {
    return h("section", { id: "configs" }, h("h2", {}, "Alert configs"),
      h("div", { class: "table-wrap" }, h("table", { class: "data alerts" },
        h("thead", {}, h("tr", {}, h("th", { style: "width:9rem" }, "Name"), h("th", { style: "width:6.5rem" }, "Severity"),
          h("th", {}, "Events"), h("th", { style: "width:6rem" }, "Reset"), h("th", { style: "width:10rem" }, "Notifies"))),
        h("tbody", {}, configs.map((c) => h("tr", {}, h("td", { title: c.description || c.name }, c.name),
          h("td", {}, MM.severityBadge(c.severity)), h("td", { title: c.events.join(", ") }, c.events.join(", ")),
          h("td", {}, c.reset_policy), h("td", {}, c.notifications.join(", ") || "—")))))));
  }

  /** The writer's detected results: shown open without configs (they are then all there is), folded with. */
  function detections(found, folded) {
    const items = found.items || [];
    const table = items.length ? MM.detectionsTable(items, true)
      : MM.empty("No result was detected.", "A window whose app result is detected is listed here.");
    const about = h("p", { class: "muted" }, "Every window in which an app's result was detected, whether or not an ",
      "alert config watches it; current: still the result's latest window.");
    const summary = `${plural(found.total || 0, "detected result")}, ${MM.fmtNum(found.current || 0)} current`;
    return h("section", { id: "detections" }, h("h2", {}, "Detected results"),
      folded && items.length ? h("details", {}, h("summary", {}, summary), about, table) : [about, table]);
  }
})();
