"""Feature, label and model names holding quotes go through registration and the stream function on both backends.

Names are values inside JSON attributes (``feature_names``, ``feature_types``, ``feature_stats``), never
attribute names. On V3IO the endpoint's counting compare-and-set wrote them into an update expression,
which cannot hold text with both quotes: every tracked request of such an endpoint raised.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import nuclio_sdk
import nuclio_sdk.test
import pandas as pd
import pytest
from v3io_server.stack import ACCESS_KEY, V3ioOpener, running_servers

from functions.stream import handler as stream_function
from modelmon.backends.base import Backend
from modelmon.backends.local import open_local_backend
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.events import endpoint_uid

PROJECT = "proj"
FUNCTION = f"{PROJECT}/serving"
MODEL = "o'brien's \"churn\""
FEATURES = ["owner's_age", 'say "hi"', "back\\slash", "plain"]
T = now_ms() - 60_000


@contextlib.contextmanager
def _backend(kind: str, tmp_path, monkeypatch) -> Iterator[Backend]:
    """The backend under test, with the environment the stream function builds its own from."""
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    if kind == "local":
        monkeypatch.setenv("MODELMON_BACKEND", "local")
        monkeypatch.setenv("MODELMON_HOME", str(tmp_path / "home"))
        backend = open_local_backend(str(tmp_path / "home"))
        yield backend
        backend.close()
        return
    with running_servers() as (web, frames):
        opener = V3ioOpener(api=web.url, framesd=frames.address, port=web.port, project=PROJECT)
        for name, value in opener.settings().to_env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("V3IO_ACCESS_KEY", ACCESS_KEY)
        backend = opener()
        yield backend
        backend.close()


def _track(platform: nuclio_sdk.test.Platform, contexts: list, offset: int, rows: list[list]) -> dict:
    body = {"class": "SKLearnModelServer", "worker": 0, "model": MODEL, "host": "h", "function_uri": FUNCTION,
            "headers": ["request", "op", "resp", "when", "microsec", "metrics", "error"],
            "values": [[{"id": f"r{offset}.{i}", "inputs": [row]}, "infer", {"id": f"r{offset}.{i}", "outputs": [1]},
                        T + offset * 10 + i, 1000, {}, None] for i, row in enumerate(rows)]}
    event = nuclio_sdk.Event(body=json.dumps(body).encode(), shard_id=0, offset=offset)

    def keep(context):
        if context not in contexts:
            contexts.append(context)
        return context

    return platform.call_handler_with_context_mutation(stream_function.handler, event, keep)


@pytest.mark.parametrize("kind", ["local", "v3io"])
def test_names_with_quotes_are_counted_stored_and_read_back_intact(kind, tmp_path, monkeypatch):
    with _backend(kind, tmp_path, monkeypatch) as backend:
        reference = pd.DataFrame({"owner's_age": [30.0, 40.0], 'say "hi"': ["a", "b"], "back\\slash": [1.0, 2.0],
                                  "plain": [0.5, 0.7], "label's": [0, 1]})
        register_model_endpoint(backend, PROJECT, MODEL, reference_data=reference, label_names=["label's"],
                                function_uri=FUNCTION)
        endpoint_id = endpoint_uid(PROJECT, FUNCTION, MODEL, None)
        platform, contexts = nuclio_sdk.test.Platform(), []
        try:
            first = _track(platform, contexts, 1, [[35.0, "a", 1.5, 0.6]])
            second = _track(platform, contexts, 2, [[45.0, "b", 2.5, 0.8], [50.0, "a", 3.0, 0.9]])
        finally:
            for context in contexts:  # as the platform's shutdown would: the flow's thread and the backend
                context.user_data.function.close()
        register_model_endpoint(backend, PROJECT, MODEL, reference_data=reference, label_names=["label's"],
                                function_uri=FUNCTION)  # again: an update of the stored record

        assert (first["requests"], second["requests"], first["rejected"] + second["rejected"]) == (1, 2, 0)
        store = EndpointStore(backend.kv, PROJECT)
        endpoint = store.get(endpoint_id)
        assert endpoint is not None and endpoint.name == MODEL
        assert endpoint.feature_names == FEATURES and endpoint.label_names == ["label's"]
        assert endpoint.feature_types == {"owner's_age": "number", 'say "hi"': "text", "back\\slash": "number",
                                          "plain": "number"}
        assert set(endpoint.feature_stats) == {*FEATURES, "label's"}
        assert endpoint.request_count == 3
        assert [e.endpoint_id for e in store.scan(name=MODEL)] == [endpoint_id]
        assert list(store.scan(name="o'brien's")) == []
        samples = backend.samples.read(endpoint_id, 0, 2**62)
        assert samples["owner's_age"].tolist() == [35.0, 45.0, 50.0]
        assert samples['say "hi"'].tolist() == ["a", "b", "a"]
