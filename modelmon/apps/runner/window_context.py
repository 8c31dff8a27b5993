"""The ``MonitoringApplicationContext`` of one window, with its data read lazily from the backend.

An app that only looks at ``error_count`` never reads the window's parquet; one that only reads
``sample_df`` never computes histograms; only one that asks for ``reference_rows`` reads them (through
the runner's :class:`~modelmon.apps.runner.reference_cache.ReferenceRowsCache`, once per endpoint).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from modelmon.apps.runner.endpoint_record import EndpointRecord
from modelmon.apps.runner.reference_cache import ReferenceRowsCache
from modelmon.apps.runner.window_pack import WindowPack
from modelmon.apps.sdk import MonitoringApplicationContext
from modelmon.apps.sdk.artifacts import ObjectStoreArtifactSink
from modelmon.backends.base import Backend
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import from_ms
from modelmon.endpoints.reference_rows import read_reference_rows, stats_digest
from modelmon.events import WindowEvent
from modelmon.labels.matching import load_window_labels


def build_context(
    window: WindowEvent,
    endpoint_item: Mapping[str, Any] | EndpointRecord,
    backend: Backend,
    paths: ProjectPaths,
    logger: logging.Logger | Any = None,
    *,
    nuclio_logger: Any = None,
    bookkeeping_columns: bool = False,
    reference_rows: ReferenceRowsCache | None = None,
    pack: WindowPack | None = None,
) -> MonitoringApplicationContext:
    """The context ``do_tracking`` receives for ``window`` of the endpoint stored as ``endpoint_item`` (the item, or
    the :class:`EndpointRecord` the windows of a pack share).

    ``logger`` (default: ``modelmon.app.<name>``) takes MLRun's keyword fields; ``nuclio_logger`` is the
    function's Nuclio logger; ``bookkeeping_columns`` keeps ``request_id``, ``latency_us``… in ``sample_df``;
    ``reference_rows`` is the runner's cache of reference rows (without it they are read for this window);
    ``pack`` reads the samples and error counts of the windows of one packed record together.
    """
    record = endpoint_item if isinstance(endpoint_item, EndpointRecord) else EndpointRecord(endpoint_item, uses=1)
    endpoint, model_endpoint = record.take()
    key = _ReferenceKey(endpoint.feature_stats)
    return MonitoringApplicationContext(
        application_name=window.app_name,
        project_name=window.project,
        endpoint_id=window.endpoint_id,
        endpoint_name=endpoint.name or window.endpoint_name,
        start_infer_time=from_ms(window.start_ms),
        end_infer_time=from_ms(window.end_ms),
        sample_df=(lambda: pack.sample_df(window)) if pack is not None else (
            lambda: backend.samples.read(window.endpoint_id, window.start_ms, window.end_ms)),
        feature_stats=endpoint.feature_stats,
        feature_names=endpoint.feature_names,
        label_names=endpoint.label_names,
        model_endpoint=model_endpoint,
        logger=logger,
        nuclio_logger=nuclio_logger,
        bookkeeping_columns=bookkeeping_columns,
        artifact_sink=ObjectStoreArtifactSink(backend.objects, window.project),
        latest_request=from_ms(endpoint.last_request_ms) if endpoint.last_request_ms is not None else None,
        output_stream_uri=paths.writer_stream,
        error_count=(lambda: pack.error_count(window)) if pack is not None else (
            lambda: window_error_count(backend, paths, window)),
        labels_df=lambda: load_window_labels(backend, window.project, window.endpoint_id, window.start_ms,
                                             window.end_ms),
        reference_rows=lambda: _reference_rows(reference_rows, backend, paths, window.endpoint_id, key),
        reference_rows_key=key,
    )


class _ReferenceKey:
    """The digest of the endpoint's ``feature_stats``, the key of its reference rows: computed on first use."""

    def __init__(self, feature_stats: Mapping[str, Any]) -> None:
        self._stats = feature_stats
        self._digest: str | None = None

    def __call__(self) -> str | None:
        if not self._stats:
            return None  # no reference registered: no rows either
        if self._digest is None:
            self._digest = stats_digest(self._stats)
        return self._digest


def _reference_rows(cache: ReferenceRowsCache | None, backend: Backend, paths: ProjectPaths, endpoint_id: str,
                    key: _ReferenceKey) -> pd.DataFrame | None:
    digest = key()
    if digest is None:
        return None
    if cache is not None:
        return cache.rows(endpoint_id, digest)
    stored = read_reference_rows(backend.objects, paths, endpoint_id)
    return stored.frame if stored is not None and stored.stats_digest == digest else None


def window_error_count(backend: Backend, paths: ProjectPaths, window: WindowEvent) -> int:
    """Model errors the stream function counted for the endpoint in ``[start, end)``."""
    try:
        df = backend.tsdb.read(paths.errors_tsdb, window.start_ms, window.end_ms,
                               filters={"endpoint_id": window.endpoint_id}, columns=["count"])
    except NotFound:  # no endpoint has reported an error yet
        return 0
    return int(df["count"].sum()) if not df.empty else 0
