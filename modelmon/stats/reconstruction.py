"""Multivariate drift as PCA reconstruction error, fitted once on a reference and judged per window.

Per-feature histograms cannot see a change in how features move together (a correlation that flips
sign leaves every marginal as it was). Principal components fitted on the reference capture its
joint structure: a row is projected on the first ``k`` components and mapped back, and its error is
the Euclidean distance between the standardised row and that reconstruction. When the correlations
change, rows leave the reference's main directions and the window's mean error moves.

Every column is standardised with the reference's mean and standard deviation; a missing or
non-finite value becomes the reference mean (0 once standardised), in the reference and in windows
alike, so a reference with missing values gets a baseline that includes them. Standardised values are
capped at ``±clip`` (6) standard deviations: a rare value of a nearly constant column (a pixel that is
almost always 0) would otherwise dominate its row's error, and the reference's few such rows would
not tell the spread of the mean error reliably (on scikit-learn's digits, random halves gave ``z``
a standard deviation of 1.4 uncapped, 0.9 capped).

The no-drift spread of a window's mean error comes from the reference itself. Each reference row's
error is taken *out of fold* (the components refitted without that row's fold), because errors of the
rows PCA was fitted on are a little too small. For a window of ``n`` rows the spread is the larger of
``std / sqrt(n)`` (independent rows) and the standard deviation of the mean error over consecutive
``n``-row chunks of the reference, when it holds at least :data:`MIN_CHUNKS` of them (which catches
rows that are not independent, e.g. a reference that follows the day), plus the uncertainty of the
reference mean itself (``std / sqrt(n_reference)``).

>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=2000)
>>> y = 0.8 * x + 0.6 * rng.normal(size=2000)
>>> reference = ReconstructionReference(np.column_stack([x, y]), ["x", "y"])
>>> model = reference.model(["x", "y"])
>>> model.n_components, round(model.explained_variance, 2)
(1, 0.9)
>>> baseline = model.baseline(100)  # a window of 100 rows without drift: mean error and its spread
>>> round(baseline.mean, 3), round(baseline.spread, 3)
(0.362, 0.029)
>>> flipped = reference.standardise(np.column_stack([x, -y]), ["x", "y"])  # same marginals
>>> round(float(model.errors(flipped).mean()), 3)
1.07
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from modelmon.core.arrays import FloatArray, IntArray

#: The share of the standardised variance the kept components explain, by default (NannyML's choice too).
DEFAULT_VARIANCE = 0.65
#: Standardised values are capped at this many reference standard deviations by default.
DEFAULT_CLIP = 6.0
#: Reference chunks of a window's size needed before their spread is trusted.
MIN_CHUNKS = 10
#: Column subsets whose models are kept (windows missing some columns get a model of the rest).
_MAX_MODELS = 16


@dataclasses.dataclass(frozen=True)
class Baseline:
    """What a window of ``n_window`` rows drawn like the reference gives: its mean error and the spread."""

    mean: float  #: mean out-of-fold error of the reference rows
    spread: float  #: standard deviation of (window mean error - ``mean``) without drift
    n_window: int
    chunks: int  #: reference chunks of ``n_window`` rows the spread was checked against (0: too few)


@dataclasses.dataclass(frozen=True)
class ReconstructionModel:
    """Principal components of some reference columns, with the reference's own errors."""

    columns: tuple[str, ...]
    components: FloatArray  #: (k, columns) orthonormal rows
    explained_variance: float  #: share of the standardised variance the components keep
    reference_errors: FloatArray  #: out-of-fold error of every reference row, in the reference's order

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def errors(self, standardised: FloatArray) -> FloatArray:
        """Each row's distance to its reconstruction (rows standardised by the reference, no NaN)."""
        return _errors(standardised, self.components)

    def baseline(self, n_window: int) -> Baseline:
        """The no-drift mean and spread of the mean error of a window of ``n_window`` rows."""
        if n_window < 1:
            raise ValueError(f"a window needs rows, got {n_window}")
        errors = self.reference_errors
        n_reference = errors.size
        std = float(errors.std(ddof=1))
        independent = std / math.sqrt(n_window)
        chunks = n_reference // n_window
        within = independent
        if chunks >= MIN_CHUNKS:
            chunk_means = errors[: chunks * n_window].reshape(chunks, n_window).mean(axis=1)
            within = max(independent, float(chunk_means.std(ddof=1)))
        else:
            chunks = 0
        spread = math.sqrt(within**2 + std**2 / n_reference)
        return Baseline(float(errors.mean()), spread, n_window, chunks)


