"""Statistics in the form MLRun gives apps: padded histograms, and ``dict_to_histogram``.

MLRun pads every numeric histogram of ``feature_stats`` with an empty bin on each side reaching to
``∓sys.float_info.max``, and counts the window (``sample_df_stats``) over those padded edges, so both
have the same number of bins and distance code can subtract them. The padding edges are the largest
finite floats, not infinities, so the statistics encode as strict JSON (``allow_nan=False``).

>>> pad_histogram([[2, 2], [0.0, 1.0, 2.0]])
[[0, 2, 2, 0], [-1.7976931348623157e+308, 0.0, 1.0, 2.0, 1.7976931348623157e+308]]
>>> pad_histogram([[1, 3, 0, 1], [-math.inf, 0.0, 1.0, 2.0, math.inf]])
[[1, 3, 0, 1], [-1.7976931348623157e+308, 0.0, 1.0, 2.0, 1.7976931348623157e+308]]
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

#: MLRun's padding edge: the largest finite float.
MAX_EDGE = sys.float_info.max

FeatureStats = dict[str, dict[str, Any]]


def pad_histogram(hist: Any) -> Any:
    """``[counts, edges]`` with MLRun's padding: an outer bin from ``-MAX_EDGE`` and one to ``+MAX_EDGE``.

    Already padded histograms keep their bins: infinite outer edges (modelmon's window histograms)
    become ``∓MAX_EDGE``, and an infinite bin outside a ``MAX_EDGE`` one is merged into it. Anything
    that is not a numeric ``[counts, edges]`` pair (an empty histogram) is returned as it is.
    """
    if not (isinstance(hist, list | tuple) and len(hist) == 2):
        return hist
    counts, edges = list(hist[0]), list(hist[1])
    if not counts or len(edges) != len(counts) + 1 or not all(_is_number(e) for e in edges):
        return hist
    # the lower side
    if edges[0] == -math.inf and len(edges) > 2 and edges[1] <= -MAX_EDGE:
        counts[1] += counts[0]
        counts, edges = counts[1:], edges[1:]
    if edges[0] == -math.inf or edges[0] <= -MAX_EDGE:
        edges[0] = -MAX_EDGE
    else:
        counts, edges = [0, *counts], [-MAX_EDGE, *edges]
    # the upper side
    if edges[-1] == math.inf and len(edges) > 2 and edges[-2] >= MAX_EDGE:
        counts[-2] += counts[-1]
        counts, edges = counts[:-1], edges[:-1]
    if edges[-1] == math.inf or edges[-1] >= MAX_EDGE:
        edges[-1] = MAX_EDGE
    else:
        counts, edges = [*counts, 0], [*edges, MAX_EDGE]
    return [counts, [float(e) for e in edges]]


def padded_stats(stats: Mapping[str, Any]) -> FeatureStats:
    """``feature_stats`` or ``sample_df_stats`` with every numeric histogram padded, in new dicts (the
    input is not changed; values other than the histograms are shared with it).

    Categorical histograms (entries with ``categories``) are over category slots, not numbers, and are
    the same length in both statistics already: they are kept as they are.
    """
    out: FeatureStats = {}
    for name, entry in stats.items():
        if isinstance(entry, Mapping):
            entry = dict(entry)
            if "hist" in entry and "categories" not in entry:
                entry["hist"] = pad_histogram(entry["hist"])
        out[name] = entry
    return out


def dict_to_histogram(histogram_dict: Mapping[str, Any]) -> pd.DataFrame:
    """MLRun's helper: one column per numeric feature, its histogram counts divided by its ``count``.

    The rows are the bins (22 for the default 20 bins and MLRun's padding). Categorical features, whose
    histograms have other lengths, are left out (MLRun's statistics have no categorical histograms);
    numeric ones of different lengths are aligned on the first bin, the shorter padded with NaN.
    """
    columns = {}
    for feature, stats in histogram_dict.items():
        if isinstance(stats, Mapping) and "hist" in stats and "categories" not in stats:
            with np.errstate(divide="ignore", invalid="ignore"):
                columns[feature] = pd.Series(np.asarray(stats["hist"][0], dtype=float) / (stats.get("count") or 0))
    return pd.DataFrame(columns)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
