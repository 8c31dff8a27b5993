/* The alerts table, shared by the alerts page (every endpoint) and the endpoint page (its own alerts). */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;

  /** Alerts newest first: window, (endpoint), app, result, value, active or past (the API's ``active``). */
  MM.alertsTable = function (alerts, withEndpoint) {
    const sorted = alerts.slice().sort((a, b) => (b.end_ms || 0) - (a.end_ms || 0));
    const active = (a) => (a.active === undefined ? null : a.active);
    return h("div", { class: "table-wrap" }, h("table", { class: "data alerts" },
      /* fixed column widths: the active and past tables of the alerts page line up */
      h("thead", {}, h("tr", {}, h("th", { style: "width:17rem" }, "Window"),
        withEndpoint ? h("th", { style: "width:13rem" }, "Endpoint") : null, h("th", { style: "width:13rem" }, "App"),
        h("th", {}, "Result"), h("th", { class: "num", style: "width:7rem" }, "Value"),
        h("th", { style: "width:7rem" }, "State"))),
      h("tbody", {}, sorted.map((a) => h("tr", { "data-active": active(a) },
        h("td", {}, MM.fmtWindow(a.start_ms, a.end_ms)),
        withEndpoint ? h("td", {}, h("a", { href: `/endpoints/${encodeURIComponent(a.endpoint_id)}` },
          a.endpoint_name || a.endpoint || a.endpoint_id.slice(0, 8))) : null,
        h("td", {}, a.app_name || a.app), h("td", {}, a.result_name || a.result),
        h("td", { class: "num" }, MM.fmtNum(a.value)),
        h("td", { title: active(a) ? "the result's latest window, still detected" : null },
          active(a) === null ? MM.badge(2) : active(a) ? MM.badge(2, "active") : MM.badge(-1, "past")))))));
  };
})();
