"""What the windows of one packed record share: their samples, error counts and endpoint records, read together on
first use.

An app that never asks for ``sample_df`` or ``error_count`` reads neither, as with a lone window; the first
window that asks reads them for the windows after it too (:class:`~modelmon.apps.runner.window_samples.
WindowSamples`; one TSDB read of the errors of every endpoint of the pack). Each window gets what reading it
alone gives. An endpoint's record is read once per pack (each window gets its own copy: :class:`~modelmon.apps.
runner.endpoint_record.EndpointRecord`), all of the pack's endpoints in one read where the KV has one for many keys.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import pandas as pd

from modelmon.apps.runner.endpoint_record import EndpointRecord
from modelmon.apps.runner.sample_files import SampleFiles
from modelmon.apps.runner.window_samples import WindowKey, WindowSamples
from modelmon.backends.base import Backend, get_many
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.events import WindowEvent


class WindowPack:
    """Reads for the ``windows`` of one record, shared by their contexts; ``files``: what the function knows of
    the sample files, kept across records."""

    def __init__(self, backend: Backend, paths: ProjectPaths, windows: Sequence[WindowEvent],
                 files: SampleFiles | None = None) -> None:
        self._backend = backend
        self._paths = paths
        self._windows = list(windows)
        self._samples = WindowSamples(backend.samples, [_key(w) for w in windows], files)
        self._errors: dict[WindowKey, int] | None = None
        self._endpoints: dict[str, EndpointRecord | None] = {}
        self._uses = collections.Counter(w.endpoint_id for w in self._windows)  # windows per endpoint

    def endpoint(self, window: WindowEvent) -> EndpointRecord | None:
        """The record of the window's endpoint (``None``: not in the endpoints table), read and decoded once for
        the windows of the pack that analyse it."""
        endpoint_id = window.endpoint_id
        if endpoint_id not in self._endpoints:  # the first window asking: every endpoint of the pack read at once
            table = self._paths.endpoints_table
            wanted = [key for key in self._uses if key not in self._endpoints]
            try:
                items = get_many(self._backend.kv, table, wanted)
            except ValueError:  # a key the store refuses: this endpoint read alone, so only its windows fail
                wanted = [endpoint_id]
                items = {key: item for key in wanted if (item := self._backend.kv.get(table, key)) is not None}
            for key in wanted:
                item = items.get(key)
                self._endpoints[key] = None if item is None else EndpointRecord(item, self._uses[key])
        return self._endpoints[endpoint_id]

    def sample_df(self, window: WindowEvent) -> pd.DataFrame:
        """The window's samples, as ``backend.samples.read(endpoint_id, start_ms, end_ms)``."""
        return self._samples.read(_key(window))

    def error_count(self, window: WindowEvent) -> int:
        """Model errors of the window's endpoint in its range, as :func:`~modelmon.apps.runner.window_context.
        window_error_count` counts them; one read for the whole pack."""
        if self._errors is None:
            self._errors = self._read_errors()
        return self._errors.get(_key(window), 0)

    def _read_errors(self) -> dict[WindowKey, int]:
        first = min(w.start_ms for w in self._windows)
        last = max(w.end_ms for w in self._windows)
        endpoints = sorted({w.endpoint_id for w in self._windows})
        try:
            df = self._backend.tsdb.read(self._paths.errors_tsdb, first, last, filters={"endpoint_id": endpoints},
                                         columns=["count"])
        except NotFound:  # no endpoint has reported an error yet
            return {}
        if df.empty:
            return {}
        series = {str(endpoint): (rows["time"].to_numpy(), rows["count"].to_numpy())
                  for endpoint, rows in df.groupby("endpoint_id", sort=False)}
        out = {}
        for window in self._windows:
            times, counts = series.get(window.endpoint_id, (None, None))
            if times is not None and counts is not None:
                out[_key(window)] = int(counts[(times >= window.start_ms) & (times < window.end_ms)].sum())
        return out


def _key(window: WindowEvent) -> WindowKey:
    return (window.endpoint_id, window.start_ms, window.end_ms)
