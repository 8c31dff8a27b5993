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
does for equal-width bins: the estimate ``floor(x * scale + shift)``, clamped to the feature's slots, is
the true slot or the one above it, and only values whose estimate lies just above a whole number (near
an edge: integer data on its edges, say) are compared with their slot's lower edge to correct it.
Features are counted in pairs: the slot of the first times the width plus the slot of the second (each
pair's slots offset by its own block) numbers the slot pairs of every pair, so that one ``np.bincount``
over half as many values counts all features of a row chunk at once (``bincount``, a scalar loop, was
a third of the time). Slot numbers are clamped as int32 (numpy clips floats several times slower, as it
propagates NaN). Rows are processed in chunks so that the extra memory stays a few megabytes whatever
the window size, in scratch arrays kept per thread: allocating them per window cost more than the
counting itself on small windows (fresh pages, page faults), as the allocator hands large blocks back
to the system when they are freed. Uneven edges, or edges so far from zero that the arithmetic would lose
precision, fall back to ``np.searchsorted`` (still vectorised over rows, one call per such feature).

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

#: Slot numbers: int32, or int64 where they do not fit.
SlotArray = npt.NDArray[np.signedinteger[Any]]

#: Rows per chunk are chosen so that one chunk of all features holds about this many values.
_CHUNK_VALUES = 1 << 19
_SCRATCH = threading.local()
#: Features are counted in pairs while all pairs' slot pairs are at most this many (bincount's output per chunk).
_MAX_PAIR_SLOTS = 1 << 18
#: Beyond this magnitude of ``x * scale`` the arithmetic estimate is not precise to 1e-4 of a bin.
_MAX_SCALED = float(1 << 38)


def _is_even(edges: FloatArray) -> bool:
    widths = np.diff(edges)
    return bool(widths.size) and float(np.ptp(widths)) <= 1e-9 * float(abs(widths.mean()))


def _fit_affine(edges: FloatArray, offset: float) -> tuple[float, float, float] | None:
    """``(scale, shift, near)`` estimating the slot of ``x`` as ``floor(x * scale + shift)``, or None.

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


class _Scratch:
    """This thread's scratch arrays of :meth:`NumericBinner._count_fast` (see the module docstring): reused
    across windows, grown when a chunk needs more."""

    def __init__(self, size: int, dtype: type[np.signedinteger[Any]]) -> None:
        self.size = size
        self.estimate, self.floor = np.empty(size), np.empty(size)
        self.slots, self.pairs = np.empty(size, dtype=dtype), np.empty(size, dtype=dtype)
        self.index, self.flags = np.empty(size, dtype=np.intp), np.empty(size, dtype=bool)


def _scratch(size: int, dtype: type[np.signedinteger[Any]]) -> _Scratch:
    arrays: dict[Any, _Scratch] = getattr(_SCRATCH, "arrays", None) or {}
    scratch = arrays.get(dtype)
    if scratch is None or scratch.size < size:
        scratch = arrays[dtype] = _Scratch(size, dtype)
        _SCRATCH.arrays = arrays
    return scratch


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
        even = [i for i, e in enumerate(self.edges) if e[-1] > e[0] and _is_even(e)]
        #: Slots of one group: a pair's ``width²``, or ``width`` where pairs would make the counts too many.
        self._block = self.width**2 if (len(even) + 1) // 2 * self.width**2 <= _MAX_PAIR_SLOTS else self.width
        firsts, seconds, fits = self._grouped_fits(even)
        self._n_first, self._n_pairs = len(firsts), len(seconds)
        self._fast = np.array(firsts + seconds, dtype=np.int64)  # the rows of a chunk's estimates, in this order
        self._slow = np.array(sorted(set(range(len(self.edges))) - set(fits)), dtype=np.int64)
        self._scale = np.array([fits[i][0] for i in self._fast.tolist()], dtype=np.float64)
        self._shift = np.array([fits[i][1] for i in self._fast.tolist()], dtype=np.float64)[:, None]
        offset = np.array([0.0] * len(firsts) + [k * float(self._block) for k in range(len(seconds))])[:, None]
        nb = np.array([self.edges[i].size - 1 for i in self._fast.tolist()], dtype=np.float64)[:, None]
        #: Slot numbers as int32 while the largest fits (half the memory traffic of int64); estimates beyond
        #: ``_safe`` are clipped as floats first, the cast of a larger float being undefined.
        self._int: type[np.signedinteger[Any]] = np.int32 if self._n_pairs * self._block < 2**30 else np.int64
        self._safe = 2.0**30 if self._int is np.int32 else 2.0**62
        self._lower, self._upper = offset + 1.0, offset + nb + 2.0  # the under and over slots
        self._int_bounds = self._lower.astype(self._int), self._upper.astype(self._int)
        self._nan_slot = offset.astype(self._int)
        #: Added to a row's slot number, its position in the flattened ``_lows`` tables.
        self._row_base = (np.arange(self._fast.size)[:, None] * self.width - offset).astype(np.intp)
        #: The largest fractional part an edge's estimate has: estimates further above a whole number are exact.
        self._near = max((fit[2] for fit in fits.values()), default=0.0)
        self._lows = {closed: self._slot_lows(closed) for closed in (True, False)}

    def _grouped_fits(self, even: list[int]) -> tuple[list[int], list[int], dict[int, tuple[float, float, float]]]:
        """The evenly binned features in pairs ``(firsts[k], seconds[k])`` (the last second alone when their
        number is odd; every feature alone, as a second, when ``_block`` is ``width``) and their estimates:
        a first's slots are ``0 … width-1``, the ``k``-th second's are offset by ``k * _block``, so that
        ``first_slot * width + second_slot`` numbers the slot pairs of all pairs at once and one
        ``np.bincount`` over half as many values counts both features. A feature whose estimate cannot be
        fitted is binned by ``searchsorted`` and the groups are formed again without it."""
        while True:
            n_second = (len(even) + 1) // 2 if self._block > self.width else len(even)
            firsts, seconds = even[: len(even) - n_second], even[len(even) - n_second :]
            offsets = [(i, 0.0) for i in firsts] + [(i, k * float(self._block)) for k, i in enumerate(seconds)]
            fits = {i: _fit_affine(self.edges[i], offset) for i, offset in offsets}
            unfit = [i for i, fit in fits.items() if fit is None]
            if not unfit:
                return firsts, seconds, {i: fit for i, fit in fits.items() if fit is not None}
            even = [i for i in even if i not in unfit]

    def _slot_lows(self, last_closed: bool) -> FloatArray:
        """Per row of the estimates and local slot (flattened), the smallest value the slot holds; NaN where a
        value may not move down (NaN, under, unused slots)."""
        low = np.full((self._fast.size, self.width), np.nan)
        for row, i in enumerate(self._fast.tolist()):
            edges = self.edges[i].copy()
            if last_closed:  # a value equal to the last edge stays in the last inner bin
                edges[-1] = np.nextafter(edges[-1], np.inf)
            low[row, 2 : 2 + edges.size] = edges
        return low.ravel()

    def count(self, columns: Sequence[npt.NDArray[Any]], *, last_closed: bool = True) -> IntArray:
        """Slot counts, shape ``(features, width)``: column 0 is NaN, then under, inner bins, over.

        ``last_closed=False`` counts a value equal to a feature's last edge as above its range (MLRun's
        window histogram) instead of in its last bin (``np.histogram``).
        """
        if len(columns) != len(self.edges):
            raise ValueError(f"expected {len(self.edges)} columns, got {len(columns)}")
        counts = self._count_fast([columns[i] for i in self._fast.tolist()], last_closed)
        for i in self._slow.tolist():
            counts[i] = self._count_slow(np.asarray(columns[i], dtype=np.float64), i, last_closed)
        return counts

    def _count_fast(self, columns: list[npt.NDArray[Any]], last_closed: bool) -> IntArray:
        """Counts of the evenly binned features, two features per value counted, one ``bincount`` per chunk."""
        n_features, width, n_pairs, n_first = len(columns), self.width, self._n_pairs, self._n_first
        n_rows = len(columns[0]) if columns else 0
        if any(len(c) != n_rows for c in columns):
            raise ValueError("all columns must have the same length")
        total = np.zeros(n_pairs * self._block, dtype=np.int64)
        rows = max(256, _CHUNK_VALUES // max(n_features, 1))
        scratch = _scratch(n_features * min(rows, max(n_rows, 1)), self._int)
        for start in range(0, n_rows, rows):
            stop = min(n_rows, start + rows)
            shape, n = (n_features, stop - start), n_features * (stop - start)
            y, estimate = scratch.estimate[:n].reshape(shape), scratch.floor[:n].reshape(shape)
            for i, column in enumerate(columns):
                np.multiply(column[start:stop], self._scale[i], out=y[i])
            np.add(y, self._shift, out=y)
            # floor, not trunc: an estimate far below the range (negative) then has a fraction in [0, 1) too,
            # and is not taken for one near an edge. Only an estimate just above a whole number can be one
            # slot too high (see _fit_affine).
            np.floor(y, out=estimate)
            with np.errstate(invalid="ignore"):  # inf - inf: infinite values are never near an edge
                np.subtract(y, estimate, out=y)
            check = np.flatnonzero(np.fmin.reduce(y, axis=1) <= self._near)  # fmin: NaN (a missing value) aside
            slot = self._slots(estimate, scratch.slots[:n].reshape(shape))
            if check.size:
                self._correct(slot, columns, start, stop, check, self._lows[last_closed], scratch)
            pairs = scratch.pairs[: n_pairs * (stop - start)].reshape(n_pairs, stop - start)
            np.multiply(slot[:n_first], width, out=pairs[:n_first])
            pairs[n_first:] = 0  # the last second feature, alone
            np.add(pairs, slot[n_first:], out=pairs)
            total += np.bincount(pairs.ravel(), minlength=total.size)
        paired = total.reshape(n_pairs, self._block // width, width)
        counts = np.zeros((len(self.edges), width), dtype=np.int64)  # rows of the other features stay zero
        counts[self._fast[:n_first]] = paired[:n_first].sum(axis=2)
        counts[self._fast[n_first:]] = paired.sum(axis=1)
        return counts

    def _slots(self, estimate: FloatArray, out: SlotArray) -> SlotArray:
        """The estimates as slot numbers within each row's slots (NaN to its NaN slot), in ``out``.

        Clipping integers is several times as fast as clipping floats (numpy's float ``clip`` propagates
        NaN, slowly): rows whose estimates all lie within ``±_safe`` are cast first and clipped as integers;
        the others (NaN, infinite or far-off values) are clipped as floats before the cast.
        """
        safe = self._safe
        with np.errstate(invalid="ignore"):
            low, high = estimate.min(axis=1), estimate.max(axis=1)
        unsafe = np.flatnonzero(~((low >= -safe) & (high <= safe)))  # NaN compares false
        missing = []
        for i in unsafe.tolist():
            row = estimate[i]
            nan = np.isnan(row)
            np.clip(row, self._lower[i], self._upper[i], out=row)
            if nan.any():
                row[nan] = self._lower[i, 0]
                missing.append((i, nan))
        np.copyto(out, estimate, casting="unsafe")
        np.clip(out, *self._int_bounds, out=out)
        for i, nan in missing:
            out[i][nan] = self._nan_slot[i, 0]
        return out

    def _correct(self, slot: SlotArray, columns: list[npt.NDArray[Any]], start: int,
                 stop: int, check: npt.NDArray[np.intp], lows: FloatArray, scratch: _Scratch) -> None:
        """Move the values of rows ``check`` that lie below their estimated slot's lower edge one slot down."""
        n = slot.size
        edge, moved = scratch.estimate[:n].reshape(slot.shape), scratch.flags[:n].reshape(slot.shape)
        index = scratch.index[:n].reshape(slot.shape)
        if 2 * check.size > slot.shape[0]:  # e.g. integer data sitting on the edges: all rows at once
            np.add(slot, self._row_base, out=index)
            np.take(lows, index, out=edge)
            for i, column in enumerate(columns):
                np.less(column[start:stop], edge[i], out=moved[i])
            np.subtract(slot, moved, out=slot)
            return
        for i in check.tolist():  # compare with the estimated slot's lower edge
            np.add(slot[i], self._row_base[i], out=index[i])
            np.take(lows, index[i], out=edge[i])
            np.less(columns[i][start:stop], edge[i], out=moved[i])
            np.subtract(slot[i], moved[i], out=slot[i])

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
