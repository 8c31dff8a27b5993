"""Chaos: the demo pipeline with its supervisor (``modelmon run``) in its own process, and random
``kill -9`` of its functions and of the supervisor itself, restarted on the same home as a pod would be.

The results must still be exactly those of the apps evaluated in this process on the generator's windows
(:mod:`pipeline_checks`), every request stored once, nothing dead-lettered; and no process of the run may
outlive it: the function processes of a SIGKILLed supervisor must notice (``--parent-pid``) and exit by
themselves. Processes are found in ``/proc`` by the run's temporary directory in their command line (the
supervisor's ``--home``, the functions' ``--bundle``), so a leftover is found even if nobody recorded it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pipeline_checks import (
    assert_every_window_has_exactly_the_expected_results,
    assert_samples_hold_each_request_once,
    kill,
)

import modelmon.demo.session as demo_session
from modelmon.core.config import Settings
from modelmon.demo import DemoConfig
from modelmon.demo.bundle import render_demo_bundle
from modelmon.demo.session import DemoSession
from modelmon.local_nuclio import FunctionStatus, load_bundle
from modelmon.local_nuclio.run_files import ready_file
from modelmon.queries import dead_letters

pytestmark = pytest.mark.slow

BUNDLE = Path(__file__).resolve().parents[2]  # the repository checkout: the templates and the handler packages
WINDOWS, ROWS = 6, 400
SEED, SUPERVISOR_KILLS, EXTRA_KILLS = 11, 2, 2  # every function once, the supervisor twice, 2 more at random
SUPERVISOR = "supervisor"
ORPHAN_EXIT_S = 10.0  # a function polls its supervisor every 0.2 s, then lets in-flight handlers finish
RESTART_S = 30.0  # restart backoff (0.5 s doubling) plus imports and init_context on a busy machine
# a controller killed between claiming windows and confirming the batch leaves them to the 2-minute lease
RESULTS_TIMEOUT_S = 150.0
FUNCTION_PROCESS = "modelmon.local_nuclio.function_process"


# ------------------------------------------------------------------------------ processes, from /proc

@dataclasses.dataclass(frozen=True)
class Proc:
    """A process, told apart from a later one reusing its pid by its start time."""

    pid: int
    started: int  # /proc/<pid>/stat field 22, clock ticks since boot
    args: tuple[str, ...]

    def arg(self, flag: str) -> str | None:
        return self.args[self.args.index(flag) + 1] if flag in self.args[:-1] else None

    @property
    def alive(self) -> bool:
        """Exists, is not a zombie, and is the same process (a zombie's exit is what counts)."""
        stat = _stat(self.pid)
        return stat is not None and stat[0] != "Z" and int(stat[19]) == self.started


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first); None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def processes_mentioning(marker: str) -> list[Proc]:
    """Every live process with ``marker`` in one of its arguments (zombies have no command line)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        args = tuple(raw.decode(errors="replace").split("\0")[:-1])
        stat = _stat(int(entry))
        if stat is not None and stat[0] != "Z" and any(marker in a for a in args):
            found.append(Proc(int(entry), int(stat[19]), args))
    return found


def function_processes(marker: str, parent: int) -> list[Proc]:
    """The live function processes of the run that supervisor ``parent`` started."""
    return [p for p in processes_mentioning(marker)
            if FUNCTION_PROCESS in p.args and p.arg("--parent-pid") == str(parent)]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> float:
    """Poll ``predicate`` until it is true; the seconds it took. Fails naming ``what`` after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout:g}s")
        time.sleep(0.05)
    return time.monotonic() - start


