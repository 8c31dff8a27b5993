"""The demo's bundle: the committed function configs rendered for the demo project, controller sped up.

Rendering (:mod:`modelmon.deploy.render`) points every function at the demo project's streams and
settings; besides the core functions and the apps, the alerts function runs, so the demo shows alerts.
The one demo-only change is the controller's cron interval: the windows are one minute long but their
event times lie in the past, so the controller may look for closed windows every second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from modelmon.core.config import ENV_APP_CLASS, ENV_APP_NAME, Settings
from modelmon.core.errors import ConfigError
from modelmon.deploy.render import (
    RenderedFunction,
    load_templates,
    render_function,
    role_template,
    with_role,
    write_configs,
)
from modelmon.functions.roles import Role


@dataclasses.dataclass(frozen=True)
class DemoApp:
    """A monitoring app the demo runs: its registered name, class path and function name."""

    name: str
    class_path: str
    function: str


@dataclasses.dataclass(frozen=True)
class DemoBundle:
    """Where the rendered configs are, and the function name of each role and app."""

    directory: Path
    functions: dict[Role, str]  # role (stream, controller, writer; alerts) -> function name
    apps: tuple[DemoApp, ...]
    alerts_group: str | None = None  # the alerts function's consumer group on the writer stream

    @property
    def names(self) -> list[str]:
        return [*self.functions.values(), *(a.function for a in self.apps)]


@dataclasses.dataclass(frozen=True)
class RenderedDemo:
    """The demo's function configs, rendered and checked but not written anywhere yet."""

    configs: tuple[RenderedFunction, ...]
    functions: dict[Role, str]
    apps: tuple[DemoApp, ...]
    alerts_group: str | None = None

    def write(self, out_dir: Path) -> DemoBundle:
        write_configs(self.configs, out_dir)
        return DemoBundle(out_dir, self.functions, self.apps, self.alerts_group)


def render_demo_functions(bundle_dir: Path, settings: Settings, apps: Sequence[str],
                          controller_interval: str = "1s") -> RenderedDemo:
    """Render the core functions, the alerts function (when the bundle has one) and the app functions named
    ``apps``; raises before anything is written (a missing bundle, role or app, a config the schema rejects)."""
    templates = load_templates(bundle_dir)
    by_app = {t.env(ENV_APP_NAME): t for t in with_role(templates, Role.APP)}
    unknown = [a for a in apps if a not in by_app]
    if unknown:
        found = ", ".join(sorted(name for name in by_app if name))
        raise ConfigError(f"{bundle_dir}: no app function for {', '.join(unknown)} (found: {found})")
    rendered: list[RenderedFunction] = []
    functions = {}
    for role in Role.core_roles():
        template = role_template(templates, role)
        if template is None:
            raise ConfigError(f"{bundle_dir}: the bundle has no {role} function")
        function = render_function(template, settings)
        if role is Role.CONTROLLER:
            function = function.with_cron_interval(controller_interval)
        rendered.append(function)
        functions[role] = function.name
    alerts_template = role_template(templates, Role.ALERTS)
    alerts = None if alerts_template is None else render_function(alerts_template, settings)
    if alerts is not None:  # a bundle of one's own may have none: the demo then shows no alerts
        rendered.append(alerts)
        functions[Role.ALERTS] = alerts.name
    demo_apps = []
    for app in apps:
        function = render_function(by_app[app], settings)
        rendered.append(function)
        demo_apps.append(DemoApp(app, by_app[app].env(ENV_APP_CLASS) or "", function.name))
    # rendering names a function's consumer groups after its bundle name
    return RenderedDemo(tuple(rendered), functions, tuple(demo_apps), None if alerts is None else alerts.function)


def render_demo_bundle(bundle_dir: Path, settings: Settings, apps: Sequence[str], out_dir: Path,
                       controller_interval: str = "1s") -> DemoBundle:
    """Render the core functions and the app functions named ``apps`` into ``out_dir``."""
    return render_demo_functions(bundle_dir, settings, apps, controller_interval).write(out_dir)
