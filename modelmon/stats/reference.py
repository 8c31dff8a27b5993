"""The reference side of drift computations, prepared once from ``feature_stats`` and reused per window.

A :class:`Reference` holds, for every usable feature, its bin edges (numeric) or categories
(categorical) and the reference counts over *slots*: ``[under, inner bins…, over]`` for numeric
features (open-ended bins around the reference range) and ``[categories…, other]`` for categorical
ones. :meth:`Reference.histograms` counts a window over the same slots in one vectorised pass.
MLRun-format ``feature_stats``, whose histograms are padded with an outer bin on each side (edges
``±sys.float_info.max``, or ``±inf``), are read with those bins as the open-ended ones.
:func:`reference_for` caches references by content, so an app holding many endpoints builds each once.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import math
import sys
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd

from modelmon.core.arrays import BoolArray, FloatArray, IntArray
from modelmon.stats.binning import NumericBinner
from modelmon.stats.distances import normalise

NUMERIC = "numeric"
CATEGORICAL = "categorical"
#: Outer edges that mark a padded histogram's open-ended bins: MLRun pads with ``±sys.float_info.max``
#: (``pad_features_hist``), modelmon's ``sample_df_stats`` and others with ``±inf``.
_PADDING_BELOW = (-math.inf, -sys.float_info.max)
_PADDING_ABOVE = (math.inf, sys.float_info.max)


@dataclasses.dataclass(frozen=True)
class WindowHistograms:
    """A window counted over a reference's slots (rows follow ``Reference.names``)."""

    counts: IntArray  #: (features, slots) counts, NaN excluded
    nan_counts: IntArray  #: (features,) NaN / missing values per feature
    present: BoolArray  #: (features,) whether the window has the column at all
    n_rows: int

    @property
    def totals(self) -> IntArray:
        """Non-NaN values per feature."""
        totals: IntArray = self.counts.sum(axis=1)
        return totals


@dataclasses.dataclass
class _Parsed:
    kind: str
    slots: FloatArray  # reference counts over the feature's slots
    edges: FloatArray | None = None
    categories: list[str] | None = None


