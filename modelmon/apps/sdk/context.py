"""The monitoring context an application receives for one window of one endpoint."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

from modelmon.apps.sdk.artifact_formats import is_figure

FeatureStats = dict[str, dict[str, Any]]

#: Sample-store columns that are bookkeeping, not model inputs or outputs.
META_COLUMNS = ("timestamp", "request_id", "latency_us", "batch_id", "error")
#: The conventional name of a ground-truth column carried in the window's rows.
LABEL_COLUMN = "label"


class ArtifactSink(Protocol):
    """Where ``log_artifact``/``log_dataset`` store what an application logs."""

    def log_artifact(
        self, context: MonitoringApplicationContext, name: str, body: Any, fmt: str | None,
        *, unique_per_endpoint: bool = True,
    ) -> str:
        """Store the artifact for the context's window and return its path/key.

        ``unique_per_endpoint=False`` stores one artifact per app and window shared by all endpoints.
        """


class MonitoringApplicationContext:
    """Everything ``do_tracking`` may read about the window it analyses (MLRun's names).

    Expensive values are loaded only when first used, from loaders passed by whoever builds the
    context (the app runtime reads them from the backend; ``App.evaluate`` from DataFrames):

    - ``sample_df``: the window's rows (features, predictions, ``timestamp``, ``request_id``,
      ``latency_us``, …), a DataFrame or a callable returning one;
    - ``sample_df_stats``: histograms of the window over the reference's bin edges;
    - ``error_count``: model errors in the window (an int or a callable returning one); by default
      the number of non-null values of an ``error`` column of ``sample_df``, else 0;
    - ``labels_df``: ground-truth labels for the window's requests, with a ``request_id`` column to
      join on (a DataFrame or a callable); by default ``sample_df`` itself, i.e. the labels are the
      columns already present in the window's rows (e.g. a ``label`` column).
    """

    def __init__(
        self,
        *,
        application_name: str,
        project_name: str,
        endpoint_id: str,
        endpoint_name: str = "",
        start_infer_time: pd.Timestamp,
        end_infer_time: pd.Timestamp,
        sample_df: pd.DataFrame | Callable[[], pd.DataFrame],
        feature_stats: FeatureStats | None = None,
        feature_names: Sequence[str] = (),
        label_names: Sequence[str] = (),
        model_endpoint: Mapping[str, Any] | None = None,
        logger: logging.Logger | Any = None,
        artifact_sink: ArtifactSink | None = None,
        stats_fn: Callable[[pd.DataFrame, FeatureStats], FeatureStats] | None = None,
        latest_request: pd.Timestamp | None = None,
        output_stream_uri: str = "",
        error_count: int | Callable[[], int] | None = None,
        labels_df: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
    ) -> None:
        self.application_name = application_name
        self.project_name = project_name
        self.endpoint_id = endpoint_id
        self.endpoint_name = endpoint_name
        self.start_infer_time = start_infer_time
        self.end_infer_time = end_infer_time
        self.feature_stats: FeatureStats = feature_stats or {}
        self.feature_names = list(feature_names)
        self.label_names = list(label_names)
        self.model_endpoint = dict(model_endpoint or {})
        self.logger = logger or logging.getLogger(f"modelmon.app.{application_name}")
        self.latest_request = latest_request
        self.output_stream_uri = output_stream_uri
        self._sample_df = sample_df
        self._artifact_sink = artifact_sink
        self._stats_fn = stats_fn
        self._error_count = error_count
        self._labels_df = labels_df

    @functools.cached_property
    def sample_df(self) -> pd.DataFrame:
        """The window's rows (features, predictions, ``timestamp``, ``latency_us``, …)."""
        source = self._sample_df
        return source() if callable(source) else source

    @functools.cached_property
    def sample_df_stats(self) -> FeatureStats:
        """Histograms and summary statistics of the window, over the reference's bin edges."""
        stats_fn = self._stats_fn
        if stats_fn is None:
            from modelmon.stats import sample_df_stats

            stats_fn = sample_df_stats
        return stats_fn(self.sample_df, self.feature_stats)

    @functools.cached_property
    def error_count(self) -> int:
        """Model errors in the window (requests that produced no prediction row)."""
        source = self._error_count
        if source is not None:
            count = source() if callable(source) else source
            if isinstance(count, bool) or int(count) != count or count < 0:
                raise ValueError(f"error_count must be a non-negative whole number, got {count!r}")
            return int(count)
        if "error" in self.sample_df.columns:
            return int(self.sample_df["error"].notna().sum())
        return 0

    @functools.cached_property
    def labels_df(self) -> pd.DataFrame:
        """Ground-truth labels of the window's requests (``request_id`` + label columns)."""
        source = self._labels_df
        if source is None:
            return self.sample_df
        return source() if callable(source) else source

    def log_artifact(self, name: str, body: Any = None, *, df: pd.DataFrame | None = None,
                     figure: Any = None, format: str | None = None, unique_per_endpoint: bool = True) -> str:
        """Store an artifact for this project/app/endpoint/window; returns where it went.

        Pass exactly one of ``body`` (text, bytes, or a JSON-able object), ``df`` or ``figure``
        (matplotlib or plotly). ``format`` is one of json/text/html/csv/parquet/png; by default it is
        chosen from the payload (json for objects, text for str, parquet for DataFrames, html for figures).
        """
        payloads = [x for x in (body, df, figure) if x is not None]
        if len(payloads) != 1:
            raise ValueError(f"log_artifact({name!r}) needs exactly one of body, df or figure")
        if figure is not None and not is_figure(figure):
            raise ValueError(
                f"log_artifact({name!r}): figure must be a matplotlib or plotly figure, got {type(figure).__name__}"
            )
        if self._artifact_sink is None:
            raise RuntimeError("this context has no artifact store (run the app through modelmon)")
        return self._artifact_sink.log_artifact(
            self, name, payloads[0], format, unique_per_endpoint=unique_per_endpoint
        )

    def log_dataset(self, name: str, df: pd.DataFrame, format: str = "parquet") -> str:
        """Store a DataFrame as a dataset artifact (parquet by default, or csv)."""
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"log_dataset({name!r}) needs a pandas DataFrame, got {type(df).__name__}")
        if format not in ("parquet", "csv"):
            raise ValueError(f"log_dataset({name!r}): format must be 'parquet' or 'csv', got {format!r}")
        return self.log_artifact(name, df=df, format=format)
