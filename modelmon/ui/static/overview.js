/* The overview page: every endpoint of the project, one row each, sorted, filtered and paged by the API
   (GET /api/overview) so that thousands of endpoints cost one page of rows. */
(function () {
  "use strict";
  const MM = window.MM;
  const h = MM.h;
  const DEFAULTS = { q: "", status: "", sort: "drift_status", order: "desc", page: 1, per_page: 50 };
  const COLUMNS = [
    { key: "name", label: "Endpoint" },
    { key: "model", label: "Model" },
    { key: "drift_status", label: "Drift status", hint: "the worst status among the results of the latest window" },
    { key: null, label: "Last analysed window" },
    { key: "requests_per_min", label: "Requests/min", num: true, hint: "over the 15 minutes before now" },
    { key: "error_rate", label: "Error rate", num: true, hint: "errors / (requests + errors) over the 15 minutes before now; — without traffic" },
    { key: "latency_p99_us", label: "Latency p99", num: true, hint: "the system-performance app's latest window" },
    { key: null, label: "Drift (recent windows)" },
  ];
  /* Status filter choices: the API's status names (an endpoint without results is irrelevant). */
  const FILTERS = [["detected", 2], ["potential_detection", 1], ["no_detection", 0], ["irrelevant", -1]];

  MM.start(async (root) => {
    const state = Object.assign({}, DEFAULTS, MM.query());
    state.page = Number(state.page) || 1;
    state.per_page = Number(state.per_page) || DEFAULTS.per_page;
    const head = h("div", { class: "page-head" });
    const chips = h("div", { class: "chips", id: "status-counts" });
    const search = h("input", { type: "search", id: "filter", placeholder: "Filter by name, model or id",
      value: state.q, "aria-label": "filter endpoints" });
    const statusSelect = h("select", { id: "status-filter", "aria-label": "drift status" },
      h("option", { value: "" }, "any status"),
      FILTERS.map(([name, s]) => h("option", { value: name, selected: state.status === name }, MM.STATUS[s].label)));
    const perPage = h("select", { id: "per-page", "aria-label": "rows per page" },
      [25, 50, 100, 200].map((n) => h("option", { value: n, selected: n === state.per_page }, `${n} per page`)));
    const table = h("div", { class: "table-wrap" });
    const pager = h("div", { class: "pager", id: "pager" });
    MM.clear(root);
    MM.append(root, [head, h("div", { class: "counts" }, chips),
      h("div", { class: "toolbar" }, search, statusSelect, h("span", { class: "grow" }), perPage), table, pager]);

    let seq = 0;
    async function load() {
      const mine = ++seq;
      MM.setQuery(state, DEFAULTS);
      let body;
      try {
        body = await MM.api("/api/overview", state);
      } catch (err) {
        MM.showError(table, err, "Could not load the endpoints");
        return;
      }
      if (mine !== seq) return; // a newer request (typing in the filter) superseded this one
      renderHead(head, body);
      renderChips(chips, body, state, (name) => {
        state.status = state.status === name ? "" : name;
        statusSelect.value = state.status;
        state.page = 1;
        load();
      });
      renderTable(table, body, state, (key) => {
        if (state.sort === key) state.order = state.order === "asc" ? "desc" : "asc";
        else Object.assign(state, { sort: key, order: key === "name" || key === "model" ? "asc" : "desc" });
        state.page = 1;
        load();
      });
      renderPager(pager, body, (page) => {
        state.page = page;
        load();
      });
      root.dataset.loads = String(mine); // each drawn answer counts (tests wait for the next one)
      root.dataset.ready = "true";
    }

    const update = (changes) => {
      Object.assign(state, changes, { page: 1 });
      load();
    };
    let typing = null;
    search.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => update({ q: search.value.trim() }), 200);
    });
    statusSelect.addEventListener("change", () => update({ status: statusSelect.value }));
    perPage.addEventListener("change", () => update({ per_page: Number(perPage.value) }));
    await load();
  });

  function renderHead(head, body) {
    MM.clear(head);
    MM.append(head, [h("div", {}, h("h1", {}, "Endpoints"),
      h("div", { class: "sub" }, `${MM.fmtNum(body.total)} endpoint${body.total === 1 ? "" : "s"} in project ${body.project}`))]);
  }

  /** One chip per status with its count over the whole project (not just this page); a click filters. */
  function renderChips(chips, body, state, onPick) {
    MM.clear(chips);
    const counts = body.statuses || {};
    for (const [name, s] of FILTERS) {
      const n = counts[name] || 0;
      if (!n && state.status !== name) continue;
      chips.appendChild(h("button", { class: "chip" + (state.status === name ? " active" : ""), type: "button",
        "data-status": name, title: `show only ${name} endpoints (click again for all)`, onclick: () => onPick(name) },
        h("span", { class: "dot s" + s }), MM.STATUS[s].label, h("b", {}, MM.fmtNum(n))));
    }
  }

  function renderTable(wrap, body, state, onSort) {
    MM.clear(wrap);
    if (!body.endpoints.length) {
      wrap.appendChild(body.total === 0 && !state.q && !state.status
        ? MM.empty(`Project ${body.project} has no endpoints yet.`,
          "Endpoints appear when a tracked model server sends its first predictions (or when one is registered).")
        : MM.empty("No endpoint matches these filters.", "Clear the text filter or pick another status."));
      return;
    }
    /* the sparklines' result, named in their header when every row shows the same one (general_drift may
       be potential while the endpoint is detected by another result: the header says which is drawn) */
    const drawn = new Set(body.endpoints.map((e) => (e.sparkline_result ? e.sparkline_result.result : "")));
    const sparkLabel = drawn.size === 1 && !drawn.has("") ? `${[...drawn][0]} (recent windows)` : null;
    const headRow = h("tr", {}, COLUMNS.map((col, i) => {
      const sorted = col.key && state.sort === col.key;
      const label = i === COLUMNS.length - 1 && sparkLabel ? sparkLabel : col.label;
      return h("th", { class: (col.num ? "num " : "") + (col.key ? "sortable" : ""), "data-sort": col.key,
        "aria-sort": sorted ? (state.order === "asc" ? "ascending" : "descending") : null,
        title: [col.hint, col.key ? `click to sort by ${col.label.toLowerCase()}` : null].filter(Boolean).join("; ") || null,
        onclick: col.key ? () => onSort(col.key) : null },
      label, sorted ? h("span", { class: "arrow" }, state.order === "asc" ? "▲" : "▼") : null);
    }));
    const rows = body.endpoints.map((e) => row(e));
    wrap.appendChild(h("table", { class: "data", id: "endpoints" }, h("thead", {}, headRow), h("tbody", {}, rows)));
    rows.forEach((tr, i) => {
      const e = body.endpoints[i];
      const points = (e.sparkline || []).map((p) => ({ t: p.end_ms, v: p.value, status: p.status }));
      MM.charts.sparkline(tr.querySelector(".spark-cell"), points, { name: e.sparkline_result ? e.sparkline_result.result : "drift" });
    });
  }

  function row(e) {
    const href = `/endpoints/${encodeURIComponent(e.endpoint_id)}`;
    const w = e.last_window;
    return h("tr", { class: "link", "data-endpoint": e.endpoint_id,
      onclick: (event) => { if (!event.target.closest("a")) window.location.href = href; } },
    h("td", {}, h("a", { href }, e.name), h("div", { class: "muted mono" }, e.endpoint_id.slice(0, 8))),
    h("td", {}, e.model || "—", e.model_version ? h("span", { class: "muted" }, ` ${e.model_version}`) : null),
    h("td", {}, MM.badge(e.drift_status)),
    h("td", { title: w ? MM.fmtWindow(w.start_ms, w.end_ms) : "no window analysed yet" },
      w ? MM.fmtWindow(w.start_ms, w.end_ms).replace(" UTC", "") : "—",
      w ? h("div", { class: "muted" }, MM.fmtAgo(w.end_ms)) : null),
    h("td", { class: "num" }, MM.fmtNum(e.requests_per_min)),
    h("td", { class: "num" }, MM.fmtPercent(e.error_rate)),
    h("td", { class: "num" }, MM.fmtLatency(e.latency_p99_us)),
    h("td", { class: "spark-cell" }));
  }

  function renderPager(pager, body, go) {
    MM.clear(pager);
    const pages = Math.max(1, Math.ceil(body.total / body.per_page));
    const from = body.total ? (body.page - 1) * body.per_page + 1 : 0;
    const to = Math.min(body.total, body.page * body.per_page);
    MM.append(pager, [
      h("span", {}, `${MM.fmtNum(from)}–${MM.fmtNum(to)} of ${MM.fmtNum(body.total)}`),
      h("button", { type: "button", id: "prev", disabled: body.page <= 1, onclick: () => go(body.page - 1) }, "‹ Previous"),
      h("span", { id: "page-of" }, `page ${body.page} of ${pages}`),
      h("button", { type: "button", id: "next", disabled: body.page >= pages, onclick: () => go(body.page + 1) }, "Next ›"),
    ]);
  }
})();
