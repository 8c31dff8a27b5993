"""Rendering the committed ``function.yaml`` files into one project's Nuclio function configs.

Functions are picked by their ``modelmon/role`` label (:mod:`modelmon.functions.roles`), never by name.
The committed files describe the ``default`` project. Rendering a project rewrites what depends on
it — the deployed name (``<project>-<function>``), the project label, ``MODELMON_*`` env, stream
paths (from :class:`~modelmon.core.paths.ProjectPaths`), one consumer group per function, the
controller's cron interval (the base period) — and, when told, where ``V3IO_ACCESS_KEY`` comes from
(:mod:`modelmon.deploy.access_key`; stream triggers keep ``password: $generate``, which Nuclio's processor
resolves from it). Every rendered config is checked against :mod:`modelmon.deploy.schema`.

Streams on Kafka (``settings.kafka_brokers``, the ``postgres`` backend's ``MODELMON_KAFKA_BROKERS``) swap
every ``v3ioStream`` trigger for a ``kafka-cluster`` one on the topic :func:`kafka_topic` names for its stream,
the topic the producers' Kafka stream role writes (the same function maps both), with the function's own
consumer group. Such a function reads no V3IO, so its ``V3IO_ACCESS_KEY`` entry is dropped on a backend other
than ``v3io``; ``postgres_password`` sets ``PGPASSWORD`` from a secret (:mod:`modelmon.deploy.postgres_password`),
and a DSN holding a password never reaches a config (``Settings.to_env`` leaves it out; ``write_configs``
refuses one). ``kafka_brokers=`` given explicitly renders the triggers for other streams (the local runtime's
``kafka-cluster`` triggers read the backend's streams, whatever they are).

Build commands are kept in order: the bundle install follows ``@nuclio.postCopy`` (before it, Nuclio
runs commands before the function's files are in the image; the schema check rejects that), and an
app's extra ``requirements`` are appended after it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from modelmon.core.config import (
    ENV_APP_CLASS,
    ENV_APP_KWARGS,
    ENV_APP_NAME,
    ENV_APP_SOURCE,
    ENV_V3IO_ACCESS_KEY,
    ENV_V3IO_API,
    ENV_V3IO_FRAMESD,
    ENV_V3IO_USERNAME,
    Settings,
)
from modelmon.core.errors import ConfigError
from modelmon.core.paths import ProjectPaths, check_name, deployed_name
from modelmon.deploy.access_key import AccessKey
from modelmon.deploy.code_source import CodeSource, apply_source, parse_source
from modelmon.deploy.kafka_credentials import KafkaCredentials, plain_kafka_secret_problems
from modelmon.deploy.kafka_topics import kafka_topic as kafka_topic  # re-exported: the topic a trigger reads
from modelmon.deploy.kafka_topics import to_kafka
from modelmon.deploy.postgres_password import PostgresPassword, plain_secret_problems
from modelmon.deploy.schema import check_config
from modelmon.functions.roles import FUNCTION_LABEL, ROLE_LABEL, Role, role_of
from modelmon.local_nuclio.spec import find_function_files

PROJECT_LABEL = "nuclio.io/project-name"
_STREAM = re.compile(r"^projects/(?P<project>[^/]+)/model-endpoints/(?P<rest>.+)$")
_V3IO_ENV = (ENV_V3IO_ACCESS_KEY, ENV_V3IO_API, ENV_V3IO_FRAMESD, ENV_V3IO_USERNAME)


@dataclasses.dataclass(frozen=True)
class FunctionTemplate:
    """A committed ``function.yaml``: its function name and parsed config."""

    name: str
    source: Path
    config: Mapping[str, Any]

    @property
    def role(self) -> Role | None:
        """What the function is for (its ``modelmon/role`` label)."""
        return role_of(self.config)

    def env(self, name: str) -> str | None:
        """The plain value of env var ``name`` in the committed config (e.g. an app's class path)."""
        for entry in self.config.get("spec", {}).get("env") or []:
            if entry.get("name") == name:
                value: str | None = entry.get("value")
                return value
        return None


@dataclasses.dataclass(frozen=True)
class RenderedFunction:
    """One function's config for one project, ready for nuctl or the dashboard."""

    function: str  # the bundle's name for it ("controller", "stream", ...)
    name: str  # the deployed Nuclio name ("<project>-<function>")
    project: str
    config: dict[str, Any]

    @property
    def role(self) -> Role | None:
        """What the function is for (the template's ``modelmon/role`` label, kept by rendering)."""
        return role_of(self.config)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.config, sort_keys=False, default_flow_style=False)

    def with_cron_interval(self, interval: str) -> RenderedFunction:
        """A copy whose cron triggers fire every ``interval``: traffic whose event times lie in the past
        (demos, tests) closes its windows at once, so the controller need not wait a base period."""
        config = copy.deepcopy(self.config)
        for trigger in (config.get("spec", {}).get("triggers") or {}).values():
            if trigger.get("kind") == "cron":
                trigger["attributes"] = {"interval": interval}
        return dataclasses.replace(self, config=config)


