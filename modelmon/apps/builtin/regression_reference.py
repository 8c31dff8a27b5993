"""The labelled reference of ``performance-estimation`` for a regressor: a model of its loss (DLE).

The loss model (:class:`~modelmon.stats.dle.LossModel`) reads the numeric inputs and the prediction
itself: where a regressor errs usually depends on both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from modelmon.apps.sdk.context import META_COLUMNS
from modelmon.core.arrays import FloatArray
from modelmon.stats.dle import LossModel


@dataclasses.dataclass(frozen=True)
class RegressionReference:
    """The loss model and what the reference's labels gave."""

    prediction: str
    label: str
    features: list[str]  #: the model's inputs the loss model reads (the prediction comes last)
    model: LossModel
    metrics: dict[str, float | None]  #: realized MAE and RMSE on the reference
    rows: int

    def inputs(self, rows: pd.DataFrame) -> FloatArray:
        """The loss model's inputs for ``rows``."""
        return loss_inputs(rows, self.features, self.prediction)


def loss_inputs(rows: pd.DataFrame, features: Sequence[str], prediction: str) -> FloatArray:
    """The features (a column the rows lack as missing values) and the prediction, as numbers."""
    columns = [pd.to_numeric(rows[c], errors="coerce") if c in rows.columns else pd.Series(np.nan, index=rows.index)
               for c in features]
    columns.append(pd.to_numeric(rows[prediction], errors="coerce"))
    return np.column_stack([c.to_numpy(dtype=np.float64) for c in columns])


def realized_errors(truth: FloatArray, prediction: FloatArray) -> dict[str, float | None]:
    """MAE and RMSE of the labelled rows."""
    if not truth.size:
        return {"mae": None, "rmse": None}
    error = truth - prediction
    return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error**2)))}


def prepare_regression_reference(reference: pd.DataFrame, *, prediction: str | None, label: str,
                                 features: Sequence[str] | None) -> RegressionReference:
    """The loss model fitted on the reference's rows with a prediction and a label; ``ValueError`` naming
    what is missing."""
    prediction = prediction or "prediction"
    missing = [c for c in (prediction, label) if c not in reference.columns]
    if missing:
        raise ValueError(f"reference_data has no column {missing} (it has {list(reference.columns)[:20]}); "
                         "set prediction_column / label_column")
    if features is None:
        skip = {prediction, label, *META_COLUMNS}
        features = [c for c in reference.columns if c not in skip and pd.api.types.is_numeric_dtype(reference[c])
                    and not pd.api.types.is_bool_dtype(reference[c])]
    else:
        absent = [c for c in features if c not in reference.columns]
        if absent:
            raise ValueError(f"feature_columns {absent} are not in reference_data")
    truth = pd.to_numeric(reference[label], errors="coerce")
    predicted = pd.to_numeric(reference[prediction], errors="coerce")
    keep = truth.notna() & predicted.notna()
    if keep.sum() < 20:
        raise ValueError(f"reference_data has {int(keep.sum())} rows with a numeric prediction and label; need 20")
    rows = reference[keep].reset_index(drop=True)
    y, y_hat = truth[keep].to_numpy(dtype=np.float64), predicted[keep].to_numpy(dtype=np.float64)
    model = LossModel.fit(loss_inputs(rows, features, prediction), y - y_hat)
    return RegressionReference(prediction, label, list(features), model, realized_errors(y, y_hat), len(rows))
