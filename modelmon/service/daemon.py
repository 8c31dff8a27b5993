"""The service process (``python -m modelmon.service --home H``): one per home, in the background.

It takes the home's lock (:mod:`~modelmon.service.lock`), then every ``poll_s`` seconds reconciles each
project's functions with their desired directories (:class:`~modelmon.service.project_functions.ProjectFunctions`)
while a thread rewrites ``state.json`` every second. Functions run as its child processes (their
``--parent-pid`` is the service, so they stop by themselves if it is killed); their output goes to
``<home>/logs/<project>/<function>.log``, the service's own lines to ``<home>/logs/service.log``.

SIGTERM (or SIGINT) stops every function — SIGTERM, then SIGKILL for those still running after the
stop timeout — removes ``state.json``, releases the lock and exits 0. SIGHUP is ignored: closing the
terminal that started the service must not stop it. A service whose home is deleted (its lock file
gone or replaced) stops the same way: nothing could reach it any more.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from modelmon.core.timeutil import now_ms
from modelmon.service.desired import desired_projects
from modelmon.service.layout import HomeLayout
from modelmon.service.lock import ServiceLock
from modelmon.service.project_functions import ProjectFunctions
from modelmon.service.state import write_state

EXIT_BUSY = 3  # another service holds the home's lock
_log = logging.getLogger(__name__)


class Service:
    """The supervisor of every project's functions under one home."""

    def __init__(self, home: str | os.PathLike[str], *, env: Mapping[str, str] | None = None, poll_s: float = 1.0,
                 stop_timeout_s: float = 10.0) -> None:
        self.layout = HomeLayout(home)
        self.env = dict(os.environ if env is None else env)
        self.poll_s = poll_s
        self.stop_timeout_s = stop_timeout_s
        self.started_ms = now_ms()
        self.stopping = threading.Event()
        self._projects: dict[str, ProjectFunctions] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()  # set when a reconcile changed what runs: write the state now

    def run(self, notify: Callable[[str], None]) -> int:
        """Hold the lock and supervise until :attr:`stopping` is set; ``notify`` hears ``ready <pid>`` or ``busy``."""
        lock = ServiceLock(self.layout.lock)
        if not lock.acquire():
            notify("busy")
            return EXIT_BUSY
        try:
            self.layout.state.unlink(missing_ok=True)  # a killed service's file must not describe this one
            self._write_state()
            _log.info("service started (pid %d, home %s)", os.getpid(), self.layout.home)
            notify(f"ready {os.getpid()}")
            writer = threading.Thread(target=self._keep_state, name="service-state", daemon=True)
            writer.start()
            while not self.stopping.is_set():
                if not lock.still_ours():  # a deleted home (a test's temporary folder) has nobody to stop it
                    _log.warning("%s was removed or replaced; stopping", self.layout.lock)
                    break
                self._reconcile()
                self.stopping.wait(self.poll_s)
            self.stopping.set()
            self._wake.set()
            writer.join()
            self._stop_all()
        finally:
            self.layout.state.unlink(missing_ok=True)
            lock.release()
        _log.info("service stopped (pid %d)", os.getpid())
        return 0

    def snapshot(self) -> dict[str, Any]:
        """The ``state.json`` document (see :mod:`modelmon.service.state`)."""
        with self._lock:
            projects = dict(self._projects)
        return {"pid": os.getpid(), "home": str(self.layout.home), "started_ms": self.started_ms,
                "updated_ms": now_ms(), "log": str(self.layout.service_log),
                "projects": {name: {"functions": group.functions()} for name, group in sorted(projects.items())}}

    def _reconcile(self) -> None:
        for project in desired_projects(self.layout.home):
            try:
                group = self._projects.get(project)
                if group is None:
                    group = ProjectFunctions(self.layout, project, env=self.env, stop_timeout_s=self.stop_timeout_s)
                    with self._lock:
                        self._projects[project] = group
                if group.reconcile():
                    self._wake.set()
            except Exception:  # one project's trouble (a corrupt store...) must not stop the others
                _log.exception("project %s: reconcile failed; retrying in %gs", project, self.poll_s)

    def _keep_state(self) -> None:
        """Every second; every 0.2 s while a function is (re)starting, so a waiting SDK call sees it ready soon."""
        busy = True
        while not self.stopping.is_set():
            self._wake.wait(0.2 if busy else 1.0)
            self._wake.clear()
            busy = self._write_state()

    def _write_state(self) -> bool:
        """Write ``state.json``; returns whether some function is not running yet."""
        try:
            state = self.snapshot()
            write_state(self.layout.home, state)
        except Exception:
            _log.exception("cannot write %s", self.layout.state)
            return False
        return any(function["state"] in ("starting", "restarting") for project in state["projects"].values()
                   for function in project["functions"].values())

    def _stop_all(self) -> None:
        with self._lock:
            groups = list(self._projects.values())
        threads = [threading.Thread(target=group.stop, name=f"stop-{group.project}") for group in groups]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def setup_logging(layout: HomeLayout) -> None:
    """The service's own log: rotated ``service.log``; warnings and uncaught errors go there too."""
    layout.logs_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(layout.service_log, maxBytes=5 * 1024 * 1024, backupCount=3,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)

    def log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        _log.critical("uncaught error", exc_info=(kind, exc, tb))

    sys.excepthook = log_uncaught
    threading.excepthook = lambda args: _log.error(
        "uncaught error in thread %s", args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback))


def serve(home: str | os.PathLike[str], notify_fd: int | None, *, poll_s: float = 1.0,
          stop_timeout_s: float = 10.0) -> int:
    """Run the service in this process until SIGTERM/SIGINT; report readiness on ``notify_fd``."""
    layout = HomeLayout(home)
    setup_logging(layout)
    service = Service(layout.home, poll_s=poll_s, stop_timeout_s=stop_timeout_s)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: service.stopping.set())

    def notify(message: str) -> None:
        if notify_fd is not None:
            try:
                os.write(notify_fd, f"{message}\n".encode())
            finally:
                os.close(notify_fd)

    try:
        return service.run(notify)
    except BaseException:
        _log.exception("service failed")
        raise
