from __future__ import annotations

import pytest
import yaml

from modelmon.cli import main


def test_output_writes_rendered_configs_for_nuctl(bundle, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MODELMON_BACKEND", "local")  # the shell's local settings do not leak into Nuclio configs
    out = tmp_path / "out"
    code = main(["deploy", "--bundle", str(bundle), "--project", "shop", "--base-period", "15",
                 "--output", str(out), "--function", "controller", "writer"])
    assert code == 0
    assert sorted(p.parent.name for p in out.glob("*/function.yaml")) == ["controller", "writer"]
    controller = yaml.safe_load((out / "controller" / "function.yaml").read_text())
    assert controller["metadata"]["name"] == "shop-controller"
    assert controller["spec"]["triggers"]["every-base-period"]["attributes"]["interval"] == "15m"
    env = {e["name"]: e.get("value") for e in controller["spec"]["env"]}
    assert env["MODELMON_BACKEND"] == "v3io" and "MODELMON_HOME" not in env
    assert f"wrote {out / 'writer' / 'function.yaml'}" in capsys.readouterr().out


def test_kafka_brokers(bundle, tmp_path):
    assert main(["deploy", "--bundle", str(bundle), "--output", str(tmp_path), "--kafka", "k1:9092, k2:9092",
                 "--function", "writer"]) == 0
    trigger = yaml.safe_load((tmp_path / "writer" / "function.yaml").read_text())["spec"]["triggers"]["results"]
    assert trigger["kind"] == "kafka-cluster" and trigger["attributes"]["brokers"] == ["k1:9092", "k2:9092"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give --output DIR or --dashboard-url URL"),
        (["--output", "x", "--base-period", "0"], "--base-period 0: must be at least 1 minute"),
        (["--output", "x", "--kafka", ","], "--kafka: give at least one broker"),
        (["--output", "x", "--function", "nope"], "function: no function or role named nope"),
        (["--output", "x", "--project", "a/b"], "MODELMON_PROJECT='a/b'"),
    ],
)
def test_bad_arguments_exit_1_with_a_message(bundle, argv, message, capsys, monkeypatch):
    monkeypatch.delenv("NUCLIO_DASHBOARD_URL", raising=False)
    assert main(["deploy", "--bundle", str(bundle), *argv]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_deploy_to_a_dashboard_reports_each_function(bundle, dashboard, capsys):
    code = main(["deploy", "--bundle", str(bundle), "--project", "shop", "--dashboard-url", dashboard.url,
                 "--function", "controller", "writer"])
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(dashboard.functions) == ["shop-controller", "shop-writer"]
    lines = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert [line[:3] for line in lines] == [["controller", "shop-controller", "ready"],
                                            ["writer", "shop-writer", "ready"]]


@pytest.mark.slow
def test_a_failed_deploy_exits_1_naming_the_function_and_message(bundle, dashboard, capsys, monkeypatch):
    monkeypatch.setenv("NUCLIO_DASHBOARD_URL", dashboard.url)
    dashboard.fail("shop-writer", "OOMKilled while starting")
    assert main(["deploy", "--bundle", str(bundle), "--project", "shop", "--function", "writer"]) == 1
    captured = capsys.readouterr()
    assert "writer" in captured.out and "error" in captured.out
    assert "modelmon: error: deploying function 'writer' failed: state error: OOMKilled while starting" in captured.err
