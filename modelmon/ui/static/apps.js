/* The apps page: registered apps with their function's state and lag, windows analysed/pending/failed, the
   failures with their tracebacks, and the service's functions (GET /api/apps: `modelmon status --json`). */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;

  const stateBadge = (state) => MM.badge(state === "running" ? 0 : state ? 2 : -1, state || "no function");
  const isoWindow = (w) => (w ? MM.fmtWindow(Date.parse(w.start), Date.parse(w.end)) : "—");

  MM.start(async (root) => {
    const body = await MM.api("/api/apps");
    const functions = body.functions || [];
    const apps = body.apps || [];
    const byName = Object.fromEntries(functions.map((f) => [f.name, f]));
    MM.clear(root);
    const service = body.service;
    root.appendChild(h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Apps"),
      h("div", { class: "sub" }, `${apps.length} registered app${apps.length === 1 ? "" : "s"}`,
        service ? [" · service ", service.running ? "running" : "not running"] : ""))));
    for (const warning of body.warnings || []) root.appendChild(h("div", { class: "warning" }, warning));
    if (!apps.length) {
      root.appendChild(MM.empty("No monitoring apps registered.",
        "Register one with the SDK (project.set_model_monitoring_function) or enable the built-in apps; " +
        "apps analyse every closed window of every endpoint."));
    } else {
      root.appendChild(h("section", { id: "apps" }, h("div", { class: "table-wrap" }, appsTable(apps, byName))));
      for (const app of apps) if ((app.failures_24h || []).length) root.appendChild(failures(app));
    }
    root.appendChild(h("section", { id: "functions" }, h("h2", {}, "Functions of the local service"),
      functions.length ? h("div", { class: "table-wrap" }, functionsTable(functions))
        : MM.empty("No function is running.", "Start the local service with 'modelmon up' (the demo starts its own).")));
    root.dataset.ready = "true";
  });

  function appsTable(apps, byName) {
    return h("table", { class: "data", id: "apps-table" },
      h("thead", {}, h("tr", {}, ["App", "Function", "Lag", "Analysed", "Pending", "Failed", "Oldest → newest window",
        "Failures (24 h)"].map((c, i) => h("th", { class: i >= 2 && i <= 5 || i === 7 ? "num" : null }, c)))),
      h("tbody", {}, apps.map((a) => {
        const fn = a.function ? byName[a.function] : null;
        return h("tr", { "data-app": a.name },
          h("td", {}, h("b", {}, a.name), a.enabled === false ? h("span", { class: "muted" }, " (disabled)") : null,
            h("div", { class: "muted mono" }, a.class_path)),
          h("td", {}, stateBadge(fn ? fn.state : null), a.function ? h("div", { class: "muted" }, a.function) : null),
          h("td", { class: "num", title: "records not yet consumed from the app's stream" }, fn ? MM.fmtNum(fn.lag) : "—"),
          h("td", { class: "num" }, MM.fmtNum(a.windows_analysed)),
          h("td", { class: "num", title: "queued or not dispatched yet" }, MM.fmtNum(a.windows_pending)),
          h("td", { class: "num" }, a.windows_failed ? h("span", { style: "color:var(--bad)" }, MM.fmtNum(a.windows_failed)) : "0"),
          h("td", { class: "nowrap" }, isoWindow(a.oldest_window), h("div", { class: "muted" }, isoWindow(a.newest_window))),
          h("td", { class: "num" }, a.failures_24h_total ? h("a", { href: `#failures-${a.name}` }, MM.fmtNum(a.failures_24h_total)) : "0"));
      })));
  }

  /** An app's failures of the last 24 h; each one's traceback opens on click. */
  function failures(app) {
    const listed = app.failures_24h.length;
    return h("section", { id: `failures-${app.name}` },
      h("h2", {}, `Failures of ${app.name}`),
      listed < app.failures_24h_total ? h("div", { class: "note" }, `the newest ${listed} of ${app.failures_24h_total}`) : null,
      h("div", { class: "panel" }, app.failures_24h.map((f) => h("details", { class: "failure" },
        h("summary", {}, h("b", {}, f.error_type || "error"), ": ", f.message, " ",
          h("span", { class: "muted" }, `— ${f.endpoint || f.endpoint_id} · window ${isoWindow(f.window)}`,
            f.location ? ` · ${f.location}` : "")),
        f.traceback ? h("pre", { class: "trace" }, f.traceback)
          : h("div", { class: "note" }, "No traceback recorded (the failure was not an exception raised by the app).")))));
  }

  function functionsTable(functions) {
    return h("table", { class: "data", id: "functions-table" },
      h("thead", {}, h("tr", {}, ["Function", "Role", "State", "Uptime", "Restarts", "Lag", "Last error"]
        .map((c, i) => h("th", { class: i === 4 || i === 5 ? "num" : null }, c)))),
      h("tbody", {}, functions.map((f) => h("tr", {},
        h("td", {}, h("b", {}, f.name)), h("td", {}, f.role), h("td", {}, stateBadge(f.state)),
        h("td", {}, f.uptime_s === null || f.uptime_s === undefined ? "—" : duration(f.uptime_s)),
        h("td", { class: "num" }, MM.fmtNum(f.restarts)),
        h("td", { class: "num" }, f.lag === null || f.lag === undefined ? "—" : MM.fmtNum(f.lag)),
        h("td", { class: "muted" }, f.last_error || "")))));
  }

  function duration(seconds) {
    if (seconds < 90) return `${Math.round(seconds)} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
    return `${(seconds / 86400).toFixed(1)} days`;
  }
})();
