"""The monitoring context an application receives for one window of one endpoint."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

FeatureStats = dict[str, dict[str, Any]]


class ArtifactSink(Protocol):
    """Where ``log_artifact``/``log_dataset`` store what an application logs."""

    def log_artifact(self, context: MonitoringApplicationContext, name: str, body: Any, fmt: str | None) -> str:
        """Store the artifact and return its path/key."""


class MonitoringApplicationContext:
    """Everything ``do_tracking`` may read about the window it analyses (MLRun's names).

    ``sample_df`` is read from the sample store only when first used, and ``sample_df_stats``
    (histograms of the window over the reference's bin edges) only when first used.
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

    @functools.cached_property
    def sample_df(self) -> pd.DataFrame:
        """The window's rows (features, predictions, ``timestamp``, ``latency``, …)."""
        source = self._sample_df
        return source() if callable(source) else source

    @functools.cached_property
    def sample_df_stats(self) -> FeatureStats:
        """Histograms and summary statistics of the window, over the reference's bin edges."""
        stats_fn = self._stats_fn
        if stats_fn is None:
            from modelmon.stats import sample_df_stats as stats_fn
        return stats_fn(self.sample_df, self.feature_stats)

    def log_artifact(self, name: str, body: Any = None, *, df: pd.DataFrame | None = None,
                     figure: Any = None, format: str | None = None) -> str:
        """Store an artifact for this project/app/endpoint/window; returns where it went."""
        payload = next((x for x in (body, df, figure) if x is not None), None)
        if payload is None:
            raise ValueError("log_artifact needs one of body, df or figure")
        if self._artifact_sink is None:
            raise RuntimeError("this context has no artifact store (run the app through modelmon)")
        return self._artifact_sink.log_artifact(self, name, payload, format)

    def log_dataset(self, name: str, df: pd.DataFrame, format: str = "parquet") -> str:
        """Store a DataFrame as a dataset artifact."""
        return self.log_artifact(name, df=df, format=format)
