"""The local runtime: each function of a bundle in its own OS process, restarted when it crashes.

::

    with LocalRuntime("path/to/bundle", Settings(home=".modelmon", project="demo")) as runtime:
        port = runtime.status()["echo"].triggers[0]["port"]
        ...

A function whose process exits for a reason a restart cannot fix (its handler does not import,
the store is corrupt) is not restarted; :meth:`LocalRuntime.wait_ready` raises its one-line error.

A running runtime also takes functions one at a time (:meth:`LocalRuntime.add`, :meth:`LocalRuntime.remove`):
the local service (:mod:`modelmon.service`) reconciles each project's runtime with the functions the SDK
asked for, starting, replacing or stopping one function without touching the others.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from modelmon.backends import make_backend
from modelmon.core.config import ENV_HOME, ENV_POSTGRES_DSN, ENV_V3IO_ACCESS_KEY, Settings
from modelmon.core.errors import ConfigError
from modelmon.local_nuclio.function_child import Child, FunctionStatus, terminate
from modelmon.local_nuclio.function_log import FunctionLog
from modelmon.local_nuclio.run_files import EXIT_CONFIG, error_file, new_run_dir, ready_file
from modelmon.local_nuclio.spec import FunctionSpec, load_bundle
from modelmon.local_nuclio.trigger_spec import HTTP
from modelmon.local_nuclio.worker import LOG_FORMATS

_log = logging.getLogger(__name__)
_STABLE_S = 30.0  # a process that ran this long before crashing restarts with the shortest backoff


class LocalRuntime:
    """Runs a bundle's functions (all, or those named in ``functions``) as supervised processes.

    ``http_port_base``: the k-th HTTP trigger (functions in name order) listens on
    ``http_port_base + k``; without it a trigger uses its ``attributes.port``, or a free port.

    A function's environment is the parent's, then ``settings``, then what the caller fixed. Where
    ``explicit`` is given (``modelmon run``: the settings named by flags), the function.yaml's own env
    comes before it and wins over the other settings, so a rendered bundle keeps its base period;
    without it (the SDK, the demo: every setting chosen) ``settings`` win over the function.yaml.
    """

    def __init__(
        self,
        bundle_dir: str | os.PathLike[str],
        settings: Settings,
        functions: Iterable[str] | None = None,
        http_port_base: int | None = None,
        *,
        log_format: str = "human",
        env: Mapping[str, str] | None = None,
        restart_backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        stop_timeout_s: float = 30.0,
        log_file: str | os.PathLike[str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        explicit: Mapping[str, str] | None = None,
    ) -> None:
        if log_format not in LOG_FORMATS:
            raise ValueError(f"log_format {log_format!r}: expected one of {', '.join(LOG_FORMATS)}")
        self.bundle_dir = Path(bundle_dir).resolve()
        self.settings = settings
        self.functions = None if functions is None else list(functions)
        self.http_port_base = http_port_base
        self.log_format = log_format
        self.base_env = dict(os.environ if env is None else env)
        self.restart_backoff_s, self.max_backoff_s = restart_backoff_s, max_backoff_s
        self.stop_timeout_s = stop_timeout_s
        if log_file is not None and log_dir is not None:
            raise ValueError("give log_file (one file for every function) or log_dir (one per function), not both")
        self.log_file = log_file  # the functions' stdout/stderr are appended here instead of inherited
        self.log_dir = None if log_dir is None else Path(log_dir)  # or to <log_dir>/<function>.log, rotated
        self.explicit = None if explicit is None else dict(explicit)
        self._children: dict[str, Child] = {}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self._run_dir: Path | None = None

    # ------------------------------------------------------------------------------ public API

    def start(self, specs: Iterable[FunctionSpec] | None = None) -> None:
        """Check the bundle and the store, then start one process per function (returns at once).

        ``specs``: run these instead of the bundle's functions (``[]``: none yet, :meth:`add` brings them).
        """
        if self._monitor is not None:
            raise RuntimeError("this LocalRuntime was already started")
        specs = load_bundle(self.bundle_dir, self.functions) if specs is None else list(specs)
        make_backend(self.settings).close()  # a corrupt store is one clear error here, before any process
        self._run_dir = new_run_dir()
        k = 0
        for spec in specs:
            ports = {}
            for trigger in spec.triggers:
                if trigger.kind == HTTP and self.http_port_base is not None:
                    ports[trigger.name] = self.http_port_base + k
                    k += 1
            self._children[spec.name] = Child(spec, ports, log=self._log_for(spec.name))
        with self._lock:
            for child in self._children.values():
                self._spawn(child)
        self._monitor = threading.Thread(target=self._watch, name="modelmon-supervisor", daemon=True)
        self._monitor.start()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until every function has initialised its workers and started its triggers.

        Raises :class:`ConfigError` with the one-line reason of a function that cannot start,
        ``TimeoutError`` naming the functions still not ready after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for child in self._children.values():
                    self._poll(child)
                failed = [c for c in self._children.values() if c.error]
                if failed:
                    raise ConfigError(failed[0].error)
                waiting = [name for name, c in self._children.items() if c.ready is None]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"functions not ready after {timeout:g}s: {', '.join(waiting)}")
            time.sleep(0.05)

    def add(self, spec: FunctionSpec, *, key: str | None = None, env: Mapping[str, str] | None = None,
            version: str | None = None) -> None:
        """Start one more function, named ``key`` (default: ``spec.name``) in :meth:`status`.

        ``env`` goes on top of the function's environment (e.g. its own ``PYTHONPATH``); ``version`` is
        kept for :meth:`status`, so a caller can tell which config a process runs. A function already
        running under ``key`` is stopped first (:meth:`remove`).
        """
        if self._monitor is None or self._stopping.is_set():
            raise RuntimeError("add() needs a started, running LocalRuntime")
        key = spec.name if key is None else key
        self.remove(key)
        child = Child(spec, {}, env=dict(env or {}), version=version, log=self._log_for(key))
        with self._lock:
            self._children[key] = child
            self._spawn(child)

    def remove(self, key: str) -> bool:
        """Stop one function (SIGTERM, SIGKILL after ``stop_timeout_s``) and forget it; the others run on.

        Returns whether ``key`` was running.
        """
        with self._lock:
            child = self._children.pop(key, None)
        if child is None:
            return False
        if child.proc is not None:
            self._terminate([child.proc])
        if child.log is not None:
            if child.pump is not None:
                child.pump.join(1.0)  # its last lines, before the file closes
            child.log.note(f"stopped (pid {child.proc.pid if child.proc else '-'}): removed")
            child.log.close()
        return True

    def status(self) -> dict[str, FunctionStatus]:
        """Per function: pid, whether its process is alive and ready, restarts, trigger info, errors."""
        with self._lock:
            out = {}
            for name, c in self._children.items():
                self._poll(c)
                alive = c.proc is not None and c.proc.poll() is None
                out[name] = FunctionStatus(
                    name=name, pid=c.proc.pid if c.proc else None, alive=alive, ready=alive and c.ready is not None,
                    restarts=c.restarts, triggers=list((c.ready or {}).get("triggers", [])), error=c.error,
                    started_ms=c.started_ms, restarting=c.restart_at is not None, last_error=c.error or c.last_error,
                    version=c.version,
                )
            return out

    def stop(self) -> None:
        """SIGTERM every function (termination callbacks run, offsets are committed), SIGKILL laggards."""
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join()
        with self._lock:
            procs = [c.proc for c in self._children.values() if c.proc is not None]
            children = list(self._children.values())
        self._terminate(procs)
        for child in children:
            if child.pump is not None:
                child.pump.join(1.0)
            if child.log is not None:
                child.log.close()
        if self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)

    def __enter__(self) -> LocalRuntime:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ internals

    def _env(self, spec: FunctionSpec) -> dict[str, str]:
        """The function's environment, in the order of precedence the class docstring gives."""
        if self.explicit is None:
            env = {**self.base_env, **spec.env, **self.settings.to_env()}
        else:
            env = {**self.base_env, **self.settings.to_env(), **spec.env, **self.explicit}
        env["PYTHONUNBUFFERED"] = "1"
        if self.settings.backend in ("local", "postgres"):  # postgres keeps streams and samples in the home
            env[ENV_HOME] = os.path.abspath(self.settings.home)
        # secrets to_env() leaves out of what it writes: the children need them as given
        if self.settings.v3io_access_key:
            env[ENV_V3IO_ACCESS_KEY] = self.settings.v3io_access_key
        if self.settings.postgres_dsn:
            env[ENV_POSTGRES_DSN] = self.settings.postgres_dsn
        return env

    def _terminate(self, procs: list[subprocess.Popen[bytes]]) -> None:
        terminate(procs, self.stop_timeout_s)

    def _log_for(self, key: str) -> FunctionLog | None:
        return None if self.log_dir is None else FunctionLog(self.log_dir / f"{key}.log")

    def _spawn(self, child: Child) -> None:
        assert self._run_dir is not None
        cmd = [
            sys.executable, "-m", "modelmon.local_nuclio.function_process",
            "--function", child.spec.name, "--spec", str(child.spec.source), "--bundle", str(self.bundle_dir),
            "--run-dir", str(self._run_dir), "--log-format", self.log_format, "--parent-pid", str(os.getpid()),
        ]
        for trigger, port in child.ports.items():
            cmd += ["--http-port", f"{trigger}={port}"]
        env = {**self._env(child.spec), **child.env}
        if child.log is not None:  # a thread copies the pipe into the function's rotated file
            child.proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            child.pump = child.log.follow(child.proc)
            child.log.note(f"started (pid {child.proc.pid}, {child.spec.source})")
        else:
            with contextlib.ExitStack() as stack:  # the child gets its own copy of the log file's descriptor
                out = stack.enter_context(open(self.log_file, "ab")) if self.log_file is not None else None
                child.proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=out, stderr=out)
        child.started_at = time.monotonic()
        child.started_ms = int(time.time() * 1000)
        child.ready = None
        child.restart_at = None
        _log.debug("started function %s (pid %d)", child.spec.name, child.proc.pid)

    def _poll(self, child: Child) -> None:
        """Pick up a ready or error file of the current process; schedule a restart if it crashed."""
        proc = child.proc
        if proc is None or self._run_dir is None:
            return
        if child.ready is None:
            path = ready_file(self._run_dir, child.spec.name, proc.pid)
            if path.exists():
                child.ready = json.loads(path.read_text(encoding="utf-8"))
                for info in child.ready["triggers"]:
                    if info.get("kind") == HTTP:  # a restart listens on the same port
                        child.ports[info["name"]] = info["port"]
        code = proc.poll()
        if code is None or self._stopping.is_set() or child.error or child.restart_at is not None:
            return
        if code == EXIT_CONFIG:
            path = error_file(self._run_dir, child.spec.name, proc.pid)
            child.error = path.read_text(encoding="utf-8") if path.exists() else f"{child.spec.name}: cannot start"
            # at first start wait_ready() raises this; after a restart the log is the only report
            _log.log(logging.ERROR if child.restarts else logging.DEBUG, "function %s cannot start: %s",
                     child.spec.name, child.error)
            if child.log is not None:
                child.log.note(f"cannot start: {child.error}", "error")
            return
        child.failures = 1 if time.monotonic() - child.started_at > _STABLE_S else child.failures + 1
        delay = min(self.max_backoff_s, self.restart_backoff_s * 2 ** (child.failures - 1))
        child.restart_at = time.monotonic() + delay
        _log.warning("function %s (pid %d) exited with code %s; restarting in %.1fs",
                     child.spec.name, proc.pid, code, delay)
        if child.pump is not None:
            child.pump.join(1.0)  # the pipe closes with the process: its last lines explain the exit
        last_line = next((line for line in reversed(child.log.tail()) if line.strip()), "") if child.log else ""
        child.last_error = f"exited with code {code}" + (f": {last_line.strip()}" if last_line else "")
        if child.log is not None:
            child.log.note(f"pid {proc.pid} exited with code {code}; restarting in {delay:.1f}s", "warning")

    def _watch(self) -> None:
        while not self._stopping.wait(0.1):
            with self._lock:
                for child in self._children.values():
                    self._poll(child)
                    if child.restart_at is not None and time.monotonic() >= child.restart_at:
                        child.restarts += 1
                        self._spawn(child)
