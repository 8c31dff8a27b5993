"""Where a project's functions run: a Nuclio dashboard, or the local runtime on this machine.

Both targets take the same rendered configs; they differ in how an app's own code reaches its function
(embedded in the config on Nuclio, files next to it locally) and how the bundle does (on Nuclio, from the
source the target is given: :mod:`modelmon.deploy.code_source`). :class:`NuclioTarget` creates/updates/deletes
them on a dashboard, each with its credentials as secret references (``V3IO_ACCESS_KEY``, or ``PGPASSWORD`` on
Kafka + PostgreSQL) and, when asked, the Kafka topics its triggers read created first. :class:`LocalTarget`
writes them as desired-state directories under the home, which the home's local service
(:mod:`modelmon.service`) runs: a change restarts only the functions it touches (streams keep committed
offsets, so no event is lost or processed twice by that restart).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from modelmon.apps.source import AppSource, embed_source
from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError
from modelmon.core.paths import deployed_name
from modelmon.deploy.access_key import AccessKey
from modelmon.deploy.code_source import CodeSource, check_bundle_source, require_source, with_source
from modelmon.deploy.dashboard import FunctionState, check_dashboard_url, delete_function, deploy_function
from modelmon.deploy.postgres_password import PostgresPassword, plain_secret_problems
from modelmon.deploy.postgres_stores import ensure_topics
from modelmon.deploy.render import RenderedFunction
from modelmon.functions.roles import Role
from modelmon.service import ServiceInfo
from modelmon.service import control as service
from modelmon.service.desired import desired_names, remove_function, write_function


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
    """Functions on a Nuclio dashboard, through nuclio-jupyter.

    ``access_key`` says, at each deployment, where the functions' ``V3IO_ACCESS_KEY`` comes from
    (:func:`~modelmon.deploy.access_key.choose_access_key`); by default the configs keep the secret reference
    they were rendered with.

    ``source`` says where the dashboard's builder gets the bundle (:mod:`~modelmon.deploy.code_source`); without
    one, deploying is refused saying what to pass. ``bundle_dir`` is the bundle the configs were rendered
    from: an app whose code is embedded carries the bundle's glue module (``apps/handler.py``) from there.

    On Kafka + PostgreSQL (:mod:`~modelmon.deploy.postgres_stores`), ``postgres_password`` sets every function's
    ``PGPASSWORD`` (a secret reference, or none) and ``topic_brokers`` names the brokers on which the topics the
    functions' ``kafka-cluster`` triggers read are created before they are deployed (empty: none created; each
    producer creates its own on first use).
    """

    kind = "nuclio"

    def __init__(self, dashboard_url: str, *, access_key: Callable[[], AccessKey] | None = None,
                 source: CodeSource | None = None, bundle_dir: Path | str | None = None,
                 postgres_password: PostgresPassword | None = None, topic_brokers: Sequence[str] = ()) -> None:
        self.dashboard_url = check_dashboard_url(dashboard_url)
        self._access_key = access_key
        self.postgres_password = postgres_password
        self.topic_brokers = tuple(topic_brokers)
        self.source = source
        self.bundle_dir = Path(bundle_dir) if bundle_dir is not None else None
        if source is not None and self.bundle_dir is not None:
            check_bundle_source(source, self.bundle_dir)
        self._names: dict[str, str] = {}  # bundle name -> Nuclio name, of what this session deployed

    def apply(self, functions: Sequence[RenderedFunction], *, settings: Settings, wait: bool) -> list[FunctionState]:
        source = require_source(self.source)  # like a missing key, it fails before any deploy
        key = self._access_key() if self._access_key is not None else None
        shipped = [self._shipped(function, source, key) for function in functions]
        if self.topic_brokers:  # before any consumer starts: Nuclio's kafka-cluster trigger creates no topic
            ensure_topics(shipped, self.topic_brokers, settings.kafka_security)
        states = []
        for function in shipped:
            states.append(deploy_function(function, self.dashboard_url, wait=wait))
            self._names[function.function] = function.name
        return states

    def _shipped(self, function: RenderedFunction, source: CodeSource, key: AccessKey | None) -> RenderedFunction:
        """``function`` as the dashboard gets it: its code source and credentials set; a config that would
        carry a PostgreSQL password in plain text is refused (``ValueError``) before anything is sent."""
        shipped = dataclasses.replace(function, config=with_source(function.config, source))
        shipped = with_postgres_password(with_access_key(shipped, key), self.postgres_password)
        for problem in plain_secret_problems(shipped.config.get("spec")):
            raise ValueError(f"{function.function}: not sending {problem} to the dashboard; the functions read "
                             "PGPASSWORD from a Kubernetes secret (postgres_password_secret=)")
        return shipped

    def remove(self, functions: Iterable[str], *, settings: Settings) -> list[str]:
        removed = []
        for function in functions:
            name = self._names.pop(function, deployed_name(settings.project, function))
            if delete_function(self.dashboard_url, name):
                removed.append(function)
        return removed

    def package_app(self, function: RenderedFunction, source: AppSource) -> None:
        """An app's own files travel inside the config, with the bundle's glue: the dashboard has no other way
        to get them (the config then installs modelmon from the source, :meth:`apply`)."""
        if source.files:
            embed_source(function.config, source, self._glue(function, source))

    def _glue(self, function: RenderedFunction, source: AppSource) -> dict[str, bytes]:
        """The bundle's file of the function's handler module (``apps.handler`` -> ``apps/handler.py``), unless
        the app's own files provide that module."""
        module = str(function.config.get("spec", {}).get("handler", "")).partition(":")[0]
        name = module.replace(".", "/") + ".py"
        if name in source.files:
            return {}
        if self.bundle_dir is None or not (self.bundle_dir / name).is_file():
            raise ConfigError(f"the app function's handler module {module!r} ({name}) is not in the bundle "
                              f"{self.bundle_dir}: an embedded app needs it to carry the glue")
        return {name: (self.bundle_dir / name).read_bytes()}

    def start_app(self, function: RenderedFunction, source: AppSource, *, settings: Settings) -> list[FunctionState]:
        return self.apply([function], settings=settings, wait=True)

    def running(self) -> list[str]:
        return sorted(self._names)

    def close(self) -> None:
        pass


