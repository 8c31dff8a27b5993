"""The alert evaluator over the real local KV: matching, count in period, cooldown, resets, idempotency."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.evaluator import Evaluator
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult as Result
from modelmon.core.results import ResultKindApp as Kind
from modelmon.core.results import ResultStatusApp as Status
from modelmon.events.writer import WriterEvent

MIN = 60_000
HOOK = {"kind": "webhook", "url_env": "HOOK_URL"}


def event(window: int, *results: Result, app: str = "drift", endpoint: str = "ep1", error: str | None = None,
          ) -> WriterEvent:
    """The writer event of the ``window``-th 10-minute window."""
    return WriterEvent(project="test", endpoint_id=endpoint, endpoint_name=f"{endpoint}-name", app_name=app,
                       start_ms=window * 10 * MIN, end_ms=(window + 1) * 10 * MIN, results=results, error=error)


def drift(status: Status, value: float = 0.5, name: str = "general_drift", kind: Kind = Kind.data_drift) -> Result:
    return Result(name, value, kind, status)


@pytest.fixture
def setup(backend):
    paths = ProjectPaths("test")
    store = AlertConfigStore(backend.kv, paths)

    def make(**fields) -> Evaluator:
        store.store(AlertConfig.from_dict({"name": "drift-alert", "notifications": [HOOK], **fields}))
        return Evaluator(backend.kv, paths, refresh_s=0, clock=lambda: 1_000)
    return make


def states(notes) -> list[tuple[str, str, int]]:
    return [(n.state, n.result, n.window_end_ms // (10 * MIN)) for n in notes]


def test_detected_result_activates_once_and_auto_resets(setup):
    ev = setup(trigger={"events": ["data_drift_detected"]})
    first = ev.evaluate(event(0, drift(Status.detected, 0.61)))
    assert states(first) == [("active", "general_drift", 1)]
    note = first[0]
    assert note.key == f"drift-alert.ep1.drift.general_drift.{10 * MIN}.active"
    assert note.channels == (HOOK,) and note.severity == "medium" and note.value == 0.61
    assert "ep1-name drift/general_drift is detected (value 0.61)" in note.summary
    assert ev.evaluate(event(1, drift(Status.detected))) == []  # already active
    assert states(ev.evaluate(event(2, drift(Status.no_detection)))) == [("resolved", "general_drift", 3)]
    [item] = ev.activations()
    assert item["state"] == "resolved" and item["activations"] == 1
    assert [h["state"] for h in json.loads(item["history"])] == ["active", "resolved"]


def test_event_kinds_match_only_the_configured_events(setup):
    ev = setup(trigger={"events": ["concept_drift_suspected", "model_performance_detected"]})
    notes = ev.evaluate(event(0, drift(Status.detected, name="a"),  # data drift: not configured
                              drift(Status.potential_detection, name="b", kind=Kind.concept_drift),
                              drift(Status.detected, name="c", kind=Kind.concept_drift),  # detected, not suspected
                              drift(Status.detected, name="d", kind=Kind.model_performance),
                              drift(Status.irrelevant, name="e", kind=Kind.model_performance)))
    assert sorted(states(notes)) == [("active", "b", 1), ("active", "d", 1)]
    assert {i["result"] for i in ev.activations()} == {"b", "d"}


def test_entities_filter_endpoints_apps_and_results(setup):
    ev = setup(trigger={"events": ["data_drift_detected"]},
               entities={"ids": ["ep2-name"], "apps": ["drift"], "results": ["kept"]})
    assert ev.evaluate(event(0, drift(Status.detected, name="kept"))) == []  # ep1 not watched
    assert ev.evaluate(event(0, drift(Status.detected, name="kept"), endpoint="ep2", app="other")) == []
    notes = ev.evaluate(event(0, drift(Status.detected, name="kept"), drift(Status.detected, name="x"),
                              endpoint="ep2"))
    assert states(notes) == [("active", "kept", 1)]


def test_count_in_period(setup):
    ev = setup(trigger={"events": ["data_drift_detected"]}, criteria={"count": 3, "period": "30m"})
    # windows end at minute 10, 20, then 50: 10 and 20 are not within the 30 minutes up to 50
    assert ev.evaluate(event(0, drift(Status.detected))) == []
    assert ev.evaluate(event(1, drift(Status.detected))) == []
    assert ev.evaluate(event(4, drift(Status.detected))) == []
    assert ev.evaluate(event(5, drift(Status.detected))) == []  # 50, 60: two within the period
    assert states(ev.evaluate(event(6, drift(Status.detected)))) == [("active", "general_drift", 7)]  # 50, 60, 70


def test_cooldown_holds_back_a_new_activation(setup):
    ev = setup(trigger={"events": ["data_drift_detected"]}, cooldown="1h")
    assert states(ev.evaluate(event(0, drift(Status.detected)))) == [("active", "general_drift", 1)]
    assert states(ev.evaluate(event(1, drift(Status.no_detection)))) == [("resolved", "general_drift", 2)]
    assert ev.evaluate(event(2, drift(Status.detected))) == []  # 20 min after the activation
    assert ev.evaluate(event(5, drift(Status.detected))) == []  # 50 min
    assert states(ev.evaluate(event(6, drift(Status.detected)))) == [("active", "general_drift", 7)]  # 60 min


def test_manual_reset_policy(setup):
    ev = setup(trigger={"events": ["data_drift_detected"]}, reset_policy="manual")
    assert states(ev.evaluate(event(0, drift(Status.detected)))) == [("active", "general_drift", 1)]
    assert ev.evaluate(event(1, drift(Status.no_detection))) == []  # stays active
    assert [i["state"] for i in ev.activations(active_only=True)] == ["active"]
    assert ev.reset("drift-alert", endpoint="other") == 0
    assert ev.reset("drift-alert", endpoint="ep1-name") == 1
    assert ev.activations(active_only=True) == []
    [item] = ev.activations()
    assert json.loads(item["history"])[-1]["reset"] == "manual"
    assert states(ev.evaluate(event(2, drift(Status.detected)))) == [("active", "general_drift", 3)]
    with pytest.raises(NotFound, match="no alert config named 'nope'"):
        ev.reset("nope")


def test_manual_reset_notifies_the_configs_channels_once(setup, backend):
    from modelmon.alerts.delivery import Deliveries

    ev = setup(trigger={"events": ["data_drift_detected"]}, reset_policy="manual",
               summary="{endpoint} {result} {state} ({event}) value {value}")
    ev.evaluate(event(0, drift(Status.detected, value=0.75)))
    outbox = Deliveries(backend.kv, ProjectPaths("test"), clock=lambda: 2_000)
    assert ev.reset("drift-alert", outbox=outbox.enqueue) == 1
    assert ev.reset("drift-alert", outbox=outbox.enqueue) == 0  # nothing active: nothing more to send
    [item] = outbox.list()
    payload = json.loads(backend.kv.get(outbox.table, item["id"])["payload"])
    assert (item["state"], json.loads(item["channel"])) == ("pending", HOOK)
    assert (payload["state"], payload["status"], payload["value"], payload["window_end_ms"]) == (
        "resolved", "detected", 0.75, 10 * MIN)
    assert payload["summary"] == "ep1-name general_drift resolved (manual_reset) value 0.75"


def test_app_failure_activates_and_next_success_resolves(setup):
    ev = setup(trigger={"events": ["mm_app_failed"]})
    notes = ev.evaluate(event(0, error="KeyError: 'x'"))
    assert states(notes) == [("active", "failed", 1)] and notes[0].status == "failed"
    assert ev.evaluate(event(1, error="KeyError: 'x'")) == []
    assert states(ev.evaluate(event(2, drift(Status.detected)))) == [("resolved", "failed", 3)]


def test_redelivered_events_change_nothing(setup, backend):
    ev = setup(trigger={"events": ["data_drift_detected"]}, criteria={"count": 2, "period": "1h"})
    first = event(0, drift(Status.detected))
    assert ev.evaluate(first) == []
    before = ev.activations()
    assert ev.evaluate(first) == []  # the same window again does not count twice
    assert ev.activations() == before
    second = event(1, drift(Status.detected))
    notes = ev.evaluate(second)
    assert states(notes) == [("active", "general_drift", 2)]
    after = ev.activations()
    assert ev.evaluate(second) == [] and ev.evaluate(first) == []
    assert ev.activations() == after
    # a fresh evaluator (a restarted function) reading the same KV agrees
    fresh = Evaluator(backend.kv, ProjectPaths("test"), refresh_s=0)
    assert fresh.evaluate(second) == [] and fresh.activations() == after


def test_quick_start_config_alerts_on_every_detected_and_suspected_result(backend):
    from modelmon.alerts.configs import quick_start_config

    ev = Evaluator(backend.kv, ProjectPaths("test"), extra=[quick_start_config("HOOK_URL")], refresh_s=0)
    notes = ev.evaluate(event(0, drift(Status.potential_detection, name="a"),
                              drift(Status.detected, name="b", kind=Kind.system_performance),
                              drift(Status.no_detection, name="c")))
    assert sorted(states(notes)) == [("active", "a", 1), ("active", "b", 1)]
    assert notes[0].channels == ({"kind": "webhook", "url_env": "HOOK_URL"},)


def test_no_traffic_for_n_windows_activates_and_traffic_resolves(setup, backend):
    now = {"ms": 100 * 10 * MIN + 5_000}
    setup(trigger={"events": ["no_traffic"]}, no_traffic_windows=3, entities={"apps": ["drift"]})
    ev = Evaluator(backend.kv, ProjectPaths("test"), refresh_s=0, clock=lambda: now["ms"])
    end = 100 * 10 * MIN
    endpoints = [("ep1", "one", end - 20 * MIN), ("ep2", "two", end - 30 * MIN), ("ep3", "three", None)]
    notes = ev.check_traffic(endpoints, 10 * MIN)
    assert [(n.endpoint_id, n.state, n.result, n.value) for n in notes] == [("ep2", "active", "no_traffic", 30.0)]
    assert ev.check_traffic(endpoints, 10 * MIN) == []  # the same window again
    now["ms"] += 10 * MIN
    notes = ev.check_traffic([("ep2", "two", end + 1)], 10 * MIN)
    assert [(n.endpoint_id, n.state) for n in notes] == [("ep2", "resolved")]


def test_outbox_gets_notifications_before_the_activation_is_stored(setup, backend):
    ev = setup(trigger={"events": ["data_drift_detected"]})
    seen: list[tuple[str, list[dict]]] = []
    ev.evaluate(event(0, drift(Status.detected)), outbox=lambda notes: seen.append(
        (notes[0].key, ev.activations())))
    [(key, stored_then)] = seen
    assert key.endswith(".active") and stored_then == []


def test_windows_that_change_nothing_are_not_written(setup):
    ev = setup(trigger={"events": ["data_drift_detected"]})
    ev.evaluate(event(0, drift(Status.detected)))
    [active] = ev.activations()
    ev.evaluate(event(1, drift(Status.detected)))  # already active: counts nothing
    assert ev.activations() == [active] and active["version"] == 1
    ev.evaluate(event(2, drift(Status.no_detection)))
    [resolved] = ev.activations()
    ev.evaluate(event(3, drift(Status.no_detection)))  # already resolved
    assert ev.activations() == [resolved] and resolved["version"] == 2


@pytest.mark.parametrize(("start", "end", "text"), [
    ("2025-11-30 16:00", "2025-11-30 16:10", "2025-11-30 16:00–16:10 UTC"),
    ("2025-11-30 23:50", "2025-12-01 00:00", "2025-11-30 23:50–00:00 UTC"),  # ends at midnight: the same day
    ("2025-11-30 00:00", "2025-12-01 01:00", "2025-11-30 00:00–2025-12-01 01:00 UTC"),
])
def test_summaries_write_the_window_once_per_date(start, end, text):
    from modelmon.alerts.evaluator import _window_text

    ms = [int(pd.Timestamp(t, tz="UTC").value // 1_000_000) for t in (start, end)]
    assert _window_text(*ms) == text
