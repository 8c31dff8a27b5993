"""Frames derived from the result history for notebooks: per-window per-feature values, and one wide
window x ``app.result`` table.

Both read :func:`modelmon.queries.result_history` (and :func:`~modelmon.queries.metric_history`), so they
see what the CLI sees.

Per-feature values come from what apps put in a result's ``extra_data``:

- ``features``: ``{feature: {name: number}}`` gives one column per name (the histogram-drift app's
  ``general_drift``: ``tvd``, ``hellinger``, ``kld``, ``status``), ``{feature: number}`` one column named
  after the result (the data-quality apps);
- ``feature_scores`` / ``feature_thresholds`` / ``n_window`` / ``n_reference`` (``{feature: number}``) give
  ``score`` / ``threshold`` / ``n_window`` / ``n_reference``, and ``drifted_features`` (a list) gives
  ``drifted`` (the histogram-drift app's ``drifted_features_share``).

Apps bound these lists (``max_features_in_extra_data``), most drifted first, so a window lists at most
that many features.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from modelmon.backends.base import Backend
from modelmon.queries import metric_history, result_history, status_name

#: The leading columns of :func:`feature_drift`; value columns follow, in the order apps wrote them.
FEATURE_COLUMNS = ["endpoint_id", "app_name", "start_ms", "end_ms", "feature"]
_RENAMED = {"feature_scores": "score", "feature_thresholds": "threshold", "n_window": "n_window",
            "n_reference": "n_reference"}  # the histogram-drift app's drifted_features_share


def feature_drift(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                  since_ms: int | None = None, until_ms: int | None = None) -> pd.DataFrame:
    """One row per endpoint, app, window and feature, with the per-feature values the app stored in its
    results' ``extra_data`` (see the module docstring); ``status_name`` next to a per-feature ``status``.

    Windows are those ending in ``[since_ms, until_ms)``; within a window, features keep the app's order.
    """
    history = result_history(backend, project, endpoint_id=endpoint_id, app_name=app_name, since_ms=since_ms,
                             until_ms=until_ms, extra_data=True)
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in history.to_dict("records"):
        window = tuple(record[k] for k in FEATURE_COLUMNS[:-1])
        for feature, values in per_feature(record["result_name"], record["extra_data"]):
            rows.setdefault((*window, feature), dict(zip(FEATURE_COLUMNS, (*window, feature), strict=True))) \
                .update(values)
    df = pd.DataFrame(list(rows.values()))
    if df.empty:
        return pd.DataFrame(columns=FEATURE_COLUMNS)
    if "status" in df.columns:
        df.insert(list(df.columns).index("status") + 1, "status_name",
                  [status_name(s) if pd.notna(s) else "" for s in df["status"]])
    last = [c for c in (*_RENAMED.values(), "drifted") if c in df.columns]  # the per-feature values first
    df = df[[c for c in df.columns if c not in last] + last]
    return df.sort_values(FEATURE_COLUMNS[:4], kind="stable").reset_index(drop=True)


def per_feature(result_name: str, extra_data: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(feature, {column: value})`` pairs from one result's ``extra_data`` (see the module docstring).

    >>> list(per_feature("share", {"feature_scores": {"age": 0.4, "income": 0.01}, "drifted_features": ["age"]}))
    [('age', {'score': 0.4}), ('income', {'score': 0.01}), ('age', {'drifted': True}), ('income', {'drifted': False})]
    """
    features = extra_data.get("features")
    listed: list[str] = []
    if isinstance(features, Mapping):
        for feature, values in features.items():
            if isinstance(values, Mapping):
                numbers = {k: v for k, v in values.items() if _is_number(v)}
            else:
                numbers = {result_name: values} if _is_number(values) else {}
            if numbers:
                listed.append(str(feature))
                yield str(feature), numbers
    for key, column in _RENAMED.items():
        values = extra_data.get(key)
        if isinstance(values, Mapping):
            for feature, value in values.items():
                if _is_number(value):
                    listed.append(str(feature))
                    yield str(feature), {column: value}
    drifted = extra_data.get("drifted_features")
    if isinstance(drifted, list):
        flagged = {str(f) for f in drifted}
        for feature in dict.fromkeys([*listed, *flagged]):
            yield feature, {"drifted": feature in flagged}


def results_frame(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                  since_ms: int | None = None, until_ms: int | None = None, statuses: bool = False,
                  metrics: bool = True) -> pd.DataFrame:
    """One endpoint's windows as rows (index ``start``: the window start, a UTC ``Timestamp``) and
    ``"<app>.<result>"`` columns of values; with ``statuses``, a ``"<app>.<result>.status"`` column of
    status names after each; with ``metrics``, ``"<app>.<metric>"`` columns too (``"<app>.<metric>.metric"``
    when a result has that name). Empty cells: the app had no such result for that window.

    ``ValueError`` when the windows belong to several endpoints: pass ``endpoint_id``.
    """
    history = result_history(backend, project, endpoint_id=endpoint_id, app_name=app_name, since_ms=since_ms,
                             until_ms=until_ms)
    measured = metric_history(backend, project, endpoint_id=endpoint_id, app_name=app_name, since_ms=since_ms,
                              until_ms=until_ms) if metrics else history.iloc[0:0]
    endpoints = sorted({*history["endpoint_id"], *measured["endpoint_id"]})
    if len(endpoints) > 1:
        raise ValueError(f"the results belong to {len(endpoints)} endpoints ({', '.join(endpoints)}): "
                         "pass endpoint_id (an id or a name)")
    parts = [_wide(history, "result_name", "value", "")]
    if statuses:
        parts.append(_wide(history, "result_name", "status_name", ".status"))
    if metrics and len(measured):
        results = {f"{a}.{r}" for a, r in zip(history["app_name"], history["result_name"], strict=True)}
        wide = _wide(measured[measured["start_ms"].notna()], "metric_name", "value", "")
        parts.append(wide.rename(columns={c: f"{c}.metric" for c in wide.columns if c in results}))
    frame = pd.concat(parts, axis=1)
    frame = frame[sorted(frame.columns, key=lambda c: (str(c).removesuffix(".status"), str(c).endswith(".status")))]
    frame.index = pd.to_datetime(frame.index.astype("int64"), unit="ms", utc=True).rename("start")
    frame.columns.name = None
    return frame.sort_index()


def _wide(rows: pd.DataFrame, name: str, values: str, suffix: str) -> pd.DataFrame:
    """``rows`` pivoted: index window start (ms), one column per app and ``name``."""
    if rows.empty:
        return pd.DataFrame(index=pd.Index([], dtype="int64", name="start_ms"))
    columns = rows["app_name"] + "." + rows[name] + suffix
    keyed = rows.assign(column=columns, start_ms=rows["start_ms"].astype("int64"))
    return keyed.groupby(["start_ms", "column"], sort=True)[values].last().unstack("column")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
