/* modelmon ui: what every page shares — building elements, formatting, statuses and fetching the API.
   Plain scripts (no modules, no build step) so the offline report can inline them as they are. */
(function () {
  "use strict";
  const MM = (window.MM = window.MM || {});

  /* What the server put in the page (page name, project, the endpoint's id, ...). */
  const configEl = document.getElementById("mm-config");
  MM.config = configEl ? JSON.parse(configEl.textContent) : {};

  /* Statuses as modelmon.core.results.ResultStatusApp numbers them. */
  MM.STATUS = {
    "-1": { name: "irrelevant", label: "irrelevant" },
    0: { name: "no_detection", label: "no detection" },
    1: { name: "potential_detection", label: "potential" },
    2: { name: "detected", label: "detected" },
  };
  MM.STATUS_ORDER = [2, 1, 0, -1];

  /** An element: h("a", {href: "/", class: "x"}, "text", child, [more]). Text is never parsed as HTML. */
  MM.h = function (tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(el.dataset, value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    MM.append(el, children);
    return el;
  };
  MM.append = function (el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  };
  MM.clear = function (el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  };

  MM.statusOf = function (status) {
    return status === null || status === undefined ? null : MM.STATUS[status] || null;
  };
  /** A coloured badge for a status number; null/undefined reads "no results". */
  MM.badge = function (status, text) {
    const meta = MM.statusOf(status);
    return MM.h("span", { class: "badge " + (meta ? "s" + status : "snone"), title: meta ? meta.name : "no results" },
      text || (meta ? meta.label : "no results"));
  };

  /* Time: every time on the pages is UTC, written the same way. */
  const pad = (n) => String(n).padStart(2, "0");
  MM.fmtTime = function (ms, withSeconds) {
    if (ms === null || ms === undefined) return "—";
    const d = new Date(ms);
    const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` + (withSeconds ? `:${pad(d.getUTCSeconds())}` : "");
    return `${day} ${time}`;
  };
  /** "2026-11-30 19:40–19:50 UTC" (the end's date only when it differs). */
  MM.fmtWindow = function (startMs, endMs) {
    if (startMs === null || startMs === undefined) return "—";
    const start = MM.fmtTime(startMs);
    const end = MM.fmtTime(endMs);
    return `${start}–${end.slice(0, 10) === start.slice(0, 10) ? end.slice(11) : end} UTC`;
  };
  MM.fmtAgo = function (ms, nowMs) {
    if (ms === null || ms === undefined) return "";
    const s = Math.round(((nowMs || Date.now()) - ms) / 1000);
    if (s < 0) return "in the future";
    if (s < 90) return `${s}s ago`;
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    if (s < 172800) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} days ago`;
  };

  /* Numbers: 4 significant digits, thousands separated, no exponent for ordinary magnitudes. */
  MM.fmtNum = function (v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "—";
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e9)) return v.toExponential(2);
    if (Number.isInteger(v) && a < 1e9) return v.toLocaleString("en-US");
    return v.toLocaleString("en-US", { maximumSignificantDigits: digits || 4 });
  };
  MM.fmtPercent = function (v) {
    return v === null || v === undefined ? "—" : `${MM.fmtNum(v * 100, 3)}%`;
  };
  /** Microseconds as ms (or s), the unit a person reads latency in. */
  MM.fmtLatency = function (us) {
    if (us === null || us === undefined) return "—";
    if (us >= 1e6) return `${MM.fmtNum(us / 1e6, 3)} s`;
    return `${MM.fmtNum(us / 1000, 3)} ms`;
  };

  /* The API: JSON over same-origin fetch (the access-token cookie travels with it). Errors carry the
     server's own message ({"error": ...}) so the page can show it. */
  MM.api = async function (path, params) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
    }
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (err) {
      throw new Error(`cannot reach the modelmon ui server (${err.message}); is 'modelmon ui' still running?`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      const why = body && body.error ? body.error : `${response.status} ${response.statusText}`;
      const error = new Error(why);
      error.status = response.status;
      throw error;
    }
    return body;
  };

  /** Show an error in place of ``el``'s content (pages never fail silently). */
  MM.showError = function (el, err, what) {
    MM.clear(el).appendChild(MM.h("div", { class: "error", role: "alert" },
      what ? `${what}: ` : "", err && err.message ? err.message : String(err)));
    if (window.console && err && !err.status) console.warn(err); // eslint-disable-line no-console
  };
  MM.empty = function (text, hint) {
    return MM.h("div", { class: "empty" }, text, hint ? MM.h("div", { class: "note" }, hint) : null);
  };

  /* The page's query string as state: read it, and rewrite it without reloading. */
  MM.query = function () {
    return Object.fromEntries(new URLSearchParams(window.location.search));
  };
  MM.setQuery = function (state, defaults) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(state)) {
      if (value !== null && value !== undefined && value !== "" && String(value) !== String((defaults || {})[key])) {
        params.set(key, value);
      }
    }
    const qs = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : ""));
  };

  /** The Alerts navigation link appears once there is something to show (an alert config, an alert or a detected
      result), with the number of active alerts. */
  MM.showAlertsLink = async function () {
    const link = document.getElementById("nav-alerts");
    if (!link || MM.REPORT) return;
    try {
      const body = await MM.api("/api/alerts");
      const any = (body.configs || []).length || (body.alerts || []).length || ((body.detections || {}).total || 0);
      if (!any && !link.classList.contains("current")) return;
      if (body.active) link.appendChild(MM.h("span", { class: "count", title: "active alerts" }, body.active));
      link.hidden = false;
    } catch (err) {
      /* the alerts link is a convenience; the page itself reports API errors */
    }
  };

  /** Run ``render`` once the page is parsed; an exception is shown on the page, not only in the console. */
  MM.start = function (render) {
    const run = () => {
      const root = document.getElementById("page");
      Promise.resolve()
        .then(() => render(root))
        .catch((err) => MM.showError(root, err));
      MM.showAlertsLink();
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
    else run();
  };
})();
