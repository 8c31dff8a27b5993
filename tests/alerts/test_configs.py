"""Alert configs: MLRun's shape read and written back, and clear errors for bad input."""

from __future__ import annotations

import pytest

from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.core.errors import ConfigError, NotFound
from modelmon.core.paths import ProjectPaths

GOOD = {"name": "drift", "summary": "{endpoint} {result} {value}", "severity": "high",
        "entities": {"ids": ["ep1"], "apps": ["*"]}, "trigger": {"events": ["data_drift_detected", "no_traffic"]},
        "criteria": {"count": 3, "period": "30m"}, "reset_policy": "manual", "cooldown": "2h",
        "no_traffic_windows": 4, "notifications": [{"kind": "webhook", "url_env": "HOOK"},
                                                  {"kind": "email", "host": "smtp", "to": ["a@b.c"]}]}


def test_round_trip_and_store(backend):
    config = AlertConfig.from_dict(GOOD)
    assert (config.severity, config.count, config.period_s, config.cooldown_s, config.endpoints, config.apps) == (
        "high", 3, 1800, 7200, ("ep1",), ())
    assert AlertConfig.from_dict(config.to_dict()) == config
    store = AlertConfigStore(backend.kv, ProjectPaths("test"))
    store.store(config)
    assert store.get("drift") == config and store.list() == [config]
    store.delete("drift")
    with pytest.raises(NotFound):
        store.get("drift")


@pytest.mark.parametrize(("change", "message"), [
    ({"name": ""}, "'name' is required"),
    ({"name": "a/b"}, "alert config name 'a/b' is not a valid name"),
    ({"trigger": {"events": []}}, "trigger.events is empty"),
    ({"trigger": {"events": ["drift_detected"]}}, "trigger event 'drift_detected' is unknown"),
    ({"severity": "critical"}, "severity 'critical' is not one of low, medium, high"),
    ({"reset_policy": "never"}, "reset_policy 'never' is not auto or manual"),
    ({"criteria": {"count": 0}}, "criteria.count must be a whole number, 1 or more"),
    ({"criteria": {"period": "soon"}}, "criteria.period: 'soon' is not a duration"),
    ({"cooldown": -5}, "cooldown: -5 is not a duration"),
    ({"summary": "{endpoint} {colour}"}, "summary placeholder {colour} is unknown"),
    ({"summary": "{endpoint"}, "summary template is malformed"),
    ({"entities": {"ids": [1]}}, "entities.ids: expected a list of names"),
    ({"notifications": [{"kind": "pager"}]}, "notifications[0].kind: 'pager' is not one of webhook"),
    ({"notifications": [{"kind": "webhook", "url": "https://x"}]}, "notifications[0].url: secrets are never stored"),
    ({"notifications": [{"kind": "slack"}]}, "notifications[0].url_env: a slack channel needs"),
    ({"notifications": [{"kind": "webhook", "url_env": "not a name"}]}, "is not an environment variable name"),
    ({"notifications": [{"kind": "email", "host": "h"}]}, "notifications[0].to: an email channel needs"),
    ({"colour": "red"}, "unknown field(s) colour"),
])
def test_validation_errors_name_the_field(change, message):
    with pytest.raises(ConfigError) as info:
        AlertConfig.from_dict({**GOOD, **change})
    assert message in str(info.value)
