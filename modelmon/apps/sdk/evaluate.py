"""Running an app locally on DataFrames (``App.evaluate``): notebooks and unit tests, no infrastructure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelmon.apps.sdk.artifacts import ObjectStoreArtifactSink
from modelmon.apps.sdk.context import LABEL_COLUMN, META_COLUMNS, FeatureStats, MonitoringApplicationContext
from modelmon.backends.base import ObjectStore
from modelmon.backends.memory import InMemoryObjectStore
from modelmon.core.timeutil import TimeLike, from_ms, to_ms

if TYPE_CHECKING:
    from modelmon.apps.sdk.base import ModelMonitoringApplicationBase

#: Columns of the DataFrame ``evaluate`` returns, one row per window × result/metric.
RESULT_COLUMNS = [
    "application_name", "endpoint_id", "start_infer_time", "end_infer_time",
    "type", "name", "value", "kind", "status", "extra_data",
]
_OBJECT_COLUMNS = ("kind", "status", "extra_data")
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
) -> pd.DataFrame:
    """See :meth:`ModelMonitoringApplicationBase.evaluate`."""
    from modelmon.apps.sdk.base import run_application

    if not isinstance(sample_df, pd.DataFrame):
        raise ValueError(f"sample_df must be a pandas DataFrame, got {type(sample_df).__name__}")
    reference = _reference_stats(reference_df, feature_stats)
    if feature_names is None:
        feature_names = list(reference) or [
            c for c in sample_df.columns if c not in META_COLUMNS and c != LABEL_COLUMN and c not in label_names
        ]
    if error_count is not None and base_period is not None:
        raise ValueError("error_count counts one window; with base_period put an 'error' column in sample_df")
    if objects is None:
        objects = InMemoryObjectStore()
    sink = ObjectStoreArtifactSink(objects, EVALUATE_PROJECT)
    app_name = str(getattr(app, "NAME", None) or type(app).__name__)
    rows: list[dict[str, Any]] = []
    for window_start, window_end, window_df in _windows(sample_df, start, end, base_period):
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
        )
        results, metrics = run_application(app, context)
        common = {
            "application_name": app_name, "endpoint_id": endpoint_id,
            "start_infer_time": context.start_infer_time, "end_infer_time": context.end_infer_time,
        }
        for result in results:
            rows.append({**common, "type": "result", **result.to_dict(),
                         "kind": result.kind, "status": result.status})
        for metric in metrics:
            rows.append({**common, "type": "metric", **metric.to_dict(),
                         "kind": None, "status": None, "extra_data": {}})
    # object columns keep the enums (and None for metrics) instead of pandas' float coercion
    return pd.DataFrame({
        column: pd.Series([row[column] for row in rows], dtype=object if column in _OBJECT_COLUMNS else None)
        for column in RESULT_COLUMNS
    })


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


def _windows(
    df: pd.DataFrame, start: TimeLike | None, end: TimeLike | None, base_period: int | None,
) -> list[tuple[int, int, pd.DataFrame]]:
    """``(start_ms, end_ms, rows)`` per window: one window, or one per ``base_period`` minutes."""
    times = event_times_ms(df)
    if base_period is not None:
        if isinstance(base_period, bool) or not isinstance(base_period, int) or base_period < 1:
            raise ValueError(f"base_period must be a whole number of minutes >= 1, got {base_period!r}")
        if times is None:
            raise ValueError("base_period needs a 'timestamp' column in sample_df")
    seen = times if times is not None and len(times) > 0 else None
    start_ms = to_ms(start) if start is not None else (int(seen.min()) if seen is not None else 0)
    end_ms = to_ms(end) if end is not None else (int(seen.max()) + 1 if seen is not None else start_ms)
    if end_ms < start_ms:
        raise ValueError(f"end ({end}) is before start ({start})")
    if base_period is None:
        bounds = [(start_ms, end_ms)]
    else:
        step = base_period * 60_000
        bounds = [(s, min(s + step, end_ms)) for s in range(start_ms, max(end_ms, start_ms + 1), step)]
    if times is None:
        return [(s, e, df) for s, e in bounds]
    values = times.to_numpy()
    return [(s, e, df[(values >= s) & (values < e)]) for s, e in bounds]


def _latest(df: pd.DataFrame) -> pd.Timestamp | None:
    times = event_times_ms(df)
    return from_ms(int(times.max())) if times is not None and len(times) else None

