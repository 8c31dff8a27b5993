"""Per-segment references for ``histogram-data-drift``'s ``segment_by``.

A segment's window is compared with the *same segment* of the reference, not with the whole
reference: segments differ from each other by nature (one region buys more than another), and
comparing a segment with the whole would flag that difference in every window. Each segment's
reference is its reference rows counted over the endpoint reference's bins, so that the distances
mean the same as the whole window's.

Looking at ``k`` segments makes ``k`` chances of a chance flag, so each segment's noise threshold is
the null quantile at ``1 - (1 - q) / k`` instead of ``q`` (Bonferroni over segments), simulated with
enough draws for that quantile.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from modelmon.apps.segments import Segment, Segmentation, choose_segments
from modelmon.stats import Reference, reference_for, sample_df_stats

#: Endpoint references whose segment references are kept (an app may serve several endpoints).
_KEPT_ENDPOINTS = 8
#: Draws are raised so that the corrected quantile sits at least this many draws from the top.
_TAIL_DRAWS = 10
_MAX_DRAWS = 20_000


class SegmentReferences:
    """The segments chosen on the reference rows, and each segment's :class:`Reference` per endpoint."""

    def __init__(self, reference_rows: pd.DataFrame, segment_by: Sequence[str], *, max_segments: int) -> None:
        self.segmentation: Segmentation = choose_segments(reference_rows, segment_by, max_segments=max_segments)
        empty = reference_rows.iloc[:0]
        self._rows = {s.label: s.reference for s in self.segmentation.split(empty, reference_rows)
                      if s.reference is not None}
        self._built: collections.OrderedDict[int, tuple[Reference, dict[str, Reference]]] = \
            collections.OrderedDict()

    def rows(self, label: str) -> int:
        """The number of reference rows of segment ``label``."""
        part = self._rows.get(label)
        return 0 if part is None else len(part)

    def references(self, feature_stats: Mapping[str, Any]) -> dict[str, Reference]:
        """Each segment's reference over the bins of the endpoint's ``feature_stats`` (built once per endpoint).

        The segment columns themselves are left out: within a segment they are constant by construction.
        """
        whole = reference_for(feature_stats)
        kept = self._built.get(id(whole))
        if kept is not None and kept[0] is whole:
            self._built.move_to_end(id(whole))
            return kept[1]
        segment_columns = set(self.segmentation.segment_by)
        stats = {name: entry for name, entry in feature_stats.items() if name not in segment_columns}
        built = {label: Reference(sample_df_stats(rows, stats)) for label, rows in self._rows.items()}
        self._built[id(whole)] = (whole, built)
        while len(self._built) > _KEPT_ENDPOINTS:
            self._built.popitem(last=False)
        return built

    def split(self, window: pd.DataFrame) -> list[Segment]:
        """The window's rows per segment (``reference`` left ``None``: see :meth:`references`)."""
        return self.segmentation.split(window)


def corrected_null(quantile: float | None, draws: int, segments: int) -> tuple[float | None, int]:
    """The per-segment null quantile and draws for ``segments`` segments (see the module docstring).

    >>> corrected_null(0.99, 1000, 5)
    (0.998, 5000)
    """
    if quantile is None or segments <= 1:
        return quantile, draws
    corrected = 1.0 - (1.0 - quantile) / segments
    needed = math.ceil(_TAIL_DRAWS / (1.0 - corrected) - 1e-9)
    return float(f"{corrected:.12g}"), min(max(draws, needed), _MAX_DRAWS)