class ReconstructionReference:
    """A reference's numeric columns, standardised once; a PCA model per subset of them, fitted when asked.

    :param values: ``(rows, columns)`` floats, NaN (or ±inf) where a value is missing.
    :param columns: the columns' names.
    :param n_components: a share of variance in (0, 1) (the fewest components that explain it), or a
        number of components; always fewer than the columns (a model of a few columns keeps at most
        all but one), so that some error is left to measure.
    :param clip: standardised values are capped at ``±clip`` (``None``: not capped).
    :param folds: folds for the reference's out-of-fold errors.
    :param min_rows: the fewest reference rows accepted.

    Columns without any value, or constant in the reference, cannot be standardised: they are left
    out and named in :attr:`left_out`. ``ValueError`` when fewer than two columns or ``min_rows`` rows
    are left.
    """

    def __init__(self, values: FloatArray, columns: Sequence[str], *, n_components: float | int = DEFAULT_VARIANCE,
                 clip: float | None = DEFAULT_CLIP, folds: int = 5, min_rows: int = 100) -> None:
        check_n_components(n_components)
        if clip is not None and (isinstance(clip, bool) or not isinstance(clip, int | float) or not clip > 0
                                 or not math.isfinite(clip)):
            raise ValueError(f"clip must be a positive number of standard deviations or None, got {clip!r}")
        self.clip = None if clip is None else float(clip)
        if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
            raise ValueError(f"folds must be an integer of at least 2, got {folds!r}")
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(columns):
            raise ValueError(f"values must be (rows, {len(columns)} columns), got shape {values.shape}")
        if values.shape[0] < min_rows:
            raise ValueError(f"the reference has {values.shape[0]} rows; PCA and its error's spread need "
                             f"at least {min_rows}")
        values = np.where(np.isfinite(values), values, np.nan)
        present = np.isfinite(values).sum(axis=0)
        self.left_out: dict[str, str] = {}
        keep: list[int] = []
        for i, name in enumerate(columns):
            column = values[:, i]
            if present[i] == 0:
                self.left_out[str(name)] = "no numeric value in the reference"
            elif present[i] < 2 or np.nanstd(column) == 0:
                self.left_out[str(name)] = "constant in the reference"
            else:
                keep.append(i)
        if len(keep) < 2:
            usable = ", ".join(str(columns[i]) for i in keep) or "none"
            raise ValueError(f"multivariate drift needs at least 2 numeric, non-constant reference columns; "
                             f"usable: {usable}")
        if isinstance(n_components, int) and n_components >= len(keep):
            raise ValueError(f"n_components={n_components} must be below the number of usable columns "
                             f"({len(keep)}): with every component kept no error is left to measure")
        self.columns = tuple(str(columns[i]) for i in keep)
        self.n_components = n_components
        self.folds = folds
        kept = values[:, keep]
        self._center: FloatArray = np.nanmean(kept, axis=0)
        self._scale: FloatArray = np.nanstd(kept, axis=0, ddof=1)
        self._position = {name: i for i, name in enumerate(self.columns)}
        self._standardised = self.standardise(kept, self.columns)
        self._models: dict[tuple[str, ...], ReconstructionModel] = {}

    @property
    def n_rows(self) -> int:
        return int(self._standardised.shape[0])

    def standardise(self, values: FloatArray, columns: Sequence[str]) -> FloatArray:
        """``values`` of ``columns`` (some of :attr:`columns`) on the reference's scale, missing values at 0,
        capped at ``±clip``."""
        index = self._index(columns)
        scaled: FloatArray = np.subtract(values, self._center[index], dtype=np.float64)
        scaled /= self._scale[index]
        np.nan_to_num(scaled, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if self.clip is not None:
            np.clip(scaled, -self.clip, self.clip, out=scaled)
        return scaled

    def model(self, columns: Sequence[str]) -> ReconstructionModel:
        """The PCA model of ``columns`` (two or more of :attr:`columns`), fitted once and cached."""
        key = tuple(columns)
        model = self._models.get(key)
        if model is None:
            if len(key) < 2:
                raise ValueError(f"a model needs at least 2 columns, got {list(key)}")
            model = _fit(self._standardised[:, self._index(key)], key, self.n_components, self.folds)
            if len(self._models) >= _MAX_MODELS:
                self._models.pop(next(iter(self._models)))
            self._models[key] = model
        return model

    def _index(self, columns: Sequence[str]) -> IntArray:
        try:
            return np.array([self._position[c] for c in columns], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"column {exc.args[0]!r} is not one of the reference's {list(self.columns)}") from None


def check_n_components(value: object) -> None:
    """``ValueError`` unless ``value`` is a share of variance in (0, 1) or a whole number of components >= 1."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"n_components must be a share of variance in (0, 1) or a number of components, "
                         f"got {value!r}")
    if isinstance(value, int) and value < 1:
        raise ValueError(f"n_components must be at least 1, got {value}")
    if isinstance(value, float) and not 0 < value < 1:
        raise ValueError(f"n_components as a share of variance must be in (0, 1), got {value}")


def _fit(z: FloatArray, columns: tuple[str, ...], n_components: float | int, folds: int) -> ReconstructionModel:
    """Components of the standardised reference ``z``, and each row's error from a model without its fold."""
    rows, width = z.shape
    fold_of = np.arange(rows) % folds  # interleaved, so each fold spans the reference's whole period
    grams = [z[fold_of == fold].T @ z[fold_of == fold] for fold in range(folds)]
    total = np.sum(grams, axis=0)
    values, vectors = _eigen(total / (rows - 1))
    if isinstance(n_components, int):
        k = min(n_components, width - 1)
    else:
        share = np.cumsum(values) / values.sum()
        k = min(int(np.searchsorted(share, n_components)) + 1, width - 1)
    errors = np.empty(rows)
    for fold in range(folds):
        held = fold_of == fold
        _, fold_vectors = _eigen((total - grams[fold]) / max(rows - int(held.sum()) - 1, 1))
        errors[held] = _errors(z[held], fold_vectors[:, :k].T)
    return ReconstructionModel(columns, np.ascontiguousarray(vectors[:, :k].T),
                               float(values[:k].sum() / values.sum()), errors)


def _eigen(covariance: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Eigenvalues (largest first, never negative) and their vectors as columns."""
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1]
    return np.clip(values[order], 0.0, None), vectors[:, order]


def _errors(z: FloatArray, components: FloatArray) -> FloatArray:
    """``|z - z W'W|`` per row, as ``sqrt(|z|² - |z W'|²)`` (the components are orthonormal)."""
    projected = z @ components.T
    squared: FloatArray = np.einsum("ij,ij->i", z, z) - np.einsum("ij,ij->i", projected, projected)
    errors: FloatArray = np.sqrt(np.clip(squared, 0.0, None))
    return errors