def _numbers(values: Any, what: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers") from None
    if array.ndim != 1:
        raise ValueError(f"{what} must be a flat list")
    return array


def _parse(entry: Any) -> _Parsed:
    """One feature's reference from its ``feature_stats`` entry; ``ValueError`` saying what is wrong."""
    if not isinstance(entry, Mapping):
        raise ValueError("its statistics are not a mapping")
    hist = entry.get("hist")
    if not isinstance(hist, list | tuple) or len(hist) != 2:
        raise ValueError("no histogram ('hist': [[counts], [edges]])")
    counts = _numbers(hist[0], "histogram counts")
    if counts.size == 0 or counts.sum() <= 0:
        raise ValueError("no values in the reference")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("histogram counts must be finite and non-negative")
    if "categories" in entry:
        categories = [str(c) for c in entry["categories"]]
        if counts.size != len(categories) + 1:
            raise ValueError(f"{len(categories)} categories need {len(categories) + 1} counts (the last is 'other')")
        return _Parsed(CATEGORICAL, counts, categories=categories)
    edges = _numbers(hist[1], "histogram edges")
    if edges.size != counts.size + 1:
        raise ValueError(f"{counts.size} counts need {counts.size + 1} edges, got {edges.size}")
    under = over = 0.0
    if edges.size >= 3 and edges[0] in _PADDING_BELOW:  # MLRun's padded histogram: an open-ended outer bin
        under, counts, edges = counts[0], counts[1:], edges[1:]
    if edges.size >= 3 and edges[-1] in _PADDING_ABOVE:
        over, counts, edges = counts[-1], counts[:-1], edges[:-1]
    if not np.all(np.isfinite(edges)) or np.any(edges[1:] < edges[:-1]):
        raise ValueError("histogram edges must be finite and increasing")
    if edges[-1] <= edges[0]:  # a zero-width range is one closed bin
        counts, edges = counts.sum(keepdims=True), edges[[0, -1]]
    return _Parsed(NUMERIC, np.concatenate([[under], counts, [over]]), edges=edges)


def as_float(series: pd.Series) -> npt.NDArray[Any]:
    """A column as numbers for binning: a view when it already is numeric, else NaN where not a number."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        return series.to_numpy()
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def column_positions(df: pd.DataFrame) -> dict[str, int] | None:
    """Each column's position in ``df``, or None when names repeat (then ``df[name]`` is a DataFrame)."""
    columns = df.columns
    return {name: i for i, name in enumerate(columns)} if columns.is_unique else None


def numeric_columns(df: pd.DataFrame, names: list[str],
                    positions: dict[str, int] | None) -> list[npt.NDArray[Any] | None]:
    """``as_float`` of each of ``df``'s columns ``names`` (``None`` where ``df`` has none), without building a
    Series per column where pandas lets us: on a DataFrame fresh from a read or a shallow copy, ``df[name]``
    builds and caches a Series (~9 µs each), which for 20 columns of 10k rows cost as much as binning them.
    ``DataFrame._get_column_array`` (pandas ≥ 1.3, private) hands back the column's numpy values; anything
    else (extension types, a pandas without it, repeated column names) goes through ``df[name]``.
    """
    getter = getattr(df, "_get_column_array", None) if positions is not None else None
    out: list[npt.NDArray[Any] | None] = []
    for name in names:
        if positions is not None:
            position = positions.get(name)
            if position is None:
                out.append(None)
                continue
            values = getter(position) if getter is not None else None
            if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "fiub":
                out.append(values)
                continue
        elif name not in df.columns:
            out.append(None)
            continue
        out.append(as_float(df[name]))
    return out


def category_counts(series: pd.Series, categories: pd.Index) -> tuple[npt.NDArray[np.intp], int]:
    """Counts over ``[categories…, other]`` and the number of missing values of a column."""
    missing = series.isna().to_numpy()
    codes = categories.get_indexer(pd.Index(series.astype(str)))
    codes[codes < 0] = len(categories)
    return np.bincount(codes[~missing], minlength=len(categories) + 1), int(missing.sum())


class Reference:
    """Reference histograms of every usable feature, ready for windows (see the module docstring).

    ``invalid`` maps the features that cannot be used to the reason.
    """

    def __init__(self, feature_stats: Mapping[str, Any]) -> None:
        if not isinstance(feature_stats, Mapping):
            raise ValueError(f"feature_stats must be a mapping of feature name to statistics, "
                             f"got {type(feature_stats).__name__}")
        parsed: dict[str, _Parsed] = {}
        self.invalid: dict[str, str] = {}
        for name, entry in feature_stats.items():
            try:
                parsed[str(name)] = _parse(entry)
            except ValueError as exc:
                self.invalid[str(name)] = str(exc)
        self.names = list(parsed)
        self.kinds = [p.kind for p in parsed.values()]
        self.edges = [p.edges for p in parsed.values()]
        self.categories = [pd.Index(p.categories) if p.categories is not None else None for p in parsed.values()]
        self.n_slots = np.array([p.slots.size for p in parsed.values()], dtype=np.int64)
        self.counts = np.zeros((len(parsed), int(self.n_slots.max(initial=1))))
        for i, p in enumerate(parsed.values()):
            self.counts[i, : p.slots.size] = p.slots
        self.totals = self.counts.sum(axis=1)
        self.name_set = frozenset(self.names)
        #: Features whose reference values all fall in one slot.
        self.constant = (self.counts > 0).sum(axis=1) == 1
        self.probs = normalise(self.counts)
        numeric = [(i, edges) for i, edges in enumerate(self.edges) if edges is not None]  # categories have none
        self._numeric = [i for i, _ in numeric]
        self._numeric_names = [self.names[i] for i in self._numeric]
        self._categorical = [i for i, categories in enumerate(self.categories) if categories is not None]
        self._binner = NumericBinner([edges for _, edges in numeric])
        self.cache: dict[Any, Any] = {}  # for derived per-reference values, e.g. null-distribution quantiles

    def __len__(self) -> int:
        return len(self.names)

    def histograms(self, df: pd.DataFrame, *, last_closed: bool = True) -> WindowHistograms:
        """Count ``df``'s columns over this reference's slots: one pass over the numeric columns.

        Numeric values are binned as ``np.histogram`` bins them over the reference edges, values outside
        them counted in the open-ended outer bins. ``last_closed=False`` counts a value equal to the
        last edge (the reference maximum) as above the range, as MLRun's window histogram does.
        """
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"the window must be a pandas DataFrame, got {type(df).__name__}")
        n_rows = len(df)
        positions = column_positions(df)
        if positions is None:
            repeated = sorted({str(c) for c in df.columns[df.columns.duplicated()]} & self.name_set)
            if repeated:
                raise ValueError(f"the window has more than one column named {', '.join(map(repr, repeated))}")
        columns = positions if positions is not None else set(df.columns)
        present = np.array([name in columns for name in self.names], dtype=bool)
        counts = np.zeros_like(self.counts, dtype=np.int64)
        nan_counts = np.zeros(len(self.names), dtype=np.int64)
        absent = np.full(n_rows, np.nan)
        found = numeric_columns(df, self._numeric_names, positions)
        numeric = self._binner.count([absent if c is None else c for c in found], last_closed=last_closed)
        # A feature's binner row is [NaN, under, inner…, over, zeros…]; its reference slots [under, inner…, over]
        width = min(numeric.shape[1] - 1, counts.shape[1])
        counts[self._numeric, :width] = numeric[:, 1 : width + 1]
        nan_counts[self._numeric] = numeric[:, 0]
        for i in self._categorical:
            categories = self.categories[i]
            assert categories is not None
            if present[i]:
                counts[i, : len(categories) + 1], nan_counts[i] = category_counts(df[self.names[i]], categories)
            else:
                nan_counts[i] = n_rows
        return WindowHistograms(counts, nan_counts, present, n_rows)


