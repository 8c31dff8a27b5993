/* The alerts table, shared by the alerts page (every endpoint) and the endpoint page (its own alerts). */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;

  /** Alerts newest first: window, (endpoint), app, result, value, active or resolved. */
  MM.alertsTable = function (alerts, withEndpoint) {
    const sorted = alerts.slice().sort((a, b) => (b.end_ms || 0) - (a.end_ms || 0));
    const active = (a) => (a.active === undefined ? null : a.active);
    return h("div", { class: "table-wrap" }, h("table", { class: "data alerts" },
      h("thead", {}, h("tr", {}, h("th", {}, "Window"), withEndpoint ? h("th", {}, "Endpoint") : null,
        h("th", {}, "App"), h("th", {}, "Result"), h("th", { class: "num" }, "Value"), h("th", {}, "State"))),
      h("tbody", {}, sorted.map((a) => h("tr", { "data-active": active(a) },
        h("td", {}, MM.fmtWindow(a.start_ms, a.end_ms)),
        withEndpoint ? h("td", {}, h("a", { href: `/endpoints/${encodeURIComponent(a.endpoint_id)}` },
          a.endpoint_name || a.endpoint || a.endpoint_id.slice(0, 8))) : null,
        h("td", {}, a.app_name || a.app), h("td", {}, a.result_name || a.result),
        h("td", { class: "num" }, MM.fmtNum(a.value)),
        h("td", {}, active(a) === null ? MM.badge(2) : active(a) ? MM.badge(2, "active") : MM.badge(-1, "resolved")))))));
  };
})();
