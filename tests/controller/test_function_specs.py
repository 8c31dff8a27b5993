"""The controller, writer and app function.yaml files: what Nuclio and the local runtime read from them."""

from __future__ import annotations

import pathlib

import nuclio_sdk
import nuclio_sdk.test
import pytest
import yaml
from controller_fixtures import MINUTE, PERIOD, add_requests, dispatched, put_endpoint

from controller import handler as controller_function
from modelmon.apps.runner.loader import load_app
from modelmon.core.timeutil import now_ms
from modelmon.local_nuclio.spec import load_function

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILTIN_APPS = ["histogram-data-drift", "data-quality", "system-performance", "model-performance",
                "evidently-data-drift", "multivariate-drift", "performance-estimation"]


def _doc(path: pathlib.Path) -> dict:
    return yaml.safe_load(path.read_text())


def _env(doc: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in doc["spec"]["env"]}


def _check_common(doc: dict) -> None:
    spec = doc["spec"]
    assert spec["runtime"] == "python:3.11"
    assert spec["build"]["commands"]
    env = _env(doc)
    assert env["MODELMON_PROJECT"] == "default" and env["MODELMON_BASE_PERIOD"] == "10"
    assert env["V3IO_ACCESS_KEY"] == {"secretKeyRef": {"name": "modelmon-credentials", "key": "access-key"}}


def test_controller_spec_is_a_single_replica_cron_every_base_period():
    doc = _doc(ROOT / "controller" / "function.yaml")
    _check_common(doc)
    assert doc["metadata"]["name"] == "model-monitoring-controller"
    assert (doc["spec"]["minReplicas"], doc["spec"]["maxReplicas"]) == (1, 1)
    [trigger] = doc["spec"]["triggers"].values()
    assert trigger == {"kind": "cron", "attributes": {"interval": "10m"}}
    assert load_function(ROOT / "controller" / "function.yaml").handler == "controller.handler:handler"


def test_writer_spec_reads_the_writer_stream():
    doc = _doc(ROOT / "writer" / "function.yaml")
    _check_common(doc)
    assert doc["metadata"]["name"] == "model-monitoring-writer"
    [trigger] = doc["spec"]["triggers"].values()
    assert trigger["kind"] == "v3ioStream" and trigger["password"] == "$generate"
    assert trigger["attributes"] == {
        "containerName": "projects", "streamPath": "default/model-endpoints/stream-model-monitoring-writer",
        "consumerGroup": "model-monitoring-writer", "seekTo": "earliest"}


@pytest.mark.parametrize("name", BUILTIN_APPS)
def test_each_builtin_app_has_a_loadable_function(name):
    path = ROOT / "apps" / name / "function.yaml"
    doc = _doc(path)
    _check_common(doc)
    env = _env(doc)
    assert doc["metadata"]["name"] == name and env["MODELMON_APP_NAME"] == name
    [trigger] = doc["spec"]["triggers"].values()
    assert trigger["attributes"]["streamPath"] == f"default/model-endpoints/stream-{name}"
    assert trigger["attributes"]["consumerGroup"] == name
    assert load_function(path).handler == "apps.handler:handler"
    app = load_app(env["MODELMON_APP_CLASS"], {})
    assert callable(app.do_tracking)


def test_controller_function_dispatches_through_the_platform(backend, paths, registry, monkeypatch):
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    registry.register("drift", "mod:App")
    start = (now_ms() - 2 * 60 * MINUTE) // PERIOD * PERIOD  # the function runs on the wall clock
    put_endpoint(backend, paths, "ep1", first=start, watermark=start + PERIOD + MINUTE)
    add_requests(backend, paths, "ep1", [start + MINUTE])
    platform = nuclio_sdk.test.Platform()
    report = platform.call_handler(controller_function.handler, nuclio_sdk.Event(body=b""))
    assert report["windows_dispatched"] == 1 and report["endpoints"] == 1
    assert [(w.endpoint_id, w.start_ms) for w in dispatched(backend, paths, "drift")] == [("ep1", start)]
    assert platform.call_handler(controller_function.handler, nuclio_sdk.Event(body=b""))["windows_dispatched"] == 0