def load_templates(bundle_dir: Path | str, names: Iterable[str] | None = None) -> list[FunctionTemplate]:
    """The bundle's committed function configs (or only ``names``), by function name."""
    templates: dict[str, FunctionTemplate] = {}
    for path in find_function_files(Path(bundle_dir)):
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read function.yaml ({exc})") from None
        name = (config or {}).get("metadata", {}).get("name") if isinstance(config, dict) else None
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{path}: metadata.name is missing")
        if name in templates:
            raise ConfigError(f"{path}: function {name!r} is also defined in {templates[name].source}")
        templates[name] = FunctionTemplate(name=name, source=path, config=config)
    if not templates:
        raise ConfigError(f"{bundle_dir}: no function.yaml found (looked at the root and two levels below)")
    if names is None:
        return [templates[n] for n in sorted(templates)]
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in templates]
    if unknown:
        raise ValueError(f"function: no function named {', '.join(unknown)} (known: {', '.join(sorted(templates))})")
    return [templates[n] for n in wanted]


def with_role(templates: Iterable[FunctionTemplate], role: Role) -> list[FunctionTemplate]:
    """The templates labelled ``role``, by function name."""
    return sorted((t for t in templates if t.role is role), key=lambda t: t.name)


def role_template(templates: Iterable[FunctionTemplate], role: Role) -> FunctionTemplate | None:
    """The template of a one-function ``role`` (stream, controller, writer...), if the bundle has it.

    Two functions labelled with such a role raise :class:`ConfigError`: which one would run is a guess.
    """
    found = with_role(templates, role)
    if len(found) > 1:
        sources = ", ".join(str(t.source) for t in found)
        raise ConfigError(f"{ROLE_LABEL}: {role} labels {len(found)} functions ({sources}); expected one")
    return found[0] if found else None


