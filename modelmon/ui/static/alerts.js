/* The alerts page: detected results of every endpoint, the active ones first (GET /api/alerts). */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;

  MM.start(async (root) => {
    const body = await MM.api("/api/alerts", { since: MM.query().since });
    const alerts = body.alerts || [];
    /* active: the result's latest window is still detected (when the API says so) */
    const active = alerts.filter((a) => a.active === true);
    const past = alerts.filter((a) => a.active !== true);
    const split = alerts.some((a) => a.active !== undefined);
    MM.clear(root);
    root.appendChild(h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Alerts"),
      h("div", { class: "sub" }, split ? `${active.length} active, ${past.length} past` : `${alerts.length} alerts`,
        " — an alert is raised for every window in which a result was detected"))));
    if (!alerts.length) {
      root.appendChild(MM.empty("No alerts.", "Alerts are raised when an app's result is detected for a window."));
    } else if (split) {
      if (active.length) root.append(h("section", { id: "active" }, h("h2", {}, "Active"), MM.alertsTable(active, true)));
      if (past.length) root.append(h("section", { id: "past" }, h("h2", {}, "Past"), MM.alertsTable(past, true)));
    } else {
      root.append(h("section", { id: "all" }, MM.alertsTable(alerts, true)));
    }
    root.dataset.ready = "true";
  });
})();
