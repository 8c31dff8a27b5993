"""The one-file HTML report of an endpoint (``modelmon report``): the endpoint page, offline.

The file holds the page's stylesheet and scripts and the endpoint API's object for the chosen range
(:func:`modelmon.ui.endpoint.endpoint_detail`, called in-process), gzip-compressed and base64-encoded:
30 days of 10-minute windows × 12 results is about 4 MB of JSON but a few hundred KB compressed. The
browser inflates it with its own ``DecompressionStream``; nothing is fetched when the file is opened.
Without a server to ask, the report embeds the histograms of the latest window's most drifted features.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import re
from typing import Any

import orjson
from markupsafe import Markup

from modelmon import __version__
from modelmon.core.timeutil import iso
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import DRIFT_STATUS_END, EndpointStore
from modelmon.ui.context import UIContext
from modelmon.ui.endpoint import DEFAULT_MEASURE, endpoint_detail, find_endpoint
from modelmon.ui.histograms import feature_histograms
from modelmon.ui.pages import CHART_SCRIPTS, PAGE_SCRIPTS, STATIC_DIR, environment

DAY_MS = 86_400_000
#: Without ``since``, a report covers the 30 days up to ``until`` (default: the endpoint's latest data).
REPORT_RANGE_MS = 30 * DAY_MS
#: Histograms embedded: the latest window's drifted features, most drifted first (else its top features).
MAX_HISTOGRAMS = 6
REPORT_SCRIPTS = (*CHART_SCRIPTS, *PAGE_SCRIPTS["endpoint"], "report.js")
_CLOSING_TAG = re.compile(r"</(script|style)", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Report:
    """A built report: the HTML and what it shows."""

    html: str
    endpoint: ModelEndpoint
    since_ms: int
    until_ms: int
    windows: int
    results: int
    histograms: int

    @property
    def size(self) -> int:
        """Bytes of the file (UTF-8)."""
        return len(self.html.encode())


def build_report(context: UIContext, ref: str, since_ms: int | None = None, until_ms: int | None = None,
                 measure: str = DEFAULT_MEASURE) -> Report:
    """The report of endpoint ``ref`` (id, id prefix or name) for windows ending in ``[since_ms, until_ms)``."""
    endpoint = find_endpoint(context, ref)
    if until_ms is None:
        until_ms = _latest_data_ms(context, endpoint) + 1
    if since_ms is None:  # 30 days, from the first request when that is later
        first = endpoint.first_request_ms
        since_ms = max(until_ms - REPORT_RANGE_MS, first // 60_000 * 60_000 if isinstance(first, int) else 0)
    if since_ms >= until_ms:
        raise ValueError(f"--since {iso(since_ms)} is not before --until {iso(until_ms)}")
    detail = endpoint_detail(context, endpoint, since_ms, until_ms, measure)
    histograms = _top_histograms(context, endpoint, detail.get("feature_drift"))
    now = context.now_ms()
    payload = {"endpoint": detail, "histograms": histograms, "generated_ms": now, "version": __version__,
               "range": f"windows ending {iso(since_ms)[:16]} – {iso(until_ms)[:16]}".replace("T", " ")}
    html = render(endpoint.name or endpoint.endpoint_id, context.project, payload)
    return Report(html, endpoint, since_ms, until_ms, len(detail["windows"]), len(detail["results"]),
                  len(histograms))


def render(title: str, project: str, payload: dict[str, Any]) -> str:
    """The HTML file: the page template with the stylesheet, the scripts and ``payload`` inlined."""
    data = base64.b64encode(gzip.compress(orjson.dumps(payload), compresslevel=6, mtime=0)).decode("ascii")
    return environment().get_template("report.html").render(
        page="report", title=f"{title} · report", project=project, config={"page": "report", "project": project},
        inline={"css": _inline(STATIC_DIR / "modelmon.css"), "js": _inline(*(STATIC_DIR / n for n in REPORT_SCRIPTS))},
        scripts=[], data=data, encoding="gzip+base64")


def _inline(*files: Any) -> Markup:
    """The text of ``files`` for a ``<script>``/``<style>`` element (refused if it would close the element)."""
    text = "\n".join(f.read_text(encoding="utf-8") for f in files)
    if _CLOSING_TAG.search(text):
        raise ValueError("an inlined asset contains a closing </script> or </style> tag")
    return Markup(text)  # our own files, checked above: not user input


def _latest_data_ms(context: UIContext, endpoint: ModelEndpoint) -> int:
    """The end of the endpoint's latest analysed window or its last request, whichever is later (now if none)."""
    item = EndpointStore(context.backend.kv, context.project).item(endpoint.endpoint_id) or {}
    times = [v for v in (item.get(DRIFT_STATUS_END), endpoint.last_request_ms) if isinstance(v, int)]
    return max(times, default=context.now_ms())


def _top_histograms(context: UIContext, endpoint: ModelEndpoint,
                    drift: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``{"<start_ms>|<feature>": histograms}`` of the latest window's most drifted features."""
    if not drift or not drift["windows"] or not drift["features"]:
        return {}
    window = drift["windows"][-1]
    last = [(row[-1] if row else None, bool(flags[-1]) if flags else False)
            for row, flags in zip(drift["values"], drift["drifted"], strict=True)]
    ranked = sorted(range(len(drift["features"])), key=lambda i: (not last[i][1], -(last[i][0] or 0.0)))
    drifted = [i for i in ranked if last[i][1]]
    chosen = (drifted or ranked)[:MAX_HISTOGRAMS]
    out = {}
    for i in chosen:
        feature = drift["features"][i]
        try:
            out[f"{window['start_ms']}|{feature}"] = feature_histograms(
                context, endpoint, window["start_ms"], window["end_ms"], feature)
        except (ValueError, LookupError):  # not in the reference (or no reference): the page says so
            continue
    return out
