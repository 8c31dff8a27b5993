"""One project's functions inside the service: a :class:`~modelmon.local_nuclio.LocalRuntime` kept equal to
the desired directories.

:meth:`ProjectFunctions.reconcile` compares the directories with what runs: a new directory starts its
function, a removed one stops it, a changed version (content hash) replaces that function's process, and
nothing else is touched, so registering an app never restarts the stream or the controller. A directory
whose ``function.yaml`` cannot be read is reported as ``failed`` with the reason, without a process.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError
from modelmon.functions.roles import role_of
from modelmon.local_nuclio import FunctionStatus, LocalRuntime
from modelmon.local_nuclio.spec import FunctionSpec, load_function
from modelmon.local_nuclio.stream_source import stream_source
from modelmon.local_nuclio.trigger_spec import STREAM_KINDS
from modelmon.service.desired import CONFIG, DesiredFunction, read_desired, unused_versions
from modelmon.service.layout import HomeLayout

_log = logging.getLogger(__name__)


class ProjectFunctions:
    """The running functions of ``project`` under ``layout``'s home."""

    def __init__(self, layout: HomeLayout, project: str, *, env: Mapping[str, str],
                 stop_timeout_s: float = 10.0) -> None:
        self.layout = layout
        self.project = project
        self.env = dict(env)
        # the rendered function.yaml carries the project's settings: its env wins over these defaults
        settings = Settings(home=str(layout.home), project=project)
        self.runtime = LocalRuntime(layout.functions_dir(project), settings, env=self.env, explicit={},
                                    log_dir=layout.project_logs(project), stop_timeout_s=stop_timeout_s)
        self.runtime.start([])
        self._running: dict[str, DesiredFunction] = {}
        self._info: dict[str, dict[str, Any]] = {}  # role and streams, read once per version
        self._failed: dict[str, tuple[DesiredFunction, str]] = {}
        self._hashes: dict[Path, str] = {}

    def reconcile(self) -> bool:
        """Start, replace and stop functions until what runs is what the directories ask for; returns
        whether anything changed."""
        desired = read_desired(self.layout.home, self.project, self._hashes)
        changed = False
        for name in sorted(set(self._running) - set(desired)):
            _log.info("%s: stopping %s (removed)", self.project, name)
            self.runtime.remove(name)
            del self._running[name]
            self._info.pop(name, None)
            changed = True
        for name in set(self._failed) - set(desired):
            del self._failed[name]
            changed = True
        for name, want in desired.items():
            have = self._running.get(name) or (self._failed[name][0] if name in self._failed else None)
            if have is None or have.version != want.version:
                self._start(want, replacing=have is not None)
                changed = True
        self._collect_garbage()
        return changed

    def functions(self) -> dict[str, dict[str, Any]]:
        """Per function, the ``state.json`` entry (see :mod:`modelmon.service.state`)."""
        out = {name: self._entry(name, status) for name, status in self.runtime.status().items()}
        for name, (want, error) in self._failed.items():
            out[name] = {"role": "unknown", "pid": None, "state": "failed", "started_ms": None, "restarts": 0,
                         "last_error": error, "streams": [], "version": want.version, "triggers": [],
                         "log": str(self.layout.function_log(self.project, name))}
        return dict(sorted(out.items()))

    def stop(self) -> None:
        """Stop every function of the project (SIGTERM, SIGKILL after the stop timeout)."""
        self.runtime.stop()

    def _start(self, want: DesiredFunction, *, replacing: bool) -> None:
        name = want.name
        _log.info("%s: %s %s (version %s)", self.project, "restarting" if replacing else "starting", name,
                  want.version)
        try:
            if want.error:
                raise ConfigError(want.error)
            spec = load_function(want.directory / CONFIG)
            info = _describe(spec)
        except ConfigError as exc:
            _log.error("%s: %s cannot start: %s", self.project, name, exc)
            self.runtime.remove(name)
            self._running.pop(name, None)
            self._failed[name] = (want, str(exc))
            return
        paths = [*want.python_paths, self.env.get("PYTHONPATH", "")]
        self.runtime.add(spec, key=name, env={"PYTHONPATH": os.pathsep.join(p for p in paths if p)},
                         version=want.version)
        self._running[name] = want
        self._info[name] = info
        self._failed.pop(name, None)

    def _entry(self, name: str, status: FunctionStatus) -> dict[str, Any]:
        if status.error:
            state = "failed"
        elif status.alive:
            state = "running" if status.ready else "starting" if status.restarts == 0 else "restarting"
        else:
            state = "restarting"
        return {**self._info.get(name, {"role": "unknown", "streams": []}), "pid": status.pid if status.alive else None,
                "state": state, "started_ms": status.started_ms if status.alive else None,
                "restarts": status.restarts, "last_error": status.last_error, "version": status.version,
                "triggers": status.triggers, "log": str(self.layout.function_log(self.project, name))}

    def _collect_garbage(self) -> None:
        in_use = [want.directory for want in self._running.values()]
        for directory in unused_versions(self.layout.home, self.project, in_use):
            shutil.rmtree(directory, ignore_errors=True)
            self._hashes.pop(directory.resolve(), None)


def _describe(spec: FunctionSpec) -> dict[str, Any]:
    """The function's role (its ``modelmon/role`` label; ``other`` without one) and the streams it consumes."""
    config = yaml.safe_load(spec.source.read_text(encoding="utf-8"))
    try:
        role = role_of(config)
    except ConfigError:
        role = None
    streams = []
    for trigger in spec.triggers:
        if trigger.kind in STREAM_KINDS:
            source = stream_source(trigger)
            streams += [{"path": path, "group": source.group} for path in source.paths]
    return {"role": "other" if role is None else str(role), "streams": streams}
