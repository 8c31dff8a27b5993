"""Where a project's functions run: a Nuclio dashboard, or the local runtime on this machine.

Both targets take the same rendered configs; they differ in how an app's own code reaches its function
(embedded in the config on Nuclio, files next to it locally). :class:`NuclioTarget` creates/updates/deletes them on a
dashboard. :class:`LocalTarget` writes them as a bundle under the project's home and (re)starts a
:class:`~modelmon.local_nuclio.LocalRuntime` over the current set: the local runtime cannot add a
function to a running supervisor, so a change restarts it (streams keep committed offsets, so no
event is lost or processed twice by that restart).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from modelmon.apps.source import AppSource, embed_source
from modelmon.core.config import Settings
from modelmon.core.paths import deployed_name
from modelmon.deploy.dashboard import FunctionState, check_dashboard_url, delete_function, deploy_function
from modelmon.deploy.render import RenderedFunction, write_configs
from modelmon.functions.roles import Role


class Target(Protocol):
    """Runs rendered functions somewhere."""

    kind: str

    def apply(self, functions: Sequence[RenderedFunction], *, settings: Settings, wait: bool) -> list[FunctionState]:
        """Create or update ``functions`` (the others keep running)."""

    def remove(self, functions: Iterable[str], *, settings: Settings) -> list[str]:
        """Stop and delete the named functions (bundle names); returns those that existed."""

    def package_app(self, function: RenderedFunction, source: AppSource) -> None:
        """Put the app's own files into ``function``'s config, if this target ships code that way."""

    def start_app(self, function: RenderedFunction, source: AppSource, *, settings: Settings) -> list[FunctionState]:
        """Create or update an app's function, with the app's code reachable from it."""

    def running(self) -> list[str]:
        """Bundle names of the functions this target runs."""

    def close(self) -> None:
        """Release local resources (the deployed functions keep running on Nuclio)."""


class NuclioTarget:
    """Functions on a Nuclio dashboard, through nuclio-jupyter."""

    kind = "nuclio"

    def __init__(self, dashboard_url: str) -> None:
        self.dashboard_url = check_dashboard_url(dashboard_url)
        self._names: dict[str, str] = {}  # bundle name -> Nuclio name, of what this session deployed

    def apply(self, functions: Sequence[RenderedFunction], *, settings: Settings, wait: bool) -> list[FunctionState]:
        states = []
        for function in functions:
            states.append(deploy_function(function, self.dashboard_url, wait=wait))
            self._names[function.function] = function.name
        return states

    def remove(self, functions: Iterable[str], *, settings: Settings) -> list[str]:
        removed = []
        for function in functions:
            name = self._names.pop(function, deployed_name(settings.project, function))
            if delete_function(self.dashboard_url, name):
                removed.append(function)
        return removed

    def package_app(self, function: RenderedFunction, source: AppSource) -> None:
        """A single-file app travels inside the config: the dashboard has no other way to get it."""
        if source.files:
            embed_source(function.config, source)

    def start_app(self, function: RenderedFunction, source: AppSource, *, settings: Settings) -> list[FunctionState]:
        return self.apply([function], settings=settings, wait=True)

    def running(self) -> list[str]:
        return sorted(self._names)

    def close(self) -> None:
        pass


class LocalTarget:
    """Functions in supervised local processes, from configs written under ``run_dir``."""

    kind = "local"

    def __init__(self, run_dir: Path | str, *, python_paths: Sequence[Path | str] = (),
                 env: Mapping[str, str] | None = None, ready_timeout_s: float = 60.0,
                 controller_interval: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        # the controller's cron interval instead of the base period: traffic whose event times lie in the
        # past (demos, tests) closes its windows at once, so the controller may look every second
        self.controller_interval = controller_interval
        self.python_paths = [str(Path(p).resolve()) for p in python_paths]
        self.env = dict(os.environ if env is None else env)
        self.ready_timeout_s = ready_timeout_s
        self._functions: dict[str, RenderedFunction] = {}
        self._files: dict[str, dict[str, bytes]] = {}  # bundle name -> extra files (user app modules)
        self._runtime: Any = None

    def add_files(self, function: str, files: Mapping[str, bytes]) -> None:
        """Files written next to ``function``'s function.yaml (its directory is first on sys.path)."""
        self._files[function] = dict(files)

    def apply(self, functions: Sequence[RenderedFunction], *, settings: Settings, wait: bool) -> list[FunctionState]:
        for function in functions:
            self._functions[function.function] = function
        self._restart(settings, wait=True)
        return [FunctionState(f.function, f.name, "ready") for f in functions]

    def remove(self, functions: Iterable[str], *, settings: Settings) -> list[str]:
        removed = [f for f in functions if self._functions.pop(f, None) is not None]
        for function in removed:
            self._files.pop(function, None)
        if removed:
            self._restart(settings, wait=True)
        return removed

    def package_app(self, function: RenderedFunction, source: AppSource) -> None:
        """Nothing to embed: :meth:`start_app` writes the app's files next to its function."""

    def start_app(self, function: RenderedFunction, source: AppSource, *, settings: Settings) -> list[FunctionState]:
        self.add_files(function.function, source.files)
        if source.import_root is not None and str(source.import_root) not in self.python_paths:
            self.python_paths.append(str(source.import_root))
        return self.apply([function], settings=settings, wait=True)

    def running(self) -> list[str]:
        return sorted(self._functions)

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None

    def _restart(self, settings: Settings, *, wait: bool) -> None:
        from modelmon.local_nuclio import LocalRuntime  # imported here: the SDK works without starting processes

        self.close()
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir)
        self.run_dir.mkdir(parents=True)
        if not self._functions:
            return
        write_configs([self._local_config(f) for f in self._functions.values()], self.run_dir)
        for function, files in self._files.items():
            for name, data in files.items():
                (self.run_dir / function / name).write_bytes(data)
        paths = [*self.python_paths, self.env.get("PYTHONPATH", "")]
        env = {**self.env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        runtime = LocalRuntime(self.run_dir, settings, env=env)
        runtime.start()
        self._runtime = runtime
        if wait:
            runtime.wait_ready(self.ready_timeout_s)

    def _local_config(self, function: RenderedFunction) -> RenderedFunction:
        if self.controller_interval is None or function.role is not Role.CONTROLLER:
            return function
        return function.with_cron_interval(self.controller_interval)
