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


def test_kafka_is_refused_naming_what_is_missing(bundle, tmp_path, capsys):
    assert main(["deploy", "--bundle", str(bundle), "--output", str(tmp_path), "--kafka", "k1:9092",
                 "--function", "writer"]) == 1
    err = capsys.readouterr().err
    assert "modelmon: error: --kafka is not supported yet: it would switch only the functions' triggers" in err
    assert "every producer still writes V3IO streams" in err
    assert "A Kafka path end to end (producers writing to Kafka) is planned" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give --output DIR or --dashboard-url URL"),
        (["--output", "x", "--base-period", "0"], "--base-period 0: must be at least 1 minute"),
        (["--output", "x", "--access-key", "env", "--access-key-secret", "s"],
         "--access-key-secret: only with --access-key secret"),
        (["--dashboard-url", "http://127.0.0.1:9", "--access-key", "env"],
         "--access-key env: $V3IO_ACCESS_KEY is not set in this shell"),
        (["--output", "x", "--function", "nope"], "function: no function or role named nope"),
        (["--output", "x", "--project", "a/b"], "MODELMON_PROJECT='a/b'"),
    ],
)
def test_bad_arguments_exit_1_with_a_message(bundle, argv, message, capsys, monkeypatch):
    monkeypatch.delenv("NUCLIO_DASHBOARD_URL", raising=False)
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
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


@pytest.mark.slow
def test_the_shells_access_key_goes_to_the_dashboard_and_nowhere_else(bundle, dashboard, capsys, monkeypatch):
    monkeypatch.setenv("V3IO_ACCESS_KEY", "9d7e0c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6")
    assert main(["deploy", "--bundle", str(bundle), "--project", "shop", "--dashboard-url", dashboard.url,
                 "--function", "writer", "--access-key", "env"]) == 0
    captured = capsys.readouterr()
    env = {e["name"]: e for e in dashboard.config("shop-writer")["spec"]["env"]}
    assert env["V3IO_ACCESS_KEY"] == {"name": "V3IO_ACCESS_KEY", "value": "9d7e0c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"}
    assert "9d7e0c1a" not in captured.out + captured.err
