"""Reference rows for apps: the ``reference_data`` kwarg, or the rows kept when the endpoint was registered.

``feature_stats`` (histograms) is enough for per-feature drift; what needs the rows themselves — a
feature's dependence with the prediction, the reference of one segment, a PCA, a calibration — reads
them from here. A deployed app gets a path (its kwargs are JSON); ``evaluate`` and notebooks may pass the
DataFrame. Without the kwarg, an app fits on ``context.reference_rows`` (the sample registration kept)
per endpoint, through :class:`ReferenceFits`.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

import pandas as pd

if TYPE_CHECKING:
    from modelmon.apps.sdk.context import MonitoringApplicationContext

T = TypeVar("T")
#: Endpoints whose fits an app keeps by default (each holds what it fitted on up to 20,000 rows).
DEFAULT_CACHED_ENDPOINTS = 32


def load_reference_rows(reference_data: pd.DataFrame | str | pathlib.Path | None) -> pd.DataFrame | None:
    """The reference rows, or ``None``; ``ValueError`` for anything but a DataFrame or a .parquet/.csv path."""
    if reference_data is None:
        return None
    if isinstance(reference_data, pd.DataFrame):
        return reference_data.reset_index(drop=True)
    if not isinstance(reference_data, str | pathlib.Path):
        raise ValueError(f"reference_data must be a DataFrame or a parquet/CSV path, "
                         f"got {type(reference_data).__name__}")
    path = str(reference_data)
    if path.endswith(".csv"):
        return pd.read_csv(path)
    if path.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    raise ValueError(f"reference_data {path!r}: expected a .parquet or .csv file")


def rows_key(rows: pd.DataFrame) -> str:
    """A digest of ``rows`` (names, types and values): equal for equal frames.

    >>> a = pd.DataFrame({"x": [1.0, 2.0]})
    >>> rows_key(a) == rows_key(a.copy()), rows_key(a) == rows_key(a.assign(x=[1.0, 3.0]))
    (True, False)
    """
    digest = hashlib.sha256(repr((list(rows.columns), [str(t) for t in rows.dtypes])).encode())
    try:
        digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, dicts): this frame object, then
        digest.update(str(id(rows)).encode())
    return digest.hexdigest()[:16]


Source = Literal["reference_data", "endpoint", "none"]


@dataclasses.dataclass(frozen=True)
class Fitted(Generic[T]):
    """What :meth:`ReferenceFits.get` found for a window: the fitted value, where its rows came from, and
    why registered rows could not be used (``problem``: the fit's ``ValueError``)."""

    value: T | None
    source: Source
    problem: str | None = None


class ReferenceFits(Generic[T]):
    """An app's model of its reference rows: fitted once on ``reference_data`` when given, else per endpoint
    on ``context.reference_rows`` (the rows kept when the endpoint was registered) and refitted only when
    the endpoint's reference changes (``context.reference_rows_key``).

    Registered rows are fitted by ``fit_registered(rows, context)`` when given (to read the endpoint's
    ``feature_names`` or ``label_names``, say), else by ``fit(rows)``. A bad ``reference_data`` raises at
    construction (a mistake in the app's arguments); registered rows the fit refuses (its ``ValueError``)
    give ``Fitted(None, "endpoint", problem)``, kept until the reference changes, so each window can say
    why it was not judged without fitting again.

    >>> fits = ReferenceFits(pd.DataFrame({"x": [1.0, 3.0]}), lambda rows: float(rows["x"].mean()))
    >>> fits.given
    2.0
    """

    def __init__(self, reference_data: pd.DataFrame | str | pathlib.Path | None, fit: Callable[[pd.DataFrame], T],
                 *, fit_registered: Callable[[pd.DataFrame, MonitoringApplicationContext], T] | None = None,
                 max_endpoints: int = DEFAULT_CACHED_ENDPOINTS) -> None:
        if isinstance(max_endpoints, bool) or not isinstance(max_endpoints, int) or max_endpoints < 1:
            raise ValueError(f"max_endpoints must be a positive whole number, got {max_endpoints!r}")
        self._fit_registered = fit_registered or (lambda rows, _context: fit(rows))
        self.max_endpoints = max_endpoints
        frame = load_reference_rows(reference_data)
        self._given: Fitted[T] | None = None if frame is None else Fitted(fit(frame), "reference_data")
        self._by_endpoint: collections.OrderedDict[str, tuple[str, Fitted[T]]] = collections.OrderedDict()

    @property
    def given(self) -> T | None:
        """What was fitted on ``reference_data`` (``None``: not given)."""
        return None if self._given is None else self._given.value

    def get(self, context: MonitoringApplicationContext) -> Fitted[T]:
        """The fit for the context's endpoint (``reference_data``'s when given)."""
        if self._given is not None:
            return self._given
        key = context.reference_rows_key
        cached = self._by_endpoint.get(context.endpoint_id)
        if cached is not None and key is not None and cached[0] == key:
            self._by_endpoint.move_to_end(context.endpoint_id)
            return cached[1]
        rows = context.reference_rows
        if rows is None or key is None:
            self._by_endpoint.pop(context.endpoint_id, None)
            return Fitted(None, "none")  # not kept: rows may be registered at any time
        try:
            fitted: Fitted[T] = Fitted(self._fit_registered(rows, context), "endpoint")
        except ValueError as exc:
            fitted = Fitted(None, "endpoint", str(exc))
        self._by_endpoint[context.endpoint_id] = (key, fitted)
        self._by_endpoint.move_to_end(context.endpoint_id)
        while len(self._by_endpoint) > self.max_endpoints:
            self._by_endpoint.popitem(last=False)
        return fitted

    def cached_endpoints(self) -> list[str]:
        """The endpoints whose fits are kept, least recently used first."""
        return list(self._by_endpoint)
