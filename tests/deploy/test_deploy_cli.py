from __future__ import annotations

import pytest
import yaml
from deploy_paths import SOURCE

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


def test_kafka_without_a_backend_writing_kafka_is_refused_naming_what_is_missing(bundle, tmp_path, capsys):
    assert main(["deploy", "--bundle", str(bundle), "--output", str(tmp_path), "--kafka", "k1:9092",
                 "--function", "writer"]) == 1
    err = capsys.readouterr().err
    assert "modelmon: error: --kafka: only the postgres backend writes its streams to Kafka; with --backend v3io" in err
    assert "writes V3IO streams, so the Kafka triggers would wait on topics nobody writes to. Add --postgres DSN" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give --output DIR or --dashboard-url URL"),
        (["--output", "x", "--base-period", "0"], "--base-period 0: must be at least 1 minute"),
        (["--output", "x", "--access-key", "env", "--access-key-secret", "s"],
         "--access-key-secret: only with --access-key secret"),
        (["--dashboard-url", "http://127.0.0.1:9", "--source", SOURCE, "--access-key", "env"],
         "--access-key env: $V3IO_ACCESS_KEY is not set in this shell"),
        (["--dashboard-url", "http://127.0.0.1:9"],
         "a Nuclio dashboard gets only the function configs, not the bundle: say where its builder gets modelmon "
         "with --source (or source=, or $MODELMON_SOURCE)"),
        (["--dashboard-url", "http://127.0.0.1:9", "--source", "/srv/modelmon-bundle.tar.gz"],
         "source '/srv/modelmon-bundle.tar.gz': a dashboard's builder cannot read a local path"),
        (["--dashboard-url", "http://127.0.0.1:9", "--source", "git+https://git.example/org/modelmon.git@main"],
         "the repository's root function.yaml"),
        (["--dashboard-url", "http://127.0.0.1:9", "--source", "image:registry.example/mm:1", "--image", "python:3"],
         "--image python:3: with --source image:registry.example/mm:1 nothing is built"),
        (["--output", "x", "--source", SOURCE], "--source is for --dashboard-url: with --output, nuctl sends"),
        (["--archive", "bundle.zip"], "the file must end in .tar.gz"),
        (["--archive", "bundle.tar.gz"], "no pyproject.toml; the archive is the bundle that `pip install /opt/nuclio`"),
        (["--archive", "bundle.tar.gz", "--source", SOURCE], "--archive only writes the archive"),
        (["--output", "x", "--function", "nope"], "function: no function or role named nope"),
        (["--output", "x", "--project", "a/b"], "MODELMON_PROJECT='a/b'"),
    ],
)
def test_bad_arguments_exit_1_with_a_message(bundle, argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("NUCLIO_DASHBOARD_URL", raising=False)
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    monkeypatch.delenv("MODELMON_SOURCE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["deploy", "--bundle", str(bundle), *argv]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_deploy_to_a_dashboard_reports_each_function(bundle, dashboard, capsys):
    source = "https://files.example/releases/modelmon-0.1.0.tar.gz"
    code = main(["deploy", "--bundle", str(bundle), "--project", "shop", "--dashboard-url", dashboard.url,
                 "--function", "controller", "writer", "--source", source])
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(dashboard.functions) == ["shop-controller", "shop-writer"]
    assert out.splitlines()[0].endswith(f"to {dashboard.url}, from {source}")
    for name in ("shop-controller", "shop-writer"):  # the builder downloads the bundle, then installs it
        build = dashboard.config(name)["spec"]["build"]
        assert (build["codeEntryType"], build["path"]) == ("archive", source)
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
