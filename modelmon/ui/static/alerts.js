/* The alerts page: detected results of every endpoint, the active ones first (GET /api/alerts). */
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
      h("div", { class: "sub" }, `${active.length} active, ${past.length} past — an alert is a result that reached 'detected'`))));
    if (!alerts.length) {
      root.appendChild(MM.empty("No alerts.", "Alerts are raised when an app's result is detected for a window."));
    }
    if (active.length) root.append(h("section", { id: "active" }, h("h2", {}, "Active"), MM.alertsTable(active, true)));
    if (past.length) root.append(h("section", { id: "past" }, h("h2", {}, "Past"), MM.alertsTable(past, true)));
    root.dataset.ready = "true";
  });
})();
