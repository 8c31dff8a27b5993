"""Where ``histogram-data-drift`` gets the importances it ranks drifted features by.

Given by the user (``feature_importance``), or estimated from the reference rows (``reference_data``) as
each feature's mutual information with the prediction (:mod:`modelmon.stats.importance`), once per
feature set since the rows do not change. Either way scaled so that the most important feature has 1,
and returned with a sentence saying where they come from (``importance_source`` in ``extra_data``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from modelmon.stats.importance import check_importance, mutual_information, normalised


class FeatureImportance:
    """Importances for an app: ``given`` wins over estimating them from ``reference_rows``.

    :param given: ``{feature: importance}`` (non-negative numbers, any scale) or ``None``.
    :param reference_rows: the reference rows, with the prediction column, or ``None``.
    :param prediction_column: the column to estimate against; default the first of the endpoint's
        ``label_names`` in the rows, else ``prediction``.
    """

    def __init__(self, given: Mapping[str, float] | None, reference_rows: pd.DataFrame | None,
                 prediction_column: str | None) -> None:
        self.given = None if given is None else normalised(check_importance(given))
        if prediction_column is not None and (not isinstance(prediction_column, str) or not prediction_column):
            raise ValueError(f"prediction_column must be a column name, got {prediction_column!r}")
        self.prediction_column = prediction_column
        self._rows = reference_rows
        self._estimated: dict[tuple[tuple[str, ...], str], tuple[dict[str, float], str]] = {}

    def of(self, features: Sequence[str], label_names: Sequence[str]) -> tuple[dict[str, float], str]:
        """Importances of ``features`` (an endpoint's reference features) and where they come from."""
        if self.given is not None:
            return self.given, "given"
        rows = self._rows
        if rows is None:
            return {}, "none (give feature_importance= or reference_data=)"
        target = self.prediction_column or next((n for n in label_names if n in rows.columns), "prediction")
        if target not in rows.columns:
            return {}, f"none (the reference rows have no prediction column {target!r})"
        key = (tuple(features), target)
        if key not in self._estimated:
            mi = mutual_information(rows, [n for n in features if n != target], target)
            self._estimated[key] = (normalised(mi),
                                    f"mutual information with {target!r} on {len(rows)} reference rows")
        return self._estimated[key]
