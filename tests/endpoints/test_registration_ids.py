"""Registering under a given id, and a name plus its function naming one endpoint (MLRun 1.8+'s rule).

Traffic is MLRun 1.12-shaped: one event per request carrying the ``endpoint_id`` MLRun assigned.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import modelmon
from modelmon.backends import scan_all
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import get_model_endpoint, register_model_endpoint
from modelmon.events import endpoint_uid
from modelmon.queries import resolve_endpoint
from modelmon.stream import Ingestor, RawRecord

BUNDLE = Path(__file__).resolve().parents[1] / "deploy" / "bundle"
PROJECT = "test"  # the project of the ``backend`` fixture's settings
MLRUN_ID = "9a3f0c2e7b1d4c58a6e2f1b0c9d8e7f6"  # a uuid hex, as MLRun 1.8+ assigns
OTHER_ID = "1b2c3d4e5f60718293a4b5c6d7e8f901"
REFERENCE = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 1.5, 2.0, 2.5]})


def _mlrun_event(endpoint_id: str, request_id: str, model: str = "churn", error: str | None = None) -> dict:
    """One request as MLRun 1.12's serving pusher sends it (no version, MLRun's endpoint id)."""
    event = {"class": "SKLearnModelServer", "worker": 0, "model": model, "host": "serving-1",
             "function_uri": f"{PROJECT}/serving:latest", "endpoint_id": endpoint_id, "sampling_percentage": 100.0,
             "request": {"inputs": [[1.0, 2.0]], "id": request_id}, "op": "infer",
             "when": "2024-05-01 10:00:00.250000+00:00"}
    if error is None:
        event.update({"resp": {"id": request_id, "model_name": model, "outputs": [1]}, "microsec": 900,
                      "effective_sample_count": 1})
    else:
        event["error"] = error
    return event


def _ingest(backend, *events: dict) -> None:
    ingestor = Ingestor(backend, PROJECT, refresh_ms=0)
    ingestor.setup()
    for event in events:
        ingestor.process(RawRecord(event))


def _ids(backend) -> list[str]:
    return sorted(key for key, _ in scan_all(backend.kv, ProjectPaths(PROJECT).endpoints_table))


def test_registered_under_mlruns_id_its_traffic_lands_there(backend):
    endpoint = register_model_endpoint(backend, PROJECT, "churn", endpoint_id=MLRUN_ID, reference_data=REFERENCE)
    assert endpoint.endpoint_id == MLRUN_ID and endpoint.function_uri == f"{PROJECT}/serving"
    _ingest(backend, _mlrun_event(MLRUN_ID, "r1"), _mlrun_event(MLRUN_ID, "r2", error="boom"))
    stored = get_model_endpoint(backend, PROJECT, MLRUN_ID)
    assert (stored.request_count, stored.error_count) == (1, 1)
    assert stored.feature_names == ["x", "y"] and set(stored.feature_stats) == {"x", "y"}
    assert _ids(backend) == [MLRUN_ID]


def test_traffic_first_then_registering_by_name_or_id_updates_the_endpoint_traffic_created(backend):
    _ingest(backend, _mlrun_event(MLRUN_ID, "r1"))
    by_name = register_model_endpoint(backend, PROJECT, "churn", reference_data=REFERENCE, model_version="3")
    assert by_name.endpoint_id == MLRUN_ID and by_name.request_count == 1  # no second, traffic-less endpoint
    assert by_name.function_uri == f"{PROJECT}/serving:latest" and by_name.model_version == "3"
    by_id = register_model_endpoint(backend, PROJECT, "churn", uid=MLRUN_ID, reference_performance={"f1": 0.8})
    assert by_id.feature_stats == by_name.feature_stats and by_id.reference_performance == {"f1": 0.8}
    assert _ids(backend) == [MLRUN_ID]


def test_a_name_and_function_under_another_id_is_refused(backend):
    register_model_endpoint(backend, PROJECT, "churn", endpoint_id=MLRUN_ID)
    with pytest.raises(ValueError, match=f"'churn' of function serving:latest already exists with id {MLRUN_ID}"):
        register_model_endpoint(backend, PROJECT, "churn", endpoint_id=OTHER_ID, function_name="serving",
                                function_tag="latest")
    assert _ids(backend) == [MLRUN_ID]
    other = register_model_endpoint(backend, PROJECT, "churn", endpoint_id=OTHER_ID, function_name="canary")
    assert other.function_uri == f"{PROJECT}/canary" and _ids(backend) == sorted([MLRUN_ID, OTHER_ID])
    assert register_model_endpoint(backend, PROJECT, "renamed", endpoint_id=OTHER_ID).name == "renamed"
    with pytest.raises(ValueError, match="already exists with id"):  # moving onto a taken pair is refused too
        register_model_endpoint(backend, PROJECT, "churn", endpoint_id=OTHER_ID, function_name="serving")
    assert get_model_endpoint(backend, PROJECT, OTHER_ID).function_uri == f"{PROJECT}/canary"


def test_endpoints_traffic_created_under_several_ids_are_each_registered_by_id(backend):
    # MLRun re-creates an endpoint under a new uid (its old one archived): both ids send traffic
    _ingest(backend, _mlrun_event(MLRUN_ID, "r1"), _mlrun_event(OTHER_ID, "r2"))
    with pytest.raises(ValueError, match="'churn' is ambiguous in project 'test': 2 endpoints have it"):
        register_model_endpoint(backend, PROJECT, "churn", reference_data=REFERENCE)
    for endpoint_id in (MLRUN_ID, OTHER_ID):  # each already has the name and function: no new duplicate
        registered = register_model_endpoint(backend, PROJECT, "churn", endpoint_id=endpoint_id,
                                             reference_data=REFERENCE)
        assert registered.request_count == 1 and set(registered.feature_stats) == {"x", "y"}
    assert _ids(backend) == sorted([MLRUN_ID, OTHER_ID])


def test_an_ambiguous_name_lists_the_candidates_and_function_or_id_chooses(backend):
    register_model_endpoint(backend, PROJECT, "churn", endpoint_id=MLRUN_ID)
    register_model_endpoint(backend, PROJECT, "churn", endpoint_id=OTHER_ID, function_name="canary", function_tag="v2")
    expected = (f"'churn' is ambiguous in project 'test': 2 endpoints have it: {OTHER_ID} \\(function canary:v2\\), "
                f"{MLRUN_ID} \\(function serving:latest\\); pass function_name=")
    with pytest.raises(ValueError, match=expected):
        get_model_endpoint(backend, PROJECT, "churn")
    with pytest.raises(ValueError, match="ambiguous"):  # registering by name alone cannot choose either
        register_model_endpoint(backend, PROJECT, "churn", model_class="X")
    assert get_model_endpoint(backend, PROJECT, "churn", function_name="canary").endpoint_id == OTHER_ID
    assert get_model_endpoint(backend, PROJECT, "churn", function_name="serving",
                              function_tag="latest").endpoint_id == MLRUN_ID
    canary = get_model_endpoint(backend, PROJECT, endpoint_id=OTHER_ID)
    assert (canary.function_uri, canary.function_name, canary.function_tag) == (f"{PROJECT}/canary:v2", "canary", "v2")
    with pytest.raises(NotFound, match="served by function canary:v1; endpoints named so: "):
        get_model_endpoint(backend, PROJECT, "churn", function_name="canary", function_tag="v1")
    with pytest.raises(NotFound, match=f"no model endpoint with id '{OTHER_ID}' named 'fraud'"):
        get_model_endpoint(backend, PROJECT, "fraud", endpoint_id=OTHER_ID)
    updated = register_model_endpoint(backend, PROJECT, "churn", function_name="canary", function_tag="v2",
                                      model_class="X")
    assert updated.endpoint_id == OTHER_ID and updated.model_class == "X"


def test_the_cli_resolves_names_by_the_same_rule(backend):
    register_model_endpoint(backend, PROJECT, "churn", endpoint_id=MLRUN_ID)
    assert resolve_endpoint(backend, PROJECT, "churn") == MLRUN_ID
    register_model_endpoint(backend, PROJECT, "churn", endpoint_id=OTHER_ID, function_name="canary")
    with pytest.raises(ValueError, match=f"{OTHER_ID} \\(function canary:latest\\), {MLRUN_ID} \\(function serving"):
        resolve_endpoint(backend, PROJECT, "churn")
    assert resolve_endpoint(backend, PROJECT, "churn", function_name="canary") == OTHER_ID
    assert resolve_endpoint(backend, PROJECT, MLRUN_ID[:6]) == MLRUN_ID


def test_without_an_id_the_derived_id_and_new_versions_are_explicit(backend):
    first = register_model_endpoint(backend, PROJECT, "churn", function_uri=f"{PROJECT}/serving", model_version="1")
    assert first.endpoint_id == endpoint_uid(PROJECT, f"{PROJECT}/serving", "churn", "1")  # modelmon's tracking id
    with pytest.raises(ValueError, match=f"for model version '1'.*pass endpoint_id='{first.endpoint_id}'"):
        register_model_endpoint(backend, PROJECT, "churn", model_version="2")
    moved = register_model_endpoint(backend, PROJECT, "churn", endpoint_id=first.endpoint_id, model_version="2")
    assert moved.model_version == "2" and _ids(backend) == [first.endpoint_id]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"endpoint_id": "a/b"}, "endpoint_id 'a/b' is not a valid name"),
    ({"endpoint_id": MLRUN_ID, "uid": OTHER_ID}, "differ: pass one of them"),
    ({"function_tag": "v1"}, "function_tag needs function_name"),
    ({"function_name": "serving", "function_uri": f"{PROJECT}/other"}, "is not function 'serving'"),
    ({"function_name": "a:b"}, "function_name 'a:b' is not a valid name"),
])
def test_bad_ids_and_functions_are_refused_and_write_nothing(backend, kwargs, message):
    with pytest.raises(ValueError, match=message):
        register_model_endpoint(backend, PROJECT, "churn", **kwargs)
    assert _ids(backend) == []


def test_the_project_sdk_registers_and_gets_by_id_and_function(home):
    with modelmon.get_or_create_project("sdk", home=home, bundle_dir=BUNDLE) as project:
        project.register_model_endpoint("churn", endpoint_id=MLRUN_ID, function_name="serving")
        project.register_model_endpoint("churn", endpoint_id=OTHER_ID, function_name="canary")
        assert project.get_model_endpoint("churn", function_name="canary").endpoint_id == OTHER_ID
        assert project.get_model_endpoint(endpoint_id=MLRUN_ID).name == "churn"
        with pytest.raises(ValueError, match="ambiguous"):
            project.get_model_endpoint("churn")
