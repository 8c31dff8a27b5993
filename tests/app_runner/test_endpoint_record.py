"""An endpoint record decoded once per pack: every window gets what decoding the item gives, sharing nothing
mutable with another window, nor its context with its ``model_endpoint`` dict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelmon.apps.runner.endpoint_record import EndpointRecord
from modelmon.apps.runner.window_pack import WindowPack
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import WindowEvent
from modelmon.stats import feature_stats

PATHS = ProjectPaths("test")


def _item() -> dict:
    reference = pd.DataFrame({"f0": np.random.default_rng(1).normal(size=100), "f1": ["a", "b"] * 50})
    return ModelEndpoint("ep1", name="m", feature_names=["f0", "f1"], labels={"team": ["x"]},
                         feature_stats=feature_stats(reference), reference_performance={"accuracy": 0.9},
                         first_request_ms=5, last_request_ms=9, request_count=4, latency_sum_us=8.0).to_item()


def test_each_window_gets_the_decoded_record_as_its_own_even_after_the_others_changed_theirs():
    item = _item()
    expected = ModelEndpoint.from_item(dict(item))
    record = EndpointRecord(item, uses=2)
    for _ in range(3):  # two windows, then one retried
        endpoint, as_dict = record.take()
        assert endpoint == expected
        assert as_dict == expected.to_dict()
        assert list(as_dict) == list(expected.to_dict())
        endpoint.feature_stats["f0"]["hist"][0].append("changed by the app")
        endpoint.labels["team"].append("y")
        as_dict["feature_stats"]["f1"]["hist"].append("changed too")
        as_dict["feature_names"].append("f2")
        assert endpoint.feature_stats["f1"] == expected.feature_stats["f1"]
        assert endpoint.feature_names == ["f0", "f1"]
    assert ModelEndpoint.from_item(dict(item)) == expected  # the item itself untouched


def test_a_pack_reads_each_endpoint_once_and_a_missing_one_as_none(backend):
    backend.kv.put(PATHS.endpoints_table, "ep1", _item())
    windows = [WindowEvent("test", endpoint, "app", start, start + 60_000, "m")
               for start in (0, 60_000) for endpoint in ("ep1", "gone")]
    pack = WindowPack(backend, PATHS, windows)
    first = pack.endpoint(windows[0])
    backend.kv.delete(PATHS.endpoints_table, "ep1")  # read already: the pack's windows share that read
    assert pack.endpoint(windows[2]) is first
    assert first is not None and first.take()[0] == first.take()[0] == ModelEndpoint.from_item(_item())
    assert pack.endpoint(windows[1]) is None
