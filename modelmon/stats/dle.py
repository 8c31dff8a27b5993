"""Direct loss estimation (DLE) of a regressor on rows without labels: a model of the loss, fitted on a
labelled reference, predicts each row's expected absolute and squared error from its inputs and prediction.

The model is additive over the numeric inputs, each a linear spline with knots at its reference quantiles
(a ridge fit of hinge functions; a missing value has its own indicator): it needs no third-party learner,
fits in milliseconds, continues linearly beyond the reference's range and gives the uncertainty of its own
coefficients. Per window, ``E|e|`` and ``E[e²]`` average into the estimated MAE and RMSE; the band
adds the spread of the realized loss around its expectation (``Var|e| = E[e²] − E|e|²``; ``Var e²`` from the
reference's kurtosis) and the coefficients' uncertainty. Valid while ``P(error | inputs)`` is what the
reference says (covariate shift, not concept drift), and only for what an additive model can follow.

>>> rng = np.random.default_rng(0)
>>> x = rng.normal(0, 1, (5000, 1))
>>> model = LossModel.fit(x, rng.normal(0, 1 + np.abs(x[:, 0])))  # larger errors away from 0
>>> window = rng.normal(1.5, 0.5, (1000, 1))  # shifted towards larger errors
>>> realized = np.mean(np.abs(rng.normal(0, 1 + np.abs(window[:, 0]))))
>>> mae = model.estimate(window)["mae"]
>>> round(mae.value, 2), round(float(realized), 2), [round(v, 2) for v in mae.band(1.96)]
(1.97, 1.99, [1.86, 2.08])
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import numpy.typing as npt

from modelmon.core.arrays import FloatArray, IntArray
from modelmon.stats.cbpe import Estimate

METRICS = ("mae", "rmse")


def _knots(column: FloatArray, knots: int) -> FloatArray:
    values = column[np.isfinite(column)]
    if not values.size:
        return np.empty(0)
    inner: FloatArray = np.unique(np.quantile(values, np.linspace(0, 1, knots + 2)[1:-1]))
    return inner


@dataclasses.dataclass(frozen=True)
class LossModel:
    """Additive models of ``|e|`` and ``e²`` over binned inputs (see the module docstring)."""

    knots: list[FloatArray]  #: the spline's knots of each input (standardised)
    centers: FloatArray  #: each input's reference median (stands for a missing value) ...
    scales: FloatArray  #: ... and standard deviation (inputs are standardised)
    offsets: IntArray  #: first design column of each input (column 0 is the intercept)
    coef_abs: FloatArray
    coef_sq: FloatArray
    cov_abs: FloatArray  #: covariance of ``coef_abs`` (residual variance × the ridge-regularised inverse)
    cov_sq: FloatArray
    kurtosis: float  #: ``E[e⁴] / E[e²]²`` on the reference (3 for normal errors)

    @classmethod
    def fit(cls, inputs: npt.ArrayLike, errors: npt.ArrayLike, *, knots: int = 8, ridge: float = 1.0) -> LossModel:
        """Fit on the reference's ``inputs`` (rows × numeric columns, NaN allowed) and errors ``y − ŷ``."""
        x = np.asarray(inputs, dtype=np.float64)
        e = np.asarray(errors, dtype=np.float64)
        if x.ndim != 2 or e.ndim != 1 or x.shape[0] != e.size:
            raise ValueError(f"inputs must be rows × columns and errors one per row, got {x.shape}, {e.shape}")
        if e.size < 20 or not np.all(np.isfinite(e)):
            raise ValueError(f"need at least 20 finite errors to fit a loss model, got {e.size}")
        finite = np.where(np.isfinite(x), x, np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an input without values: centre 0, scale 1
            centers = np.nan_to_num(np.nanmedian(finite, axis=0))
            scales = np.nan_to_num(np.nanstd(finite, axis=0), nan=1.0)
        scales = np.where(scales > 0, scales, 1.0)
        z = (x - centers) / scales
        knot_list = [_knots(z[:, j], knots) for j in range(x.shape[1])]
        sizes = np.array([len(k) + 2 for k in knot_list], dtype=np.int64)  # slope, hinges, missing indicator
        offsets = np.concatenate([[1], 1 + np.cumsum(sizes)[:-1]]).astype(np.int64)
        design = _design(z, knot_list, offsets, int(1 + sizes.sum()))
        gram = design.T @ design
        penalty = np.full(gram.shape[0], ridge)
        penalty[0] = 0.0  # the intercept is not shrunk
        inverse = np.linalg.pinv(gram + np.diag(penalty))
        coefs: list[FloatArray] = []
        covs: list[FloatArray] = []
        for target in (np.abs(e), e**2):
            coef: FloatArray = inverse @ (design.T @ target)
            residual = target - design @ coef
            coefs.append(coef)
            cov: FloatArray = float(np.mean(residual**2)) * (inverse @ gram @ inverse)
            covs.append(cov)
        kurtosis = float(np.mean(e**4) / np.mean(e**2) ** 2) if np.mean(e**2) > 0 else 3.0
        return cls(knot_list, centers, scales, offsets, coefs[0], coefs[1], covs[0], covs[1], kurtosis)

    def estimate(self, inputs: npt.ArrayLike) -> dict[str, Estimate]:
        """Estimated MAE and RMSE of the rows ``inputs`` (same columns as the fit), with their spreads."""
        x = np.asarray(inputs, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.knots):
            raise ValueError(f"inputs must have {len(self.knots)} columns, got shape {x.shape}")
        n = x.shape[0]
        if not n:
            return {name: Estimate(None, 0.0, ceiling=math.inf) for name in METRICS}
        design = _design((x - self.centers) / self.scales, self.knots, self.offsets, self.coef_abs.size)
        expected_abs = np.clip(design @ self.coef_abs, 0.0, None)
        expected_sq = np.maximum(design @ self.coef_sq, expected_abs**2)  # E[e²] ≥ E|e|²
        mean_design = design.mean(axis=0)
        mae = float(expected_abs.mean())
        mse = float(expected_sq.mean())
        mae_sampling = math.sqrt(float(np.sum(expected_sq - expected_abs**2))) / n
        mse_sampling = math.sqrt(max(self.kurtosis - 1.0, 0.0) * float(np.sum(expected_sq**2))) / n
        mae_model = math.sqrt(max(float(mean_design @ self.cov_abs @ mean_design), 0.0))
        mse_model = math.sqrt(max(float(mean_design @ self.cov_sq @ mean_design), 0.0))
        rmse = math.sqrt(mse)
        scale = 1.0 / (2.0 * rmse) if rmse > 0 else 0.0  # d sqrt(m) / dm
        return {"mae": Estimate(mae, mae_sampling, mae_model, ceiling=math.inf),
                "rmse": Estimate(rmse, mse_sampling * scale, mse_model * scale, ceiling=math.inf)}


def _design(z: FloatArray, knots: list[FloatArray], offsets: IntArray, width: int) -> FloatArray:
    """Per standardised input its value, its hinges ``max(0, z − knot)`` and a missing-value indicator (a
    missing value counts as the median, 0), and the intercept column."""
    design = np.zeros((z.shape[0], width), dtype=np.float64)
    design[:, 0] = 1.0
    for j, inner in enumerate(knots):
        column = z[:, j]
        missing = ~np.isfinite(column)
        value = np.where(missing, 0.0, column)
        start = offsets[j]
        design[:, start] = value
        design[:, start + 1:start + 1 + inner.size] = np.maximum(0.0, value[:, np.newaxis] - inner)
        design[:, start + 1 + inner.size] = missing
    return design
