"""Counting many numeric columns into their own fixed bins in one vectorised pass, as ``np.histogram`` does.

Every feature has ``nb`` inner bins given by its edges; a value ``x`` is in inner bin ``j`` when
``edges[j] <= x < edges[j + 1]``, and the last inner bin is closed (``x == edges[-1]`` is in it), exactly
as ``np.histogram(values, bins=edges)`` counts. Around them sit two open-ended bins (below the first
edge, above the last) and a NaN slot, so each feature has ``nb + 3`` *slots*, in this order::

    [NaN, under, inner_1 … inner_nb, over]

With ``last_closed=False`` the last inner bin is half-open like the others and a value equal to the
last edge is counted *above* the range: what MLRun's window histogram does (it bins over edges padded
with an outer bin ``[last edge, +max]``).

Evenly spaced edges (what ``np.histogram`` makes) are binned by arithmetic, as ``np.histogram`` itself
does for equal-width bins: the estimate ``trunc(x * scale + shift)``, clamped to the feature's slots, is
the true slot or the one above it, and only values whose estimate lies just above a whole number (near
an edge: integer data on its edges, say) are compared with their slot's lower edge to correct it.
Every feature's slots get their own offset so that one ``np.bincount`` counts all features of a row
chunk at once. Rows are processed in chunks so that the extra memory stays a few megabytes whatever
the window size, in scratch arrays kept per thread: allocating them per window cost more than the
counting itself on small windows (fresh pages, page faults), as the allocator hands large blocks back
to the system when they are freed. Uneven edges, or edges so far from zero that the arithmetic would lose precision,
fall back to ``np.searchsorted`` (still vectorised over rows, one call per such feature).

>>> binner = NumericBinner([np.array([0.0, 1.0, 2.0])])
>>> binner.count([np.array([-5.0, 0.0, 0.5, 1.0, 2.0, 7.0, np.nan])]).tolist()
[[1, 1, 2, 2, 1]]
>>> binner.count([np.array([-5.0, 0.0, 0.5, 1.0, 2.0, 7.0, np.nan])], last_closed=False).tolist()
[[1, 1, 2, 1, 2]]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from modelmon.core.arrays import FloatArray, IntArray

#: Rows per chunk are chosen so that one chunk of all features holds about this many values.
_CHUNK_VALUES = 1 << 19
_SCRATCH = threading.local()
#: Beyond this magnitude of ``x * scale`` the arithmetic estimate is not precise to 1e-4 of a bin.
_MAX_SCALED = float(1 << 38)


def _is_even(edges: FloatArray) -> bool:
    widths = np.diff(edges)
    return bool(widths.size) and float(np.ptp(widths)) <= 1e-9 * float(abs(widths.mean()))


def _fit_affine(edges: FloatArray, offset: float) -> tuple[float, float, float] | None:
    """``(scale, shift, near)`` estimating the slot of ``x`` as ``trunc(x * scale + shift)``, or None.

    ``shift`` carries a margin of a few ulps so that the estimate is never *below* the true slot, and at
    most one above it: every edge must map into its own slot (checked here; a feature whose edges do not
    gets None and is binned by ``searchsorted``). The estimate being monotone in ``x``, a value between
    two edges then maps to the slot it belongs in or the next one, and one comparison with the slot's
    lower edge corrects it. Only a value whose estimate is at most ``near`` above a whole number (the
    largest fractional part of an edge's estimate) can be one too high: the others need no comparison.
    """
    nb = edges.size - 1
    lo, hi = float(edges[0]), float(edges[-1])
    scale = nb / (hi - lo)
    magnitude = max(abs(lo * scale), abs(hi * scale), offset + nb + 3.0)
    if not np.isfinite(scale) or magnitude > _MAX_SCALED:
        return None
    shift = offset + 2.0 - lo * scale + 16.0 * float(np.spacing(magnitude))
    mapped = edges * scale + shift
    if not np.array_equal(np.trunc(mapped), offset + 2 + np.arange(nb + 1)):
        return None
    return scale, shift, float((mapped - np.trunc(mapped)).max())


def _scratch(size: int) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp], FloatArray,
                                 npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """This thread's scratch arrays of :meth:`NumericBinner._count_fast`, at least ``size`` long each."""
    arrays = getattr(_SCRATCH, "arrays", None)
    if arrays is None or arrays[0].size < size:
        arrays = (np.empty(size), np.empty(size), np.empty(size, dtype=np.intp), np.empty(size),
                  np.empty(size, dtype=bool), np.empty(size, dtype=bool))
        _SCRATCH.arrays = arrays
    return arrays


class NumericBinner:
    """Counts values of many columns into each column's own bins (see the module docstring).

    Parameters
    ----------
    edges:
        One increasing edge array per feature (at least two edges each, finite).
    """

    def __init__(self, edges: Sequence[npt.ArrayLike]) -> None:
        self.edges = [np.asarray(e, dtype=np.float64) for e in edges]
        for i, e in enumerate(self.edges):
            if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) < 0):
                raise ValueError(f"bin edges #{i} must be at least two finite, non-decreasing numbers")
            if e[-1] <= e[0]:  # zero-width range: one bin [lo, lo], binned exactly by searchsorted
                self.edges[i] = e[:1].repeat(2)
        #: Slots per feature in the output: NaN, under, inner bins, over.
        self.width = max((e.size - 1 for e in self.edges), default=0) + 3
        fits = {}
        for i, e in enumerate(self.edges):
            fit = _fit_affine(e, float(i * self.width)) if e[-1] > e[0] and _is_even(e) else None
            if fit is not None:
                fits[i] = fit
        self._fast = np.array(list(fits), dtype=np.int64)
        self._slow = np.array([i for i in range(len(self.edges)) if i not in fits], dtype=np.int64)
        self._scale = np.array([fit[0] for fit in fits.values()], dtype=np.float64)
        self._shift = np.array([fit[1] for fit in fits.values()], dtype=np.float64)[:, None]
        base = self._fast * float(self.width)
        nb = np.array([self.edges[i].size - 1 for i in fits], dtype=np.float64)
        self._lower = (base + 1.0)[:, None]  # the under slot
        self._upper = (base + nb + 2.0)[:, None]  # the over slot
        self._nan_slot = np.broadcast_to(base[:, None], (self._fast.size, 1))
        #: The largest fractional part an edge's estimate has: estimates further above a whole number are exact.
        self._near = max((float(fit[2]) for fit in fits.values()), default=0.0)
        self._lows = {closed: self._slot_lows(list(fits), closed) for closed in (True, False)}

    def _slot_lows(self, features: list[int], last_closed: bool) -> FloatArray:
        """Per flat slot, the smallest value it holds; NaN where a value may not move down (NaN, under)."""
        low = np.full(len(self.edges) * self.width, np.nan)
        for i in features:
            edges = self.edges[i].copy()
            if last_closed:  # a value equal to the last edge stays in the last inner bin
                edges[-1] = np.nextafter(edges[-1], np.inf)
            start = i * self.width + 2
            low[start : start + edges.size] = edges
        return low

    def count(self, columns: Sequence[npt.NDArray[Any]], *, last_closed: bool = True) -> IntArray:
        """Slot counts, shape ``(features, width)``: column 0 is NaN, then under, inner bins, over.

        ``last_closed=False`` counts a value equal to a feature's last edge as above its range (MLRun's
        window histogram) instead of in its last bin (``np.histogram``).
        """
        if len(columns) != len(self.edges):
            raise ValueError(f"expected {len(self.edges)} columns, got {len(columns)}")
        counts = self._count_fast([columns[i] for i in self._fast], last_closed)
        for i in self._slow:
            counts[i] = self._count_slow(np.asarray(columns[i], dtype=np.float64), i, last_closed)
        return counts

    def _count_fast(self, columns: list[npt.NDArray[Any]], last_closed: bool) -> IntArray:
        """Counts of the evenly binned features, all in one ``bincount`` per chunk of rows."""
        n_features = len(columns)
        n_rows = len(columns[0]) if columns else 0
        if any(len(c) != n_rows for c in columns):
            raise ValueError("all columns must have the same length")
        total = np.zeros(len(self.edges) * self.width, dtype=np.int64)
        rows = max(256, _CHUNK_VALUES // max(n_features, 1))
        estimate, fraction, slots, low, near, down = _scratch(n_features * min(rows, max(n_rows, 1)))
        lows = self._lows[last_closed]
        for start in range(0, n_rows, rows):
            stop = min(n_rows, start + rows)
            shape = (n_features, stop - start)
            n = n_features * (stop - start)
            y, flat = estimate[:n].reshape(shape), slots[:n].reshape(shape)
            for i, column in enumerate(columns):
                np.multiply(column[start:stop], self._scale[i], out=y[i])
            np.add(y, self._shift, out=y)
            # Only an estimate just above a whole number can be one slot too high (see _fit_affine).
            frac, close = fraction[:n].reshape(shape), near[:n].reshape(shape)
            with np.errstate(invalid="ignore"):  # inf - inf: infinite values are never near an edge
                np.subtract(y, np.trunc(y, out=frac), out=frac)
            np.less_equal(frac, self._near, out=close)
            check = np.flatnonzero(close.any(axis=1))
            np.maximum(y, self._lower, out=y)  # NaN propagates through maximum/minimum
            np.minimum(y, self._upper, out=y)
            if np.isnan(y.sum()):
                np.copyto(y, self._nan_slot, where=np.isnan(y))
            np.copyto(flat, y, casting="unsafe")
            if 2 * check.size > n_features:  # e.g. integer data sitting on the edges: all at once
                edge, moved = low[:n].reshape(shape), down[:n].reshape(shape)
                np.take(lows, flat, out=edge, mode="clip")
                for i, column in enumerate(columns):
                    np.less(column[start:stop], edge[i], out=moved[i])
                np.subtract(flat, moved, out=flat)
            else:
                for i in check.tolist():  # compare with the estimated slot's lower edge
                    edge, moved = low[: stop - start], down[: stop - start]
                    np.take(lows, flat[i], out=edge, mode="clip")
                    np.less(columns[i][start:stop], edge, out=moved)
                    np.subtract(flat[i], moved, out=flat[i])
            total += np.bincount(slots[:n], minlength=total.size)
        return total.reshape(len(self.edges), self.width)  # rows of the other features are zero

    def _count_slow(self, values: FloatArray, feature: int, last_closed: bool) -> IntArray:
        """Counts of one unevenly binned (or zero-width) feature, by ``searchsorted``."""
        edges = self.edges[feature]
        nb = edges.size - 1
        nan = np.isnan(values)
        slot = np.searchsorted(edges, values, side="right") + 1  # under=1, inner 2..nb+1, at/over last=nb+2
        if last_closed:
            slot[values == edges[-1]] = nb + 1
        slot[nan] = 0
        out = np.zeros(self.width, dtype=np.int64)
        out[: nb + 3] = np.bincount(slot, minlength=nb + 3)
        return out
