"""Counting many numeric columns into their own fixed bins in one vectorised pass.

Every feature has ``nb`` inner bins given by its edges; the last inner bin is closed (as in
``np.histogram``). Around them sit two open-ended bins (below the first edge, above the last) and a
NaN slot, so each feature has ``nb + 3`` *slots*, in this order::

    [NaN, under, inner_1 … inner_nb, over]

Evenly spaced edges (what ``np.histogram`` makes) are binned by arithmetic: the slot of ``x`` is
``trunc(x * scale + shift)`` clamped to the feature's slot range, and every feature's slots get their
own offset so that one ``np.bincount`` counts all features of a row chunk at once. Rows are processed
in chunks so that the extra memory stays a few megabytes whatever the window size. Uneven edges, or
edges so far from zero that the arithmetic would lose precision, fall back to ``np.searchsorted``
(still vectorised over rows, one call per such feature).

>>> binner = NumericBinner([np.array([0.0, 1.0, 2.0])])
>>> binner.count([np.array([-5.0, 0.0, 0.5, 1.0, 2.0, 7.0, np.nan])]).tolist()
[[1, 1, 2, 2, 1]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from modelmon.core.arrays import FloatArray, IntArray

#: Rows per chunk are chosen so that one chunk of all features holds about this many values.
_CHUNK_VALUES = 1 << 19
#: Beyond this magnitude of ``x * scale`` the arithmetic binning is not precise to 1e-4 of a bin.
_MAX_SCALED = float(1 << 38)


def _is_even(edges: FloatArray) -> bool:
    widths = np.diff(edges)
    return bool(widths.size) and float(np.ptp(widths)) <= 1e-9 * float(abs(widths.mean()))


def _fit_affine(edges: FloatArray, offset: float) -> tuple[float, float, float] | None:
    """``(scale, shift, top)`` mapping ``x`` to its slot as ``trunc(x * scale + shift)``, or None.

    ``shift`` carries a margin of a few ulps so that a value *on* an edge lands in the bin above it, as
    in ``np.histogram`` (integer-valued features sit on edges all the time); every edge is checked, and
    a feature whose edges do not all map exactly gets None (it is then binned by ``searchsorted``).
    Values mapping above ``top`` (where the last edge maps) are above the range.
    """
    nb = edges.size - 1
    lo, hi = float(edges[0]), float(edges[-1])
    scale = nb / (hi - lo)
    magnitude = max(abs(lo * scale), abs(hi * scale), offset + nb + 3.0)
    if not np.isfinite(scale) or magnitude > _MAX_SCALED:
        return None
    shift = offset + 2.0 - lo * scale + 16.0 * float(np.spacing(magnitude))
    mapped = edges[:-1] * scale + shift
    if not np.array_equal(mapped.astype(np.int64), offset + 2 + np.arange(nb)):
        return None
    return scale, shift, float(hi * scale + shift)


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
            if e[-1] <= e[0]:  # zero-width range: one closed bin [lo, lo], binned exactly by searchsorted
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
        scale, shift, top = (np.array(v, dtype=np.float64).reshape(-1) for v in zip(*fits.values(), strict=True)) \
            if fits else (np.empty(0),) * 3
        base = self._fast * float(self.width)
        nb = np.array([self.edges[i].size - 1 for i in fits], dtype=np.float64)
        self._scale = scale
        self._shift = shift[:, None]
        self._top = top[:, None]
        self._lower = (base + 1.0)[:, None]
        self._upper = (base + nb + 1.0)[:, None]  # the last inner slot: what is above is counted apart
        self._over_slot = (base + nb + 2.0).astype(np.intp)
        self._nan_slot = np.broadcast_to(base[:, None], (self._fast.size, 1))

    def count(self, columns: Sequence[npt.NDArray[Any]]) -> IntArray:
        """Slot counts, shape ``(features, width)``: column 0 is NaN, then under, inner bins, over."""
        if len(columns) != len(self.edges):
            raise ValueError(f"expected {len(self.edges)} columns, got {len(columns)}")
        counts = self._count_fast([columns[i] for i in self._fast])
        for i in self._slow:
            counts[i] = self._count_slow(np.asarray(columns[i], dtype=np.float64), i)
        return counts

    def _count_fast(self, columns: list[npt.NDArray[Any]]) -> IntArray:
        """Counts of the evenly binned features, all in one ``bincount`` per chunk of rows."""
        n_features = len(columns)
        n_rows = len(columns[0]) if columns else 0
        if any(len(c) != n_rows for c in columns):
            raise ValueError("all columns must have the same length")
        total = np.zeros(len(self.edges) * self.width, dtype=np.int64)
        rows = max(256, _CHUNK_VALUES // max(n_features, 1))
        size = n_features * min(rows, max(n_rows, 1))
        values, slots = np.empty(size), np.empty(size, dtype=np.intp)
        scale = self._scale
        over = np.zeros(n_features, dtype=np.int64)
        for start in range(0, n_rows, rows):
            stop = min(n_rows, start + rows)
            block = values[: n_features * (stop - start)].reshape(n_features, stop - start)
            for i, column in enumerate(columns):
                np.multiply(column[start:stop], scale[i], out=block[i])
            np.add(block, self._shift, out=block)
            over += np.count_nonzero(block > self._top, axis=1)
            np.maximum(block, self._lower, out=block)  # NaN propagates through maximum/minimum
            np.minimum(block, self._upper, out=block)
            if np.isnan(block.sum()):
                np.copyto(block, self._nan_slot, where=np.isnan(block))
            flat = slots[: block.size]
            np.copyto(flat.reshape(block.shape), block, casting="unsafe")
            total += np.bincount(flat, minlength=total.size)
        total[self._over_slot - 1] -= over  # values above the range were clamped into the last inner bin
        total[self._over_slot] += over
        return total.reshape(len(self.edges), self.width)  # rows of the other features are zero

    def _count_slow(self, values: FloatArray, feature: int) -> IntArray:
        """Counts of one unevenly binned (or zero-width) feature, by ``searchsorted``."""
        edges = self.edges[feature]
        nb = edges.size - 1
        nan = np.isnan(values)
        slot = np.searchsorted(edges, values, side="right") + 1  # under=1, inner 2..nb+1, at/over last=nb+2
        slot[values == edges[-1]] = nb + 1  # the last inner bin is closed
        slot[nan] = 0
        out = np.zeros(self.width, dtype=np.int64)
        out[: nb + 3] = np.bincount(slot, minlength=nb + 3)
        return out
