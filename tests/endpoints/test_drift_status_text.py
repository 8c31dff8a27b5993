"""``drift_status`` as MLRun stores it (text: ``"2"`` in 1.7, ``"DRIFT_DETECTED"`` in 1.6) reads as modelmon's
number, and the writer's compare-and-set raises or resets it from there (an endpoint item MLRun's writer
touched in a shared project)."""

from __future__ import annotations

import pytest

from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore

PROJECT = "test"  # the project of the ``backend`` fixture's settings
T0 = 1_764_516_000_000


@pytest.fixture
def store(backend) -> EndpointStore:
    endpoints = EndpointStore(backend.kv, PROJECT)
    endpoints.create(ModelEndpoint("ep", name="m", project=PROJECT))
    return endpoints


@pytest.mark.parametrize(("text", "number"), [("2", 2), ("-1", -1), ("DRIFT_DETECTED", 2), ("POSSIBLE_DRIFT", 1),
                                              ("NO_DRIFT", 0), ("not a status", -1)])
def test_mlruns_text_reads_as_the_number(backend, store, text, number):
    backend.kv.update(store.paths.endpoints_table, "ep", {"drift_status": text})
    endpoint = store.get("ep")
    assert endpoint is not None and endpoint.drift_status == number  # unreadable text: the default, -1


def test_the_compare_and_set_works_from_text(backend, store):
    backend.kv.update(store.paths.endpoints_table, "ep", {"drift_status": "1", "drift_status_end_ms": T0})
    assert store.update_drift_status("ep", 0, T0) is None  # same window, lower status: unchanged
    assert store.update_drift_status("ep", 2, T0) == 2  # same window, higher: raised
    assert store.item("ep")["drift_status"] == 2
    backend.kv.update(store.paths.endpoints_table, "ep", {"drift_status": "DRIFT_DETECTED"})
    assert store.update_drift_status("ep", 0, T0 + 1) == 0  # a newer window resets it