def with_access_key(function: RenderedFunction, key: AccessKey | None) -> RenderedFunction:
    """``function`` with its ``V3IO_ACCESS_KEY`` entry set by ``key`` (a copy; ``None``: unchanged)."""
    if key is None:
        return function
    config = copy.deepcopy(function.config)
    key.apply(config.setdefault("spec", {}))
    return dataclasses.replace(function, config=config)


def with_postgres_password(function: RenderedFunction, password: PostgresPassword | None) -> RenderedFunction:
    """``function`` with its ``PGPASSWORD`` entry set by ``password`` (a copy; ``None``: unchanged)."""
    if password is None:
        return function
    config = copy.deepcopy(function.config)
    password.apply(config.setdefault("spec", {}))
    return dataclasses.replace(function, config=config)


class LocalTarget:
    """Functions run by the home's local service (:mod:`modelmon.service`), from configs written under the home.

    Each function's config (and an app's own files) becomes a desired-state directory
    ``<home>/projects/<project>/functions/<function>/``; the service, started here if none runs, starts
    or replaces only the functions whose directory changed. They keep running after this process exits:
    :meth:`stop_service` (or ``modelmon down``) stops them.
    """

    kind = "local"

    def __init__(self, home: Path | str, project: str, *, python_paths: Sequence[Path | str] = (),
                 ready_timeout_s: float = 60.0, controller_interval: str | None = None) -> None:
        self.home = Path(home).resolve()
        self.project = project
        # the controller's cron interval instead of the base period: traffic whose event times lie in the
        # past (demos, tests) closes its windows at once, so the controller may look every second
        self.controller_interval = controller_interval
        self.python_paths = [str(Path(p).resolve()) for p in python_paths]
        self.ready_timeout_s = ready_timeout_s

    def apply(self, functions: Sequence[RenderedFunction], *, settings: Settings, wait: bool) -> list[FunctionState]:
        """Write the functions' desired state and start the service if needed; with ``wait``, return once the
        service runs this version of each (a function that cannot start raises ``DeploymentFailed``)."""
        return self._apply(functions, {}, [], wait=wait)

    def remove(self, functions: Iterable[str], *, settings: Settings) -> list[str]:
        removed = [f for f in functions if remove_function(self.home, self.project, f)]
        if removed:
            service.wait_for_removal(self.home, self.project, removed, timeout=self.ready_timeout_s)
        return removed

    def package_app(self, function: RenderedFunction, source: AppSource) -> None:
        """Nothing to embed: :meth:`start_app` writes the app's files next to its function."""

    def start_app(self, function: RenderedFunction, source: AppSource, *, settings: Settings) -> list[FunctionState]:
        paths = [] if source.import_root is None else [str(source.import_root)]
        return self._apply([function], source.files, paths, wait=True)

    def running(self) -> list[str]:
        """The functions this project asks the service to run (its desired-state directories)."""
        return desired_names(self.home, self.project)

    def close(self) -> None:
        """Nothing to release: the functions belong to the service, which keeps running."""

    def stop_service(self, timeout: float = 30.0) -> ServiceInfo | None:
        """Stop the home's service and every function of every project it runs (``None``: none was running)."""
        return service.stop_service(self.home, timeout=timeout)

    def _apply(self, functions: Sequence[RenderedFunction], files: Mapping[str, bytes], extra_paths: Sequence[str],
               *, wait: bool) -> list[FunctionState]:
        versions = {}
        for function in functions:
            config = self._local_config(function)
            versions[function.function] = write_function(
                self.home, self.project, function.function, config.to_yaml(), files=files,
                python_paths=[*extra_paths, *self.python_paths])
        service.start_service(self.home)
        if not wait:
            return [FunctionState(f.function, f.name, "starting") for f in functions]
        service.wait_for_versions(self.home, self.project, versions, timeout=self.ready_timeout_s)
        return [FunctionState(f.function, f.name, "ready") for f in functions]

    def _local_config(self, function: RenderedFunction) -> RenderedFunction:
        if self.controller_interval is None or function.role is not Role.CONTROLLER:
            return function
        return function.with_cron_interval(self.controller_interval)
