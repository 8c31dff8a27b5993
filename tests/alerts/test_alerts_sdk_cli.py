"""Alert configs and activations through the project SDK and ``modelmon alerts``, over one local home."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

import modelmon
from modelmon.alerts.evaluator import Evaluator
from modelmon.cli.alerts import register
from modelmon.cli.console import build_parser, main
from modelmon.core.errors import ConfigError, NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult as Result
from modelmon.events.writer import WriterEvent

PROJECT = "shop"
END = 1_764_000_600_000  # 2025-11-24 16:10 UTC
CONFIG = {"name": "drift", "severity": "high", "reset_policy": "manual",
          "trigger": {"events": ["data_drift_detected"]}, "notifications": [{"kind": "log"}]}


@pytest.fixture
def project(home, monkeypatch):
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    with modelmon.get_or_create_project(PROJECT, home=str(home)) as p:
        assert p.list_alerts_configs() == []  # opens the home's stores
        yield p


def activate(project, endpoint: str = "ep1", name: str = "fraud") -> None:
    event = WriterEvent(PROJECT, endpoint, "hist", END - 600_000, END, results=(Result("general_drift", 0.7, 0, 2),),
                        endpoint_name=name)
    assert len(Evaluator(project.backend.kv, ProjectPaths(PROJECT)).evaluate(event)) == 1


def test_sdk_round_trip_activations_and_manual_reset(project):
    stored = project.store_alert_config(CONFIG)
    assert project.get_alert_config("drift") == stored and project.list_alerts_configs() == [stored]
    with pytest.raises(ConfigError, match="severity 'urgent'"):
        project.store_alert_config({**CONFIG, "severity": "urgent"})
    activate(project, "ep1", "fraud")
    activate(project, "ep2", "churn")
    frame = project.get_alert_activations(active=True)
    assert list(frame["endpoint_id"]) == ["ep1", "ep2"] and list(frame["endpoint_name"]) == ["fraud", "churn"]
    assert frame["window_end"].iloc[0] == pd.Timestamp(END, unit="ms", tz="UTC")
    assert str(frame["window_end"].dtype) == "datetime64[ns, UTC]"
    assert frame["history"].iloc[0][0]["state"] == "active"
    assert project.reset_alert_config("drift", endpoint="churn") == 1
    assert list(project.get_alert_activations(active=True)["endpoint_id"]) == ["ep1"]
    assert project.reset_alert_config("drift") == 1
    assert project.get_alert_activations(active=True).empty
    assert list(project.get_alert_activations("drift")["state"]) == ["resolved", "resolved"]
    project.delete_alert_config("drift")
    assert project.list_alerts_configs() == []
    with pytest.raises(NotFound):
        project.get_alert_config("drift")


def test_cli_add_list_activations_reset_delete(project, tmp_path, capsys):
    path = tmp_path / "drift.yaml"
    path.write_text("name: drift\nseverity: high\nreset_policy: manual\ntrigger: {events: [data_drift_detected]}\n"
                    "criteria: {count: 1, period: 30m}\nnotifications: [{kind: webhook, url_env: MY_HOOK}]\n")
    assert main(["alerts", "add", "--file", str(path)]) == 0
    assert "stored alert config 'drift' (data_drift_detected; severity high)" in capsys.readouterr().out
    assert main(["alerts", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == ["name", "severity", "events", "endpoints", "criteria", "reset", "cooldown_s", "notify"]
    assert listed[1].split() == ["drift", "high", "data_drift_detected", "*", "1", "in", "1800s", "manual", "0",
                                 "webhook"]
    activate(project)
    assert main(["alerts", "activations", "--active"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:8] == ["drift", "fraud", "hist", "general_drift", "active", "high", "detected", "0.7"]
    assert main(["alerts", "activations", "--json"]) == 0
    [item] = json.loads(capsys.readouterr().out)
    assert item["window_end"] == "2025-11-24T16:10:00+00:00" and item["history"][0]["state"] == "active"
    assert main(["alerts", "reset", "drift", "--endpoint", "fraud"]) == 0
    assert capsys.readouterr().out.strip() == "drift: 1 active alert reset"
    assert main(["alerts", "activations", "--active"]) == 0
    assert capsys.readouterr().out.strip() == "no active alerts"
    assert main(["alerts", "delete", "drift"]) == 0
    assert main(["alerts", "delete", "drift"]) == 1
    assert "no alert config named 'drift'" in capsys.readouterr().err


def test_cli_add_rejects_a_bad_config_with_the_field(project, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**CONFIG, "notifications": [{"kind": "webhook", "url": "https://hook"}]}))
    assert main(["alerts", "add", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert "notifications[0].url: secrets are never stored in a config" in err and "https://hook" not in err
    path.write_text("{not json")
    assert main(["alerts", "add", "--file", str(path)]) == 1
    assert "bad.json: not valid JSON" in capsys.readouterr().err


def test_every_alerts_subcommand_and_option_has_help():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    [alerts] = [a for a in parser._subparsers._actions if isinstance(a, argparse._SubParsersAction)]
    nested = alerts.choices["alerts"]
    [commands] = [a for a in nested._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {c.dest: c.help for c in commands._choices_actions}
    assert sorted(commands.choices) == ["activations", "add", "delete", "deliveries", "list", "reset"]
    missing = [f"{name} {a.dest}" for name, sub in commands.choices.items()
               for a in sub._actions if not (a.help or "").strip()]
    assert missing == [] and all(helps[n] and commands.choices[n].description for n in commands.choices)
    assert "alerts" in build_parser()._subparsers._group_actions[0].choices


def test_cli_deliveries_show_the_last_error_of_a_retrying_send(project, capsys, monkeypatch):
    """A webhook nobody listens on: the delivery stays pending and the CLI names why."""
    import socket

    from modelmon.alerts.delivery import Deliveries

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("DOWN_HOOK", f"http://127.0.0.1:{port}/hook")
    project.store_alert_config({**CONFIG, "notifications": [{"kind": "webhook", "url_env": "DOWN_HOOK"}]})
    deliveries = Deliveries(project.backend.kv, ProjectPaths(PROJECT), clock=lambda: END, timeout_s=2.0)
    event = WriterEvent(PROJECT, "ep1", "hist", END - 600_000, END, results=(Result("general_drift", 0.7, 0, 2),),
                        endpoint_name="fraud")
    Evaluator(project.backend.kv, ProjectPaths(PROJECT)).evaluate(event, outbox=deliveries.enqueue)
    assert deliveries.deliver_due().retrying == 1
    capsys.readouterr()
    assert main(["alerts", "deliveries"]) == 0
    out = capsys.readouterr().out
    assert "pending" in out and "webhook" in out and "Connect" in out, out