def kill_leftovers(marker: str, supervisors: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL every process of the run still alive and reap the supervisors (the cleanup of a failed test)."""
    for proc in processes_mentioning(marker):
        with contextlib.suppress(ProcessLookupError):
            if proc.alive:  # still the process found, not a later one with its pid
                os.kill(proc.pid, signal.SIGKILL)
    for supervisor in supervisors:
        if supervisor.poll() is None:
            supervisor.kill()
        supervisor.wait()


def start_supervisor(bundle: Path, settings: Settings, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``modelmon run`` on ``bundle`` in its own process, its output (and its functions') in ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "modelmon", "run", "--bundle", str(bundle), "--home", settings.home,
             "--project", settings.project],
            env={**env, **settings.to_env(), "PYTHONUNBUFFERED": "1"}, stdout=out, stderr=subprocess.STDOUT)


def check_alive(supervisor: subprocess.Popen[bytes], log: Path) -> None:
    """Fail at once, with its output, if ``modelmon run`` exited (a bundle or import error)."""
    if supervisor.poll() is not None:
        raise AssertionError(f"modelmon run exited with {supervisor.returncode}:\n{log.read_text()[-3000:]}")


def wait_running(supervisor: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    """Wait for ``modelmon run``'s "N function(s) running" line; its output so far."""
    def running() -> bool:
        check_alive(supervisor, log)
        return "function(s) running" in log.read_text(errors="replace")
    wait_until(running, timeout, f"modelmon run (pid {supervisor.pid}) starting its functions")
    return log.read_text(errors="replace")


# ------------------------------------------------------------------------------ the supervisor as a pod

class SupervisorPod:
    """Stands in for the demo session's in-process ``LocalRuntime`` (same constructor and methods): runs
    ``modelmon run`` in its own process, which :meth:`kill_supervisor` SIGKILLs and starts again on the same
    home, as Kubernetes restarts a pod. :meth:`status` reads the function processes from /proc."""

    def __init__(self, bundle_dir: str | os.PathLike[str], settings: Settings, *_: Any,
                 env: dict[str, str] | None = None, log_file: str | os.PathLike[str] | None = None,
                 **__: Any) -> None:
        self.bundle = Path(bundle_dir).resolve()
        self.settings = settings
        self.env = dict(os.environ if env is None else env)
        self.logs = Path(log_file).resolve().parent if log_file is not None else self.bundle.parent
        self.marker = str(Path(settings.home).resolve())
        self.names = [spec.name for spec in load_bundle(self.bundle)]
        self.supervisors: list[subprocess.Popen[bytes]] = []
        self.orphans: dict[int, list[Proc]] = {}  # killed supervisor pid -> its processes alive after its death
        self.started = time.monotonic()

    def note(self, event: str) -> None:
        """One line of what the chaos did (pytest shows it when the test fails)."""
        print(f"{time.monotonic() - self.started:6.1f}s {event}", flush=True)

    @property
    def current(self) -> subprocess.Popen[bytes]:
        return self.supervisors[-1]

    @property
    def log(self) -> Path:
        """The current supervisor's output, and its functions'."""
        return self.logs / f"supervisor-{len(self.supervisors) - 1}.log"

    def start(self) -> None:
        log = self.logs / f"supervisor-{len(self.supervisors)}.log"
        self.supervisors.append(start_supervisor(self.bundle, self.settings, log, self.env))

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_running(self.current, self.log, timeout)

    def processes(self) -> dict[str, list[Proc]]:
        """The current supervisor's live function processes, by function."""
        by_name: dict[str, list[Proc]] = {name: [] for name in self.names}
        for proc in function_processes(self.marker, self.current.pid):
            by_name[proc.arg("--function") or ""].append(proc)
        return by_name

    def status(self) -> dict[str, FunctionStatus]:
        """What ``LocalRuntime.status`` tells, as far as /proc and the run folder show it (not the restarts
        nor the triggers: 0 and [])."""
        out = {}
        for name, procs in self.processes().items():
            proc = max(procs, key=lambda p: p.started) if procs else None
            ready = proc is not None and ready_file(Path(proc.arg("--run-dir") or ""), name, proc.pid).exists()
            out[name] = FunctionStatus(name=name, pid=proc.pid if proc else None, alive=proc is not None,
                                       ready=ready, restarts=0, triggers=[], error=None)
        return out

    def wait_function(self, name: str) -> None:
        """Wait until ``name`` runs (again) under the current supervisor and is ready."""
        wait_until(lambda: self.status()[name].ready, RESTART_S, f"function {name} running under the supervisor")

    def kill_supervisor(self) -> int:
        """SIGKILL the supervisor, start a new one on the same home, and check that every process the dead
        one left behind exits by itself within :data:`ORPHAN_EXIT_S`. The killed pid."""
        old = self.current
        old.send_signal(signal.SIGKILL)
        old.wait(10)
        # it cannot start anything any more: whatever of the run is alive now is its (or no) leftover
        orphans = processes_mentioning(self.marker)
        self.orphans[old.pid] = orphans
        self.start()  # the new pod comes up while the old functions wind down
        took = wait_until(
            lambda: not any(p.alive for p in orphans), ORPHAN_EXIT_S,
            f"the processes left by SIGKILLed supervisor {old.pid} exiting "
            f"{[(p.pid, p.arg('--function')) for p in orphans]}")
        self.note(f"SIGKILL supervisor {old.pid}: its {len(orphans)} function processes exited within {took:.2f}s")
        self.wait_ready()
        self.note(f"supervisor {self.current.pid} running its functions")
        return old.pid

    def stop(self) -> None:
        if self.supervisors and self.current.poll() is None:
            self.current.send_signal(signal.SIGTERM)
            try:
                self.current.wait(60)
            except subprocess.TimeoutExpired:
                self.current.kill()
                self.current.wait()


def kill_plan(rng: random.Random, names: list[str]) -> list[tuple[str, float]]:
    """Who dies, in which order, and after how long a pause: a reproducible sequence in which every
    function and the supervisor die at least once."""
    victims = [*names, *[SUPERVISOR] * SUPERVISOR_KILLS, *rng.choices(names, k=EXTRA_KILLS)]
    rng.shuffle(victims)
    return [(victim, rng.uniform(0.3, 2.0)) for victim in victims]


def test_exact_results_and_no_stray_process_through_random_kills_of_functions_and_supervisor(tmp_path, monkeypatch):
    home = (tmp_path / "home").resolve()
    pods: list[SupervisorPod] = []  # the session builds its "runtime" in start(): known here even if start fails

    def pod_for_session(*args: Any, **kwargs: Any) -> SupervisorPod:
        pods.append(SupervisorPod(*args, **kwargs))
        return pods[-1]

    monkeypatch.setattr(demo_session, "LocalRuntime", pod_for_session)
    try:
        with DemoSession(DemoConfig(home=home, windows=WINDOWS, rows_per_window=ROWS, bundle_dir=BUNDLE)) as session:
            (pod,) = pods
            plan = kill_plan(random.Random(SEED), session.bundle.names)
            pod.note(f"kill plan (seed {SEED}): {', '.join(f'{v} after {p:.1f}s' for v, p in plan)}")
            session.send_traffic([0])
            wait_until(lambda: session.window_progress().done > 0, 60, "a first window analysed")
            killed: list[tuple[str, Proc]] = []
            rest = [r for w in range(1, WINDOWS) for s in session.scenarios for r in session.generator.records(s, w)]
            step = -(-len(rest) // len(plan))  # the rest of the traffic in time order, one slice per kill
            for i, (victim, pause) in enumerate(plan):
                session.put(rest[i * step:(i + 1) * step])
                time.sleep(pause)  # the kill lands while that slice is being ingested and its windows analysed
                if victim == SUPERVISOR:
                    pod.kill_supervisor()
                    continue
                pod.wait_function(victim)
                procs = pod.processes()[victim]
                assert len(procs) == 1, (victim, procs)  # never two instances under one supervisor
                proc = procs[0]
                assert kill(session, victim) == proc.pid
                killed.append((victim, proc))
                pod.note(f"SIGKILL {victim} (pid {proc.pid}) at {session.window_progress().done} windows done")
            progress = session.wait_for_windows(timeout_s=RESULTS_TIMEOUT_S)

            assert_every_window_has_exactly_the_expected_results(session, progress)
            assert_samples_hold_each_request_once(session)
            assert dead_letters(session.backend, session.config.project).empty
            assert len(pod.supervisors) == SUPERVISOR_KILLS + 1
            assert len(killed) == len(session.bundle.names) + EXTRA_KILLS and not any(proc.alive for _, proc in killed)
            for name in session.bundle.names:  # every killed function came back, once, under the last supervisor
                pod.wait_function(name)
                assert len(pod.processes()[name]) == 1, name
        assert pod.current.returncode == 0, pod.log.read_text()[-3000:]  # a clean SIGTERM stop
        assert len(pod.orphans) == SUPERVISOR_KILLS
        for pid, orphans in pod.orphans.items():  # what a dead supervisor leaves is its function processes only
            assert orphans and all(FUNCTION_PROCESS in p.args and p.arg("--parent-pid") == str(pid)
                                   for p in orphans), (pid, orphans)
        wait_until(lambda: not processes_mentioning(str(home)), 10, "every process of the run gone")
    finally:
        kill_leftovers(str(home), [supervisor for pod in pods for supervisor in pod.supervisors])


# ------------------------------------------------------------------------------ the unit-level guarantee

@pytest.mark.parametrize("when", ["ready", "starting"])
def test_function_processes_exit_by_themselves_when_their_supervisor_is_sigkilled(tmp_path, when):
    """``ready``: right after ``modelmon run`` printed its functions; ``starting``: as soon as their
    processes exist, while they still import and initialise."""
    settings = Settings(home=str(tmp_path / "home"), project="orphans", base_period_minutes=1)
    bundle = render_demo_bundle(BUNDLE, settings, (), tmp_path / "bundle")
    marker, log = str(tmp_path.resolve()), tmp_path / "supervisor.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(BUNDLE), os.environ.get("PYTHONPATH")) if p)}
    supervisor = start_supervisor(bundle.directory.resolve(), settings, log, env)
    try:
        if when == "ready":
            printed = {name: int(pid) for name, pid in re.findall(r"^started (\S+) \(pid (\d+)\)",
                                                                  wait_running(supervisor, log, 60), re.M)}
            children = function_processes(marker, supervisor.pid)
            assert {p.arg("--function"): p.pid for p in children} == printed  # /proc shows what it reports
        else:
            def spawned() -> bool:
                check_alive(supervisor, log)
                return len(function_processes(marker, supervisor.pid)) == len(bundle.names)
            wait_until(spawned, 30, "the function processes spawned")
            children = function_processes(marker, supervisor.pid)
        assert sorted(p.arg("--function") for p in children) == sorted(bundle.names)
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(10)
        wait_until(lambda: not any(p.alive for p in children), ORPHAN_EXIT_S,
                   f"the function processes of SIGKILLed supervisor {supervisor.pid} exiting")
        assert not processes_mentioning(marker)
    finally:
        kill_leftovers(marker, [supervisor])
