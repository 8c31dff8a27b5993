"""The endpoint page's "drift by impact": the histogram app's latest ranking, top culprit and worst segments.

Read from the latest-results items the endpoint object already loads (``drifted_features_share`` holds
``impact_ranking``, ``importance_source`` and ``top_culprit``; ``segment_drift``, when the app has
``segment_by``, the worst segments), so it costs no extra read. Windows written before the ranking
existed have none of these keys: the section then says so instead of showing an empty table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

DRIFTED_SHARE = "drifted_features_share"  # modelmon.apps.builtin.histogram_drift's result names
SEGMENT_DRIFT = "segment_drift"


def _window(item: Mapping[str, Any]) -> dict[str, int | None]:
    def ms(key: str) -> int | None:
        value = item.get(key)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    return {"start_ms": ms("start_ms"), "end_ms": ms("end_ms")}


def drift_impact(latest: Mapping[tuple[str, str], Mapping[str, Any]], apps: Sequence[str]) -> dict[str, Any] | None:
    """``{app, window, status, top_culprit, importance_source, ranking, segments}`` of the first of ``apps``
    (the histogram app's names) with a latest ``drifted_features_share``; ``None`` without one.

    ``ranking`` is ``None`` when that window predates the ranking; ``segments`` is ``None`` without
    ``segment_drift``, else ``{status, segment_by, worst_segment, worst_segments, escalated_by_segment}``.
    """
    app = next((a for a in apps if (a, DRIFTED_SHARE) in latest), None)
    if app is None:
        return None
    item = latest[(app, DRIFTED_SHARE)]
    extra = item.get("extra_data") or {}
    ranking = extra.get("impact_ranking")
    out: dict[str, Any] = {
        "app": app, "window": _window(item), "status": item.get("status"),
        "top_culprit": extra.get("top_culprit"), "importance_source": extra.get("importance_source"),
        "ranking": ranking if isinstance(ranking, list) else None, "segments": None,
    }
    segment = latest.get((app, SEGMENT_DRIFT))
    if segment is not None:
        seg_extra = segment.get("extra_data") or {}
        worst = seg_extra.get("worst_segments")
        out["segments"] = {"status": segment.get("status"), "window": _window(segment),
                           "segment_by": seg_extra.get("segment_by"), "worst_segment": seg_extra.get("worst_segment"),
                           "worst_segments": worst if isinstance(worst, list) else [],
                           "reason": seg_extra.get("reason"),
                           "escalated_by_segment": extra.get("escalated_by_segment")}
    return out