_CACHE: collections.OrderedDict[str, Reference] = collections.OrderedDict()
_BY_ID: collections.OrderedDict[int, tuple[Mapping[str, Any], str]] = collections.OrderedDict()
_CACHE_SIZE = 64
_LOCK = threading.Lock()


def _fingerprint(feature_stats: Mapping[str, Any]) -> str:
    """A digest of the content. orjson encodes it about ten times as fast as ``json`` (it is taken per window
    when the statistics come padded in new dicts), and is used when it writes every value distinctly: not when
    it would write ``null`` (for NaN and infinities too) or cannot encode a value; then ``json`` does."""
    try:
        data = orjson.dumps(feature_stats, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
        if b"null" not in data:
            return "o" + hashlib.blake2b(data, digest_size=16).hexdigest()
    except TypeError:  # a non-str key, an integer beyond 64 bits, a value orjson cannot encode
        pass
    text = json.dumps(feature_stats, sort_keys=True, default=str)
    return "j" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def reference_for(feature_stats: Mapping[str, Any]) -> Reference:
    """The :class:`Reference` of ``feature_stats``, built once per distinct content (LRU of 64).

    The same mapping object passed again is recognised without hashing its content, so treat a
    ``feature_stats`` mapping as immutable once used (build a new one for a new reference).
    """
    with _LOCK:
        known = _BY_ID.get(id(feature_stats))
        key = known[1] if known is not None and known[0] is feature_stats else None
    if key is None:
        key = _fingerprint(feature_stats)
    with _LOCK:
        reference = _CACHE.get(key)
    if reference is None:
        reference = Reference(feature_stats)
    with _LOCK:
        _CACHE[key] = reference
        _CACHE.move_to_end(key)
        _BY_ID[id(feature_stats)] = (feature_stats, key)  # holding the object keeps its id from being reused
        _BY_ID.move_to_end(id(feature_stats))
        for cache in (_CACHE, _BY_ID):
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
    return reference
