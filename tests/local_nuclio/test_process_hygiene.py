"""Function processes: their environment's precedence, no process outliving its supervisor, no stale run folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path

import pytest
from runtime_fixtures import BUNDLES, wait_for

from modelmon.local_nuclio import LocalRuntime
from modelmon.local_nuclio.run_files import RUN_DIR_PREFIX, new_run_dir, process_alive

#: A stand-in supervisor: starts one function process naming itself as parent, prints the child's pid
#: and dies at once, while the child is still importing (the gap in which ``getppid()`` used to be read).
_DYING_SUPERVISOR = textwrap.dedent("""
    import os, subprocess, sys
    bundle, run_dir = sys.argv[1], sys.argv[2]
    log = open(os.path.join(run_dir, "child.log"), "wb")
    child = subprocess.Popen([sys.executable, "-m", "modelmon.local_nuclio.function_process",
                              "--function", "web", "--spec", os.path.join(bundle, "web", "function.yaml"),
                              "--bundle", bundle, "--run-dir", run_dir, "--parent-pid", str(os.getpid())],
                             start_new_session=True, stdout=log, stderr=log)
    print(child.pid, flush=True)
    os._exit(0)
""")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.slow
def test_a_function_process_exits_when_its_supervisor_dies_while_it_imports(tmp_path):
    out = subprocess.run([sys.executable, "-c", _DYING_SUPERVISOR, str(BUNDLES / "procs"), str(tmp_path)],
                         capture_output=True, text=True, check=True, timeout=30)
    child = int(out.stdout.split()[0])
    try:
        wait_for(lambda: not process_alive(child), timeout=30, what=f"orphaned function process {child} exiting")
    finally:
        if process_alive(child):
            os.kill(child, 9)
    assert not list(tmp_path.glob("web.*.ready")), "an orphan must not report itself ready"
    assert (tmp_path / "child.log").read_text() == "", "the process must exit quietly, not on an argument error"


def test_run_folders_of_dead_supervisors_are_removed_and_live_ones_kept():
    base = Path(tempfile.gettempdir())
    dead = Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{_dead_pid()}-"))
    (dead / "web.1.ready").write_text("{}")
    live = Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getppid()}-"))  # pytest's parent is alive
    mine = new_run_dir()
    try:
        assert not dead.exists()
        assert live.exists()
        assert mine.parent == base and mine.name.startswith(f"{RUN_DIR_PREFIX}{os.getpid()}-")
    finally:
        for folder in (dead, live, mine):
            shutil.rmtree(folder, ignore_errors=True)


def test_process_alive_tells_a_running_process_from_a_finished_one():
    assert process_alive(os.getpid())
    assert not process_alive(_dead_pid())


def _bundle_whose_yaml_sets_the_project(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    (bundle / "web").mkdir(parents=True)
    shutil.copy(BUNDLES / "procs" / "web" / "web_handler.py", bundle / "web")
    (bundle / "web" / "function.yaml").write_text(textwrap.dedent("""
        metadata: {name: web}
        spec:
          handler: web_handler:handler
          env: [{name: MODELMON_PROJECT, value: from-yaml}]
          triggers: {api: {kind: http, attributes: {port: 0}}}
    """))
    return bundle


@pytest.mark.slow
@pytest.mark.parametrize(("explicit", "project"), [
    (None, "test"),  # the SDK and the demo: every setting was chosen, the settings win
    ({}, "from-yaml"),  # `modelmon run` without flags: the function.yaml's env wins over env/defaults
    ({"MODELMON_PROJECT": "from-flag"}, "from-flag"),  # `modelmon run --project`: the flag wins
])
def test_a_functions_env_takes_flags_then_its_yaml_then_the_settings(tmp_path, settings, explicit, project):
    with LocalRuntime(_bundle_whose_yaml_sets_the_project(tmp_path), settings, explicit=explicit) as runtime:
        (api,) = runtime.status()["web"].triggers
        with urllib.request.urlopen(f"http://127.0.0.1:{api['port']}/", timeout=5) as resp:
            assert json.loads(resp.read())["project"] == project