def render_function(
    template: FunctionTemplate,
    settings: Settings,
    *,
    kafka_brokers: Sequence[str] | None = None,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
    access_key: AccessKey | None = None,
    source: CodeSource | str | None = None,
    postgres_password: PostgresPassword | None = None,
) -> RenderedFunction:
    """``template`` rendered for ``settings.project`` (see the module docstring); ``access_key`` replaces the
    template's ``V3IO_ACCESS_KEY`` entry; ``source`` names where a dashboard's builder gets the bundle
    (:mod:`modelmon.deploy.code_source`: a dashboard deploy needs one, nuctl's ``--path`` does not);
    ``kafka_brokers`` (default: the settings') makes the stream triggers ``kafka-cluster`` ones."""
    brokers = settings.kafka_brokers if kafka_brokers is None else tuple(kafka_brokers)
    config = copy.deepcopy(dict(template.config))
    name = deployed_name(settings.project, template.name)
    metadata = config.setdefault("metadata", {})
    metadata["name"] = name
    labels = metadata.setdefault("labels", {})
    labels[PROJECT_LABEL] = settings.project
    labels[FUNCTION_LABEL] = template.name
    spec = config.setdefault("spec", {})
    set_env(spec, {**settings.to_env(), **(env or {})})
    if access_key is not None:
        access_key.apply(spec)
    if image:
        spec.setdefault("build", {})["baseImage"] = image
    paths = ProjectPaths(settings.project)
    for trigger_name, trigger in list((spec.get("triggers") or {}).items()):
        kind = trigger.get("kind")
        if kind == "cron" and template.role is Role.CONTROLLER:  # other crons (labels re-match) keep theirs
            attributes = trigger.setdefault("attributes", {})
            attributes.pop("schedule", None)
            attributes["interval"] = f"{settings.base_period_minutes}m"
        elif kind == "v3ioStream":
            stream = _project_stream(trigger, paths, template, trigger_name)
            _set_stream(trigger, stream, template.name)
            if brokers:
                spec["triggers"][trigger_name] = to_kafka(trigger, stream, brokers)
    if access_key is None and settings.backend != "v3io" and not _reads_v3io(spec):
        # nothing of it is on V3IO: the template's V3IO_* entries (its access key's secret reference) go
        spec["env"] = [e for e in spec.get("env") or [] if e.get("name") not in _V3IO_ENV]
    if postgres_password is not None:
        postgres_password.apply(spec)
    if brokers and settings.kafka_security.protocol != "PLAINTEXT":  # SASL/TLS: password and CA from the secret
        secret = postgres_password.secret if postgres_password is not None and postgres_password.secret else None
        KafkaCredentials(settings.kafka_security, *([secret] if secret else [])).apply(spec)
    if source is not None:
        apply_source(config, parse_source(source))
    rendered = RenderedFunction(function=template.name, name=name, project=settings.project, config=config)
    checked = config
    if access_key is not None and access_key.source == "nuctl-env":  # checked as nuctl's --env will deploy it
        checked = copy.deepcopy(config)
        AccessKey.from_value("given to nuctl --env").apply(checked["spec"])
    check_config(checked, f"{template.source} rendered for project {settings.project!r}")
    return rendered


def render_app(
    template: FunctionTemplate,
    settings: Settings,
    app_name: str,
    class_path: str,
    *,
    kwargs: Mapping[str, Any] | None = None,
    kafka_brokers: Sequence[str] | None = None,
    image: str | None = None,
    requirements: Sequence[str] = (),
    handler: str | None = None,
    source_file: str | None = None,
    access_key: AccessKey | None = None,
) -> RenderedFunction:
    """A monitoring-app function named ``app_name`` running ``class_path``, built from an app template.

    ``source_file``: the app's file as its author knows it (the function runs a copy), named in failures.
    """
    check_name(app_name, "name")
    paths = ProjectPaths(settings.project)
    app_template = copy.deepcopy(dict(template.config))
    for trigger in (app_template.get("spec", {}).get("triggers") or {}).values():
        if trigger.get("kind") == "v3ioStream":
            container, _, stream_path = paths.app_stream(app_name).partition("/")
            trigger.setdefault("attributes", {}).update(containerName=container, streamPath=stream_path)
    if handler:
        app_template.setdefault("spec", {})["handler"] = handler
    if requirements:
        commands = app_template.setdefault("spec", {}).setdefault("build", {}).setdefault("commands", [])
        # after the bundle install (the template's commands end after @nuclio.postCopy); quoted: a RUN line
        # goes through a shell, where "scipy>=1.10" would be a redirection
        commands.append("pip install --no-cache-dir " + " ".join(shlex.quote(r) for r in requirements))
    app_env = {ENV_APP_NAME: app_name, ENV_APP_CLASS: class_path, ENV_APP_KWARGS: json.dumps(dict(kwargs or {}))}
    if source_file:
        app_env[ENV_APP_SOURCE] = source_file
    named = FunctionTemplate(name=app_name, source=template.source, config=app_template)
    return render_function(named, settings, kafka_brokers=kafka_brokers, image=image, env=app_env,
                           access_key=access_key)


def render_bundle(
    bundle_dir: Path | str,
    settings: Settings,
    *,
    functions: Iterable[str] | None = None,
    kafka_brokers: Sequence[str] | None = None,
    image: str | None = None,
    access_key: AccessKey | None = None,
    source: CodeSource | str | None = None,
    postgres_password: PostgresPassword | None = None,
) -> list[RenderedFunction]:
    """Every committed function (or only ``functions``) rendered for ``settings.project`` (the options: see
    :func:`render_function`)."""
    return [
        render_function(t, settings, kafka_brokers=kafka_brokers, image=image, access_key=access_key, source=source,
                        postgres_password=postgres_password)
        for t in load_templates(bundle_dir, functions)
    ]


