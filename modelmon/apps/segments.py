"""Segments: split a window (and its reference) by the values of ``segment_by`` columns, and rank them.

A problem confined to one slice of the traffic (one region, one device type) is diluted in the whole
window. Apps that accept ``segment_by=[columns]`` analyse each segment on its own, report the worst
few and escalate their status when a segment is worse than the whole. This module is the part they
share; it knows nothing of drift or performance.

- :func:`choose_segments` picks the segments once, from the reference when there is one: the
  ``max_segments`` most frequent value combinations; every other row (in the reference or in a later
  window, e.g. a value never seen before) falls in the segment ``"other"``. The number of segments,
  and so the work per window and the size of ``extra_data``, stays bounded whatever the cardinality.
- :meth:`Segmentation.split` cuts a window and the reference into :class:`Segment` pairs.
- :class:`SegmentReport` is one segment's outcome (a status and a value where higher is worse);
  :func:`worst_segments` orders them and :func:`escalated_status` raises the whole window's status.

Labels read ``"column=value"`` (``"region=eu, device=ios"`` for several columns). Values are compared
as text, with a whole float written as an integer (``3.0`` and ``3`` are the same segment, as a column
that gained a missing value reads back as floats) and a missing value as ``<missing>``.

>>> ref = pd.DataFrame({"region": ["eu"] * 5 + ["us"] * 3 + ["apac"] * 2, "x": range(10)})
>>> segmentation = choose_segments(ref, ["region"], max_segments=2)
>>> segmentation.labels
['region=eu', 'region=us']
>>> window = pd.DataFrame({"region": ["us", "latam", "eu"], "x": [1, 2, 3]})
>>> [(s.label, len(s.window), len(s.reference)) for s in segmentation.split(window, ref)]
[('region=eu', 1, 5), ('region=us', 1, 3), ('other', 1, 2)]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelmon.core.results import ResultStatusApp as Status

OTHER = "other"
MISSING = "<missing>"
#: Default bound on the named segments (``"other"`` comes on top).
MAX_SEGMENTS = 10


def check_segment_by(segment_by: object) -> list[str]:
    """``segment_by`` as a list of column names, else a ``ValueError`` saying what is wrong.

    A single column name is accepted for a list of one.
    """
    columns = [segment_by] if isinstance(segment_by, str) else segment_by
    if not isinstance(columns, list | tuple) or not columns \
            or not all(isinstance(c, str) and c for c in columns):
        raise ValueError(f"segment_by must be a non-empty list of column names, got {segment_by!r}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"segment_by names a column twice: {list(columns)!r}")
    return list(columns)


def _value_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def row_labels(frame: pd.DataFrame, segment_by: Sequence[str]) -> pd.Series:
    """Each row's full label (``"a=x, b=y"``) before any bound; ``ValueError`` naming missing columns."""
    missing = [c for c in segment_by if c not in frame.columns]
    if missing:
        raise ValueError(f"segment_by column(s) {missing} not in the data (it has {list(frame.columns)[:20]})")
    labels: pd.Series | None = None
    for column in segment_by:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        texts = np.array([f"{column}={_value_text(v)}" for v in uniques] + [f"{column}={MISSING}"], dtype=object)
        part = pd.Series(texts[codes], index=frame.index, dtype=object)  # code -1 (missing) picks the last
        labels = part if labels is None else labels + ", " + part
    assert labels is not None, "segment_by is never empty"
    return labels


@dataclasses.dataclass(frozen=True)
class Segment:
    """One segment's rows: of the window, and of the reference (``None`` when no reference was given)."""

    label: str
    window: pd.DataFrame
    reference: pd.DataFrame | None


@dataclasses.dataclass(frozen=True)
class Segmentation:
    """The chosen segments of ``segment_by``: ``labels`` in order (most frequent first), then ``"other"``."""

    segment_by: tuple[str, ...]
    labels: list[str]

    def assign(self, frame: pd.DataFrame) -> pd.Series:
        """Each row's segment label: one of ``labels``, or ``"other"``."""
        labels = row_labels(frame, self.segment_by)
        return labels.where(labels.isin(self.labels), OTHER)

    def split(self, window: pd.DataFrame, reference: pd.DataFrame | None = None) -> list[Segment]:
        """The window's (and reference's) rows per segment, in ``labels`` order, ``"other"`` last.

        Every chosen segment is listed, even with no window rows (its reference may have some);
        ``"other"`` only when it has rows on either side.
        """
        window_groups = _groups(window, self.assign(window))
        reference_groups = _groups(reference, self.assign(reference)) if reference is not None else {}
        segments = []
        for label in [*self.labels, OTHER]:
            rows = window_groups.get(label, window.iloc[:0])
            ref_rows = None if reference is None else reference_groups.get(label, reference.iloc[:0])
            if label == OTHER and not len(rows) and (ref_rows is None or not len(ref_rows)):
                continue
            segments.append(Segment(label, rows.reset_index(drop=True),
                                    None if ref_rows is None else ref_rows.reset_index(drop=True)))
        return segments


def _groups(frame: pd.DataFrame, labels: pd.Series) -> dict[str, pd.DataFrame]:
    return {str(label): rows for label, rows in frame.groupby(labels, sort=False)}


def choose_segments(frame: pd.DataFrame, segment_by: Sequence[str] | str, *,
                    max_segments: int = MAX_SEGMENTS) -> Segmentation:
    """The ``max_segments`` most frequent value combinations of ``segment_by`` in ``frame`` (ties by label).

    Choose them on the reference when there is one, so that segments mean the same in every window.
    """
    columns = check_segment_by(segment_by)
    if isinstance(max_segments, bool) or not isinstance(max_segments, int) or max_segments < 1:
        raise ValueError(f"max_segments must be a positive integer, got {max_segments!r}")
    counts = row_labels(frame, columns).value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return Segmentation(tuple(columns), [str(label) for label, _ in ordered[:max_segments]])


@dataclasses.dataclass(frozen=True)
class SegmentReport:
    """One segment's outcome.

    ``value`` is the app's figure for the segment, oriented so that higher is worse (a drift score, a
    drop in accuracy); NaN when not computed, with the reason in ``note``. ``details`` holds app-specific
    figures (JSON-able).
    """

    label: str
    status: Status
    value: float
    n_window: int
    n_reference: int | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for ``extra_data`` (NaN as ``None``)."""
        out: dict[str, Any] = {"segment": self.label, "status": int(self.status),
                               "value": None if math.isnan(self.value) else float(f"{self.value:.6g}"),
                               "n_window": self.n_window}
        if self.n_reference is not None:
            out["n_reference"] = self.n_reference
        if self.note:
            out["note"] = self.note
        return out | self.details


def worst_segments(reports: Iterable[SegmentReport], n: int) -> list[SegmentReport]:
    """The ``n`` worst segments: highest status first, then highest value (NaN last), then label."""
    def key(report: SegmentReport) -> tuple[int, float, str]:
        value = -math.inf if math.isnan(report.value) else report.value
        return -int(report.status), -value, report.label

    return sorted(reports, key=key)[: max(n, 0)]


def escalated_status(whole: Status, reports: Iterable[SegmentReport], *,
                     ceiling: Status = Status.potential_detection) -> Status:
    """The whole window's status raised to the worst segment's, but not above ``ceiling``.

    A segment that drifts while the whole does not is worth a look, not necessarily the alarm the
    whole would raise: by default it lifts the whole to ``potential_detection`` at most.
    """
    worst = max((r.status for r in reports), default=Status.irrelevant)
    return max(whole, min(worst, ceiling))
