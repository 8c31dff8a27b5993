/* The alerts page: detected results of every endpoint (GET /api/alerts), the active ones apart from the past. */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;

  MM.start(async (root) => {
    const body = await MM.api("/api/alerts", { since: MM.query().since });
    const alerts = body.alerts || [];
    const active = alerts.filter((a) => a.active === true);
    const past = alerts.filter((a) => a.active !== true);
    MM.clear(root);
    root.appendChild(h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Alerts"),
      h("div", { class: "sub" }, `${active.length} active, ${past.length} past`,
        " — an alert is raised for every window in which an app's result was detected"))));
    if (!alerts.length) {
      root.appendChild(MM.empty("No alerts.", "Alerts are raised when an app's result is detected for a window."));
      root.dataset.ready = "true";
      return;
    }
    root.append(h("section", { id: "active" }, h("h2", {}, "Active"),
      h("p", { class: "muted" }, "The result's latest analysed window is detected: the problem is current."),
      active.length ? MM.alertsTable(active, true)
        : MM.empty("No active alert.", "Every result that was detected has been analysed again since without it.")));
    if (past.length) {
      root.append(h("section", { id: "past" }, h("h2", {}, "Past"),
        h("p", { class: "muted" }, "Windows before the result's latest one, or results no longer detected."),
        MM.alertsTable(past, true)));
    }
    root.dataset.ready = "true";
  });
})();