def write_configs(rendered: Iterable[RenderedFunction], output_dir: Path | str) -> list[Path]:
    """Write ``<output_dir>/<function>/function.yaml`` for each config (nuctl's ``--file``).

    A config holding a plain ``V3IO_ACCESS_KEY`` or PostgreSQL password is refused (``ValueError``): a secret
    is never written to a file.
    """
    rendered = list(rendered)
    for function in rendered:
        for entry in function.config.get("spec", {}).get("env") or []:
            if entry.get("name") == ENV_V3IO_ACCESS_KEY and entry.get("value"):
                raise ValueError(f"{function.function}: not writing a plain {ENV_V3IO_ACCESS_KEY} to a file; "
                                 "use a secret reference or nuctl's --env")
        for problem in plain_secret_problems(function.config.get("spec")):
            raise ValueError(f"{function.function}: not writing {problem} to a file; use a secret reference "
                             "(PGPASSWORD from a Kubernetes secret)")
        for problem in plain_kafka_secret_problems(function.config):
            raise ValueError(f"{function.function}: not writing {problem} to a file; the Kafka password comes "
                             "from a Kubernetes secret (modelmon.deploy.kafka_credentials)")
    written = []
    for function in rendered:
        target = Path(output_dir) / function.function / "function.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(function.to_yaml(), encoding="utf-8")
        written.append(target)
    return written


def set_env(spec: dict[str, Any], values: Mapping[str, str]) -> None:
    """Set plain ``spec.env`` entries by name, replacing same-named ones (secret refs included)."""
    entries = [e for e in spec.get("env") or [] if e.get("name") not in values]
    entries.extend({"name": k, "value": str(v)} for k, v in values.items())
    spec["env"] = entries


def _reads_v3io(spec: Mapping[str, Any]) -> bool:
    return any(t.get("kind") == "v3ioStream" for t in (spec.get("triggers") or {}).values())


def _project_stream(trigger: Mapping[str, Any], paths: ProjectPaths, template: FunctionTemplate, name: str) -> str:
    attributes = trigger.get("attributes") or {}
    container, stream_path = attributes.get("containerName"), attributes.get("streamPath")
    if not (isinstance(container, str) and isinstance(stream_path, str)):
        raise ConfigError(f"{template.source}: trigger {name!r} needs attributes.containerName and streamPath")
    full = f"{container.strip('/')}/{stream_path.strip('/')}"
    match = _STREAM.match(full)
    if not match:
        raise ConfigError(f"{template.source}: trigger {name!r} reads {full!r}, not a project model-endpoints stream")
    rest = match["rest"]
    named = {"stream": paths.tracking_stream, "stream-model-monitoring-writer": paths.writer_stream,
             "stream-labels": paths.labels_stream, "stream-dead-letter": paths.dead_letter_stream,
             "stream-alerts-parked": paths.alerts_parked_stream}
    if rest in named:
        return named[rest]
    if rest.startswith("stream-") and "/" not in rest:
        return paths.app_stream(rest.removeprefix("stream-"))
    raise ConfigError(f"{template.source}: trigger {name!r} reads {full!r}, not a stream modelmon knows "
                      "(stream, stream-model-monitoring-writer, stream-labels, stream-alerts-parked, stream-<app>)")


def _set_stream(trigger: dict[str, Any], stream: str, function: str) -> None:
    container, _, stream_path = stream.partition("/")
    attributes = trigger.setdefault("attributes", {})
    attributes.update(containerName=container, streamPath=stream_path, consumerGroup=function)


def default_bundle_dir(cwd: Path | str = ".") -> Path:
    """The bundle to render: ``cwd`` if it holds a root ``function.yaml``, else the checkout of modelmon."""
    here = Path(cwd).resolve()
    if (here / "function.yaml").is_file():
        return here
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "function.yaml").is_file():
        return checkout
    raise ConfigError(f"{here}: no function.yaml here; pass the bundle directory")
