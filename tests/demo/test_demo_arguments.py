"""``modelmon demo`` checks its arguments before it touches anything, and ends with commands that work."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from modelmon.cli import main
from modelmon.core.errors import ConfigError
from modelmon.demo import DemoConfig
from modelmon.demo.session import DemoSession

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def previous_demo(tmp_path):
    """A home a previous demo left: its marker file and some data."""
    home = tmp_path / "demo-home"
    home.mkdir()
    (home / ".modelmon-demo").write_text("modelmon demo home\n", encoding="utf-8")
    (home / "modelmon.db").write_bytes(b"previous results")
    return home


def untouched(home: Path) -> bool:
    return sorted(p.name for p in home.iterdir()) == [".modelmon-demo", "modelmon.db"] and \
        (home / "modelmon.db").read_bytes() == b"previous results"


@pytest.mark.parametrize(("argv", "message"), [
    (["--windows", "0"], "argument --windows: must be a whole number of at least 1, got '0'"),
    (["--windows", "-3"], "argument --windows: must be a whole number of at least 1, got '-3'"),
    (["--windows", "two"], "argument --windows: must be a whole number of at least 1, got 'two'"),
    (["--rows", "0"], "argument --rows: must be a whole number between 1 and 60000, got '0'"),
    (["--rows", "60001"], "argument --rows: must be a whole number between 1 and 60000, got '60001'"),
    (["--seed", "-1"], "argument --seed: must be a whole number of at least 0, got '-1'"),
    (["--timeout", "0"], "argument --timeout: must be a positive number of seconds, got '0'"),
    (["--timeout", "nan"], "argument --timeout: must be a positive number of seconds, got 'nan'"),
])
def test_bad_numbers_are_usage_errors_and_keep_the_previous_demo(previous_demo, argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--home", str(previous_demo), *argv])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"modelmon demo: error: {message}"
    assert untouched(previous_demo)


def test_a_bad_bundle_is_an_error_and_keeps_the_previous_demo(previous_demo, tmp_path, capsys):
    missing = tmp_path / "no-bundle"
    assert main(["demo", "--home", str(previous_demo), "--bundle", str(missing)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"modelmon: error: {missing}: bundle directory does not exist"]
    assert untouched(previous_demo)
    only_core = tmp_path / "only-core"  # a bundle without the demo's apps
    for sub in ("", "controller", "writer"):
        (only_core / sub).mkdir(parents=True, exist_ok=True)
        (only_core / sub / "function.yaml").write_text((REPO / sub / "function.yaml").read_text(encoding="utf-8"))
    assert main(["demo", "--home", str(previous_demo), "--bundle", str(only_core)]) == 1
    assert "no app function for histogram-data-drift, data-quality, system-performance" in capsys.readouterr().err
    assert untouched(previous_demo)


def test_a_home_that_is_a_file_or_under_a_file_is_refused(tmp_path, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("keep me", encoding="utf-8")
    assert main(["demo", "--home", str(afile)]) == 1
    assert "demo home is not a directory" in capsys.readouterr().err
    assert main(["demo", "--home", str(afile / "home")]) == 1
    assert f"{afile} is not a directory" in capsys.readouterr().err
    assert afile.read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("windows", 0, "windows must be a whole number of at least 1, got 0"),
    ("windows", True, "windows must be a whole number of at least 1, got True"),
    ("rows_per_window", 60_001, "rows_per_window must be a whole number between 1 and 60000, got 60001"),
    ("seed", -1, "seed must be a whole number of at least 0, got -1"),
    ("ready_timeout_s", 0, "ready_timeout_s must be a positive number of seconds, got 0"),
    ("apps", (), "apps: the demo needs at least one monitoring app"),
])
def test_demo_config_refuses_bad_values(tmp_path, field, value, message):
    with pytest.raises(ValueError, match=message):
        DemoConfig(home=tmp_path / "home", **{field: value})


def test_session_checks_the_bundle_before_wiping(previous_demo, tmp_path):
    session = DemoSession(DemoConfig(home=previous_demo, bundle_dir=tmp_path / "missing"))
    with pytest.raises(ConfigError, match="bundle directory does not exist"):
        session.start()
    assert untouched(previous_demo)


@pytest.mark.slow
def test_the_demo_prints_where_its_data_is_and_commands_that_read_it(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "modelmon", "demo", "--windows", "2", "--rows", "100", "--home", "here",
         "--bundle", str(REPO)], capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tail = proc.stdout.split("\n\ndata: ", 1)[1].splitlines()
    assert tail[0] == f"{tmp_path / 'here'} (project demo); function logs: here/functions.log"
    assert tail[1] == "inspect it (from this directory):"
    commands = [line.strip() for line in tail[2:6]]
    assert [shlex.split(c)[1:] for c in commands] == [
        ["endpoints", "--home", "here", "--project", "demo"],
        ["results", "--home", "here", "--project", "demo"],
        ["results", "--home", "here", "--project", "demo", "--history", "--endpoint", "cancer-shift"],
        ["alerts", "activations", "--home", "here", "--project", "demo"],
    ]
    assert tail[6] == "see it in a browser (http://127.0.0.1:8600 once 'ui' runs; the report is one offline file):"
    ui, report = (shlex.split(line.strip())[1:] for line in tail[7:])
    assert ui == ["ui", "--home", "here", "--project", "demo"]
    assert report == ["report", "--home", "here", "--project", "demo", "--endpoint", "cancer-shift",
                      "-o", "cancer-shift.html"]
    commands.append(tail[8].strip())  # the report runs as printed too (the ui command serves until stopped)
    # two windows, the shift in the second: the demo's alert (two flagged windows) has not fired
    assert "\n\nalerts: none active\n\ndata: " in proc.stdout
    outputs = []
    for command in commands:  # pasted into a shell in the same directory
        run = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                             check=False)
        assert (run.returncode, run.stderr) == (0, ""), command
        outputs.append(run.stdout)
    endpoints, latest, history, alerts, written = outputs
    assert alerts == "no alert activations\n"
    assert written.startswith("wrote cancer-shift.html (") and (tmp_path / "cancer-shift.html").stat().st_size > 10_000
    assert all(name in endpoints for name in ("cancer-stable", "cancer-gradual", "cancer-shift"))
    assert "detected" in endpoints and "histogram-data-drift" in latest
    assert len([line for line in history.splitlines() if "general_drift" in line]) == 2  # one per window
