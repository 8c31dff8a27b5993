"""Running an app locally on DataFrames (``App.evaluate``): notebooks and unit tests, no infrastructure.

The windows are the controller's (see :mod:`modelmon.apps.sdk.evaluate_windows`); statuses and kinds
come as names next to their integers, as the readers of stored results give them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelmon.apps.reference_rows import rows_key
from modelmon.apps.sdk.artifacts import ObjectStoreArtifactSink
from modelmon.apps.sdk.context import (
    LABEL_COLUMN,
    META_COLUMNS,
    FeatureStats,
    MonitoringApplicationContext,
    wants_bookkeeping_columns,
)
from modelmon.apps.sdk.evaluate_windows import cut_windows
from modelmon.backends.base import ObjectStore
from modelmon.backends.memory import InMemoryObjectStore
from modelmon.core.results import ResultKindApp, ResultStatusApp
from modelmon.core.timeutil import TimeLike, from_ms

if TYPE_CHECKING:
    from modelmon.apps.sdk.base import ModelMonitoringApplicationBase

#: Columns of the DataFrame ``evaluate`` returns, one row per window × result/metric. ``status``/``kind``
#: are the integers MLRun stores, ``status_name``/``kind_name`` their names (all ``None`` for a metric).
RESULT_COLUMNS = [
    "application_name", "endpoint_id", "start_infer_time", "end_infer_time",
    "type", "name", "value", "status", "status_name", "kind", "kind_name", "extra_data",
]
_OBJECT_COLUMNS = ("status", "status_name", "kind", "kind_name", "extra_data")
EVALUATE_PROJECT = "evaluate"


def evaluate_app(
    app: ModelMonitoringApplicationBase,
    sample_df: pd.DataFrame,
    *,
    reference_df: pd.DataFrame | None = None,
    feature_stats: FeatureStats | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    base_period: int | None = None,
    endpoint_id: str = "evaluate",
    feature_names: Sequence[str] | None = None,
    label_names: Sequence[str] = (),
    model_endpoint: Mapping[str, Any] | None = None,
    labels_df: pd.DataFrame | None = None,
    error_count: int | None = None,
    objects: ObjectStore | None = None,
    logger: Any = None,
    reference_rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """See :meth:`ModelMonitoringApplicationBase.evaluate`.

    ``context.reference_rows`` are ``reference_rows`` when given (an endpoint's stored rows, say), else
    ``reference_df`` itself, with every column (labels and scores included).
    """
    from modelmon.apps.sdk.base import run_application

    if not isinstance(sample_df, pd.DataFrame):
        raise ValueError(f"sample_df must be a pandas DataFrame, got {type(sample_df).__name__}")
    reference = _reference_stats(reference_df, feature_stats)
    given_rows = reference_rows if reference_rows is not None else reference_df
    if given_rows is not None and not isinstance(given_rows, pd.DataFrame):
        raise ValueError(f"reference_rows must be a pandas DataFrame, got {type(given_rows).__name__}")
    ref_rows = None if given_rows is None else given_rows.reset_index(drop=True)
    ref_key = None if ref_rows is None else rows_key(ref_rows)  # once: every window shares the rows
    if feature_names is None:
        feature_names = list(reference) or [
            c for c in sample_df.columns if c not in META_COLUMNS and c != LABEL_COLUMN and c not in label_names
        ]
    if error_count is not None and base_period is not None:
        raise ValueError("error_count counts one window; with base_period put an 'error' column in sample_df")
    cut = cut_windows(sample_df, event_times_ms(sample_df), start, end, base_period)
    if objects is None:
        objects = InMemoryObjectStore()
    sink = ObjectStoreArtifactSink(objects, EVALUATE_PROJECT)
    app_name = str(getattr(app, "NAME", None) or type(app).__name__)
    bookkeeping = wants_bookkeeping_columns(app)
    rows: list[dict[str, Any]] = []
    for window_start, window_end, window_df in cut.windows:
        context = MonitoringApplicationContext(
            application_name=app_name,
            project_name=EVALUATE_PROJECT,
            endpoint_id=endpoint_id,
            endpoint_name=endpoint_id,
            start_infer_time=from_ms(window_start),
            end_infer_time=from_ms(window_end),
            sample_df=window_df,
            feature_stats=reference,
            feature_names=feature_names,
            label_names=label_names,
            model_endpoint=model_endpoint,
            artifact_sink=sink,
            latest_request=_latest(window_df),
            error_count=error_count,
            labels_df=labels_df,
            logger=logger,
            bookkeeping_columns=bookkeeping,
            reference_rows=ref_rows,
            reference_rows_key=ref_key,
        )
        results, metrics = run_application(app, context)
        common = {
            "application_name": app_name, "endpoint_id": endpoint_id,
            "start_infer_time": context.start_infer_time, "end_infer_time": context.end_infer_time,
        }
        for result in results:
            status, kind = ResultStatusApp(int(result.status)), ResultKindApp(int(result.kind))
            rows.append({**common, "type": "result", **result.to_dict(), "status": int(status),
                         "status_name": status.name, "kind": int(kind), "kind_name": kind.name})
        for metric in metrics:
            rows.append({**common, "type": "metric", **metric.to_dict(), "status": None, "status_name": None,
                         "kind": None, "kind_name": None, "extra_data": {}})
    # object columns keep whole numbers (and None for metrics) instead of pandas' float coercion
    frame = pd.DataFrame({
        column: pd.Series([row[column] for row in rows], dtype=object if column in _OBJECT_COLUMNS else None)
        for column in RESULT_COLUMNS
    })
    frame.attrs["rows_left_out"] = cut.rows_left_out
    return frame


def _reference_stats(reference_df: pd.DataFrame | None, feature_stats: FeatureStats | None) -> FeatureStats:
    """The reference ``feature_stats``: given, computed from ``reference_df``, or none."""
    if reference_df is not None and feature_stats is not None:
        raise ValueError("pass reference_df or feature_stats, not both")
    if reference_df is None:
        return dict(feature_stats or {})
    if not isinstance(reference_df, pd.DataFrame):
        raise ValueError(f"reference_df must be a pandas DataFrame, got {type(reference_df).__name__}")
    from modelmon.stats import feature_stats as compute_feature_stats

    drop = [c for c in reference_df.columns if c in META_COLUMNS or c == LABEL_COLUMN]
    return compute_feature_stats(reference_df.drop(columns=drop))


def event_times_ms(df: pd.DataFrame) -> pd.Series | None:
    """The ``timestamp`` column as int epoch ms (it may hold ints in ms or datetimes), or ``None``."""
    if "timestamp" not in df.columns:
        return None
    column = df["timestamp"]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        if column.isna().any():
            raise ValueError("sample_df['timestamp'] has missing values")
        return column.astype("int64")
    try:
        times = pd.to_datetime(column, utc=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"sample_df['timestamp'] is neither epoch ms nor datetimes ({exc})") from None
    if times.isna().any():
        raise ValueError("sample_df['timestamp'] has missing values")
    return (times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)


def _latest(df: pd.DataFrame) -> pd.Timestamp | None:
    times = event_times_ms(df)
    return from_ms(int(times.max())) if times is not None and len(times) else None

