"""Registering, listing, disabling and removing monitoring applications (KV ``apps_table``)."""

from __future__ import annotations

import json

import pytest

from modelmon.apps.registry import AppRegistry, RegisteredApp
from modelmon.core.errors import NotFound


def test_register_stores_the_contract_item(backend, paths, registry):
    registry.register("drift", "modelmon.apps.builtin.histogram_drift:HistogramDataDriftApplication",
                      kwargs={"detected": 0.7}, endpoints=["model-a"], label_selector={"env": "prod"},
                      base_period_minutes=20, created_ms=1234)
    item = backend.kv.get(paths.apps_table, "drift")
    assert item == {
        "class_path": "modelmon.apps.builtin.histogram_drift:HistogramDataDriftApplication",
        "kwargs": json.dumps({"detected": 0.7}),
        "endpoints": json.dumps(["model-a"]),
        "label_selector": json.dumps({"env": "prod"}),
        "base_period_minutes": 20,
        "created_ms": 1234,
        "enabled": True,
    }
    app = registry.get("drift")
    assert (app.endpoints, app.label_selector, app.period_ms(10)) == (("model-a",), {"env": "prod"}, 20 * 60_000)


def test_reregistering_keeps_created_and_replaces_the_rest(registry):
    registry.register("drift", "m:A", created_ms=5)
    registry.register("drift", "m:B", created_ms=9, kwargs={"x": 1})
    app = registry.get("drift")
    assert (app.class_path, app.created_ms, dict(app.kwargs)) == ("m:B", 5, {"x": 1})


def test_list_disable_and_remove(registry):
    registry.register("b-app", "m:B")
    registry.register("a-app", "m:A")
    registry.set_enabled("b-app", False)
    assert [a.name for a in registry.list()] == ["a-app", "b-app"]
    assert [a.name for a in registry.list(enabled_only=True)] == ["a-app"]
    registry.remove("a-app")
    assert [a.name for a in registry.list()] == ["b-app"]
    with pytest.raises(NotFound, match="no monitoring application named 'a-app'"):
        registry.remove("a-app")
    with pytest.raises(NotFound):
        registry.set_enabled("a-app", True)


def test_a_damaged_registration_is_skipped_not_fatal(registry, backend, paths, caplog):
    registry.register("good", "m:A")
    backend.kv.put(paths.apps_table, "broken", {"class_path": "m:B", "kwargs": "{not json"})
    assert [a.name for a in registry.list()] == ["good"]
    assert "'broken' has a damaged registration" in caplog.text


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "bad/name", "class_path": "m:A"}, "not a valid name"),
    ({"name": "ok", "class_path": "no-colon"}, "is not 'module:Class'"),
    ({"name": "ok", "class_path": "m:A", "base_period_minutes": 0}, "positive whole number"),
    ({"name": "ok", "class_path": "m:A", "endpoints": "model-a"}, "not a single string"),
    ({"name": "ok", "class_path": "m:A", "kwargs": {"f": object()}}, "not JSON-serialisable"),
])
def test_bad_registrations_name_the_problem(registry, kwargs, message):
    with pytest.raises(ValueError, match=message):
        registry.register(**kwargs)


def test_selection_by_name_id_and_labels():
    app = RegisteredApp("x", "m:A", endpoints=("model-a", "id-2"), label_selector={"team": "ml"})
    assert app.applies_to("id-1", "model-a", {"team": "ml"})
    assert app.applies_to("id-2", "other", {"team": "ml", "env": "dev"})
    assert not app.applies_to("id-3", "other", {"team": "ml"})
    assert not app.applies_to("id-1", "model-a", {"team": "ops"})
    assert RegisteredApp("y", "m:A").applies_to("any", "", {})


def test_registry_without_a_system_period_accepts_any_period(backend, paths):
    AppRegistry(backend.kv, paths).register("odd", "m:A", base_period_minutes=7)
    with pytest.raises(ValueError, match="not a multiple"):
        AppRegistry(backend.kv, paths).get("odd").period_ms(10)
