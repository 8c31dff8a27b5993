"""``modelmon run`` as a user runs it: a real process, real HTTP, Ctrl-C to stop."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request

import pytest
from runtime_fixtures import BUNDLES

from modelmon.cli import main


def modelmon(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "modelmon", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.slow
def test_run_prints_one_line_per_function_serves_and_stops_on_sigint(tmp_path):
    proc = modelmon("run", "--bundle", str(BUNDLES / "procs"), "--function", "web", "--home", str(tmp_path / "h"),
                    "--project", "cli")
    try:
        started = proc.stdout.readline()
        summary = proc.stdout.readline()
        match = re.fullmatch(r"started web \(pid (\d+)\): http api on http://127.0.0.1:(\d+)\n", started)
        assert match, started
        assert summary.startswith("modelmon run: 1 function(s) running") and "project cli" in summary
        with urllib.request.urlopen(f"http://127.0.0.1:{match[2]}/", timeout=5) as resp:
            answer = json.loads(resp.read())
        assert answer["pid"] == int(match[1]) and answer["project"] == "cli"
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.slow
def test_handler_that_does_not_import_is_one_error_line(tmp_path):
    (tmp_path / "function.yaml").write_text("metadata: {name: broken}\nspec: {handler: 'nowhere_q:handler'}\n")
    proc = modelmon("run", "--bundle", str(tmp_path), "--home", str(tmp_path / "h"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and out == ""
    assert err.splitlines() == [
        f"modelmon: error: {tmp_path / 'function.yaml'}: handler 'nowhere_q:handler': cannot import module "
        "'nowhere_q': ModuleNotFoundError: No module named 'nowhere_q'"
    ]


def test_unknown_trigger_kind_is_one_error_line(tmp_path, capsys):
    (tmp_path / "function.yaml").write_text("metadata: {name: f}\nspec: {handler: 'm:h', triggers: {q: {kind: sqs}}}\n")
    assert main(["run", "--bundle", str(tmp_path), "--home", str(tmp_path / "h")]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"modelmon: error: {tmp_path / 'function.yaml'}: trigger 'q' has kind 'sqs', which the local runtime "
        "does not run (known: cron, http, kafka-cluster, v3ioStream)"
    ]


def test_corrupt_store_is_one_error_line(tmp_path, capsys):
    home = tmp_path / "h"
    home.mkdir()
    (home / "modelmon.db").write_bytes(b"not sqlite at all" * 64)
    assert main(["run", "--bundle", str(BUNDLES / "procs"), "--home", str(home)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("modelmon: error: ") and "modelmon.db" in line
