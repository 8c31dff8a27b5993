"""Endpoint registration: MLRun-format reference stats, same id as tracked traffic, updates in place."""

from __future__ import annotations

import nuclio_sdk
import numpy as np
import pandas as pd
import pytest
from records import read_bodies
from sklearn.datasets import load_iris

from modelmon.backends import scan_all
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import get_model_endpoint, register_model_endpoint
from modelmon.events import endpoint_uid
from modelmon.stream import Ingestor, RawRecord
from modelmon.tracking import ModelServer

PROJECT = "test"
PATHS = ProjectPaths(PROJECT)


def iris_frame() -> pd.DataFrame:
    data = load_iris(as_frame=True)
    frame = data.data.copy()
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame["species"] = data.target
    return frame


def endpoints(backend):
    return [key for key, _ in scan_all(backend.kv, PATHS.endpoints_table)]


def test_registration_computes_mlrun_feature_stats_and_mlrun_endpoint_id(backend):
    frame = iris_frame()
    endpoint = register_model_endpoint(backend, PROJECT, "iris", reference_data=frame, label_names=["species"],
                                       model_uri="store://models/iris", reference_performance={"accuracy": 0.97},
                                       labels={"team": "flowers"})
    assert endpoint.endpoint_id == endpoint_uid(PROJECT, f"{PROJECT}/serving", "iris", None)
    assert endpoint.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert endpoint.label_names == ["species"]
    stats = endpoint.feature_stats["petal_length"]
    assert stats["count"] == 150 and stats["min"] == 1.0 and stats["max"] == 6.9
    assert np.isclose(stats["mean"], frame["petal_length"].mean())
    counts, edges = stats["hist"]
    assert sum(counts) == 150 and len(edges) == len(counts) + 1
    assert set(endpoint.feature_stats) == {*endpoint.feature_names, "species"}
    assert endpoint.reference_performance == {"accuracy": 0.97} and endpoint.labels == {"team": "flowers"}
    assert endpoint.registered and endpoint.model_uri == "store://models/iris"
    assert get_model_endpoint(backend, PROJECT, "iris") == endpoint  # by name, too


def test_registering_the_same_name_again_updates_in_place(backend):
    frame = iris_frame()
    first = register_model_endpoint(backend, PROJECT, "iris", reference_data=frame.iloc[:50], label_names=["species"])
    second = register_model_endpoint(backend, PROJECT, "iris", reference_data=frame.iloc[50:],
                                     label_names=["species"], model_class="LogisticRegression")
    assert endpoints(backend) == [first.endpoint_id] == [second.endpoint_id]
    assert second.created_ms == first.created_ms
    assert second.feature_stats["petal_length"]["count"] == 100  # the new reference replaced the old one
    assert second.model_class == "LogisticRegression"
    third = register_model_endpoint(backend, PROJECT, "iris", reference_performance={"f1": 0.9})
    assert third.feature_stats == second.feature_stats  # arguments left out keep what is stored
    assert third.reference_performance == {"f1": 0.9}


def test_traffic_first_then_registration_attaches_the_reference_to_the_same_endpoint(backend):
    server = ModelServer("iris", project=PROJECT, streams=backend.streams)
    server.predict = lambda request: [0 for _ in request["inputs"]]
    server.set_tracking()
    rows = iris_frame().iloc[:, :4].to_numpy().tolist()
    for i in range(5):
        server.do_event(nuclio_sdk.Event(body={"inputs": [rows[i]], "id": f"r{i}"}))
    server.close()
    ingestor = Ingestor(backend, PROJECT, refresh_ms=0)
    ingestor.setup()
    for _, body in read_bodies(backend.streams, PATHS.tracking_stream):
        ingestor.process(RawRecord(body))
    seen = get_model_endpoint(backend, PROJECT, server.endpoint_id)
    assert (seen.feature_names, seen.feature_stats, seen.registered) == (["f0", "f1", "f2", "f3"], {}, False)
    assert seen.request_count == 5

    registered = register_model_endpoint(backend, PROJECT, "iris", reference_data=iris_frame(),
                                         label_names=["species"])
    assert registered.endpoint_id == server.endpoint_id and endpoints(backend) == [server.endpoint_id]
    assert registered.request_count == 5 and registered.first_request_ms == seen.first_request_ms
    assert registered.watermark_ms == seen.watermark_ms
    assert registered.feature_names[0] == "sepal_length" and registered.feature_stats

    body = {"kind": "tracking", "schema": 1, "model": "iris", "function_uri": f"{PROJECT}/serving",
            "request": {"id": "late", "inputs": [rows[0]]}, "resp": {"outputs": [1]},
            "when": "2024-01-01 00:00:00", "microsec": 10}
    ingestor.process(RawRecord(body))
    after = get_model_endpoint(backend, PROJECT, server.endpoint_id)
    assert after.feature_names == registered.feature_names and after.request_count == 6


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"reference_data": pd.DataFrame(), }, "reference_data is empty"),
    ({"reference_data": pd.DataFrame({"a": [1.0]}), "feature_names": ["a", "b"]}, "no column"),
    ({"reference_data": pd.DataFrame({"a": [1.0]}), "feature_stats": {}}, "not both"),
    ({"feature_names": "a"}, "list of column names"),
    ({"reference_performance": {"accuracy": float("nan")}}, "finite number"),
    ({"feature_stats": {"a": 1}}, "MLRun's format"),
])
def test_bad_registration_arguments_are_clear_and_write_nothing(backend, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        register_model_endpoint(backend, PROJECT, "m", **kwargs)
    assert endpoints(backend) == []


def test_unknown_endpoint_is_not_found(backend):
    with pytest.raises(NotFound, match="no model endpoint with id or name 'nope'"):
        get_model_endpoint(backend, PROJECT, "nope")
