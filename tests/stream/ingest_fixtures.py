"""Helpers the ingest tests share (not in conftest.py: `from conftest import` is ambiguous in a full run)."""

from __future__ import annotations

import json

import nuclio_sdk
import nuclio_sdk.test

from functions.stream import handler as stream_function
from modelmon.backends import SeekTo
from modelmon.backends.local import open_local_backend
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import DeadLetter

PROJECT = "proj"
META = {"class": "SKLearnModelServer", "worker": 0, "model": "churn", "version": "v2", "host": "serving-abc",
        "function_uri": "proj/serving:latest"}


class StreamFunction:
    """The stream function under ``nuclio_sdk.test.Platform``, plus readers of what it stored."""

    def __init__(self, home) -> None:
        self.platform = nuclio_sdk.test.Platform()
        self.backend = open_local_backend(home)
        self.paths = ProjectPaths(PROJECT)
        self.contexts: list = []

    def send(self, body, shard: int | None = 0, offset: int | None = None, **event):
        """Deliver one record (``body`` dict → JSON bytes); a list of Events is delivered as one batch."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        if not isinstance(body, list):
            body = nuclio_sdk.Event(body=body, shard_id=shard, offset=offset, **event)
        return self.platform.call_handler_with_context_mutation(stream_function.handler, body, self._keep)

    def _keep(self, context):
        if context not in self.contexts:
            self.contexts.append(context)
        return context

    def endpoint(self, endpoint_id: str) -> ModelEndpoint:
        item = self.backend.kv.get(self.paths.endpoints_table, endpoint_id)
        assert item is not None, f"no endpoint record {endpoint_id}"
        return ModelEndpoint.from_item(item)

    def item(self, endpoint_id: str) -> dict:
        return self.backend.kv.get(self.paths.endpoints_table, endpoint_id)

    def samples(self, endpoint_id: str):
        return self.backend.samples.read(endpoint_id, 0, 2**62)

    def tsdb(self, table: str):
        return self.backend.tsdb.read(table, 0, 2**62)

    def dead_letters(self) -> list[DeadLetter]:
        streams, path = self.backend.streams, self.paths.dead_letter_stream
        letters = []
        for shard in range(streams.describe(path).shards):
            start = streams.seek(path, shard, SeekTo.EARLIEST)
            letters += [DeadLetter.from_body(r.data) for r in streams.read(path, shard, start, limit=10_000)]
        return letters

    def close(self) -> None:
        for context in self.contexts:  # stop the storey flow's thread, as the platform's shutdown does
            context.user_data.flow.close()
        self.backend.close()


def single(**overrides) -> dict:
    """One tracked request in MLRun's single shape (two input rows, flat outputs)."""
    event = {
        **META,
        "request": {"id": "r-1", "inputs": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]},
        "op": "infer",
        "resp": {"id": "r-1", "model_name": "churn", "model_version": "v2", "outputs": [0, 1]},
        "when": "2024-03-01 12:00:00.250000",
        "microsec": 1500,
        "metrics": {},
    }
    event.update(overrides)
    return event


def batched(entries: list[dict], **meta) -> dict:
    """MLRun's batched ``headers/values`` shape; each entry has request/resp/when/microsec (or error)."""
    headers = ["request", "op", "resp", "when", "microsec", "metrics", "error"]
    return {**META, **meta, "headers": headers,
            "values": [[e.get("request"), "infer", e.get("resp"), e.get("when"), e.get("microsec"), {},
                        e.get("error")] for e in entries]}


def entry(i: int, features: list, outputs: list, when: str | int, microsec: int = 1000) -> dict:
    return {"request": {"id": f"r{i}", "inputs": [features]}, "resp": {"id": f"r{i}", "outputs": outputs},
            "when": when, "microsec": microsec}
