"""Statistics of a window over the reference's bins: what ``MonitoringApplicationContext.sample_df_stats`` is.

For each feature of the reference that the window has, the window's summary statistics (as in
:func:`~modelmon.stats.feature_stats`) and its histogram over the reference's slots:

- numeric: ``hist: [[under, counts…, over], [-inf, edges…, inf]]``, MLRun's padded form, where
  ``under``/``over`` count the values below/above the reference range;
- categorical: ``hist: [[counts…, other], [0…k+1]]`` over the reference's ``categories``.

NaN values are not in the histogram; ``nan_count`` has them.

>>> from modelmon.stats import feature_stats
>>> ref = feature_stats(pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}), bins=3)
>>> sample_df_stats(pd.DataFrame({"x": [-1.0, 0.5, 2.5, 9.0, None]}), ref)["x"]["hist"]
[[1, 1, 0, 1, 1], [-inf, 0.0, 1.0, 2.0, 3.0, inf]]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from modelmon.stats.feature_stats import summary
from modelmon.stats.reference import as_float, reference_for


def sample_df_stats(sample_df: pd.DataFrame, feature_stats: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The window's statistics over the reference's bins (see the module docstring)."""
    reference = reference_for(feature_stats)
    window = reference.histograms(sample_df)
    stats: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(reference.names):
        if not window.present[i]:
            continue
        counts = window.counts[i, : reference.n_slots[i]].tolist()
        edges, categories = reference.edges[i], reference.categories[i]
        if edges is not None:  # numeric
            entry = summary(np.asarray(as_float(sample_df[name]), dtype=np.float64))
            entry["hist"] = [counts, [-np.inf, *edges.tolist(), np.inf]]
        else:
            assert categories is not None, "a reference feature has either edges or categories"
            values = sample_df[name].dropna().astype(str)
            top = values.value_counts()
            entry = {"count": int(values.size), "unique": int(top.size),
                     "top": str(top.index[0]) if top.size else None, "freq": int(top.iloc[0]) if top.size else None,
                     "categories": list(categories),
                     "hist": [counts, list(range(len(counts) + 1))]}
        entry["nan_count"] = int(window.nan_counts[i])
        stats[name] = entry
    return stats
