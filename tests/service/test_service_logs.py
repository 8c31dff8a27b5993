"""Function output goes to rotated files under the home, never to the starting process's terminal;
``modelmon logs`` shows it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from service_helpers import PROJECT, running_pids, wait_for, write_toy

from modelmon.cli import main
from modelmon.local_nuclio.function_log import FunctionLog
from modelmon.service import HomeLayout, start_service

pytestmark = pytest.mark.slow


def test_function_output_lands_in_its_file_not_on_stdout(service_home, capfd):
    write_toy(service_home, "talker", TOY_GREETING="greetings-from-talker")
    write_toy(service_home, "other")
    start_service(service_home)
    wait_for("both running", lambda: running_pids(service_home, ["talker", "other"]))
    log = HomeLayout(service_home).function_log(PROJECT, "talker")
    wait_for("a tick in the log", lambda: "tick from talker" in text_of(log))
    text = log.read_text()
    assert "toy talker ready in pid" in text and "greetings-from-talker" in text
    assert "modelmon> " in text and "[info] started (pid" in text  # the service's own line about it
    assert "tick from other" not in text  # one file per function
    assert "service started" in HomeLayout(service_home).service_log.read_text()
    out, err = capfd.readouterr()
    assert "tick" not in out + err and "greetings" not in out + err


def test_modelmon_logs_shows_the_last_lines_and_refuses_unknown_functions(service_home, capsys):
    write_toy(service_home, "talker", TOY_GREETING="greetings-from-talker")
    write_toy(service_home, "other")
    start_service(service_home)
    log = HomeLayout(service_home).function_log(PROJECT, "talker")
    wait_for("ticks in both logs", lambda: "tick from talker" in text_of(log)
             and "tick from other" in text_of(HomeLayout(service_home).function_log(PROJECT, "other")))

    assert main(["logs", "talker", "--home", str(service_home), "-n", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "tick from talker" in out[0]

    assert main(["logs", "--home", str(service_home), "-n", "1"]) == 0  # the only project: toys
    out = capsys.readouterr().out.splitlines()
    assert [line.partition(" | ")[0] for line in out] == ["other", "talker"]
    assert all("tick from" in line for line in out)

    assert main(["logs", "nope", "--home", str(service_home)]) == 1
    assert capsys.readouterr().err.strip() == (f"modelmon: error: project {PROJECT!r} has no function 'nope' "
                                               "(known: other, talker)")


def test_modelmon_logs_follow_prints_new_lines(service_home):
    write_toy(service_home, "talker", interval="200ms")
    start_service(service_home)
    log = HomeLayout(service_home).function_log(PROJECT, "talker")
    wait_for("the log file", log.is_file)
    follow = subprocess.Popen([sys.executable, "-m", "modelmon", "logs", "talker", "-f", "-n", "0",
                               "--home", str(service_home)], stdout=subprocess.PIPE, text=True)
    try:
        lines = [follow.stdout.readline() for _ in range(3)]  # ticks written after it started
    finally:
        follow.terminate()
        follow.wait(10)
    assert all("tick from talker" in line for line in lines), lines


def test_a_function_log_rotates_at_its_size_limit(tmp_path):
    log = FunctionLog(tmp_path / "f.log", max_bytes=1000, backups=2)
    for i in range(100):
        log.note(f"line {i:03d} " + "x" * 40)
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["f.log", "f.log.1", "f.log.2"]
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir())
    assert "line 099" in (tmp_path / "f.log").read_text()


def text_of(path) -> str:
    return path.read_text() if path.is_file() else ""


def test_modelmon_logs_reads_the_files_even_without_a_service(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MODELMON_PROJECT", raising=False)
    layout = HomeLayout(tmp_path / "home")
    logs = layout.project_logs("fraud")
    logs.mkdir(parents=True)
    (logs / "model-monitoring-writer.log.1").write_text("w1\nw2\n")  # rotated: the older lines
    (logs / "model-monitoring-writer.log").write_text("w3\n")
    (logs / "model-monitoring-stream.log").write_text("s1\n")
    assert main(["logs", "writer", "--home", str(layout.home), "-n", "2"]) == 0  # the end of its name will do
    assert capsys.readouterr().out == "w2\nw3\n"
    assert main(["logs", "--home", str(layout.home), "--project", "fraud", "-n", "5"]) == 0
    assert capsys.readouterr().out == ("model-monitoring-stream | s1\nmodel-monitoring-writer | w1\n"
                                       "model-monitoring-writer | w2\nmodel-monitoring-writer | w3\n")
    assert main(["logs", "--home", str(tmp_path / "nowhere")]) == 1
    assert "no modelmon home at" in capsys.readouterr().err
