"""Reading a bundle's Nuclio ``function.yaml`` files into :class:`FunctionSpec` objects.

Only the parts of Nuclio's function-config format the local runtime acts on are kept: the name,
the handler, the plain ``env`` entries (``valueFrom`` secrets are never resolved locally) and the
triggers. Every problem is a :class:`~modelmon.core.errors.ConfigError` whose one line names the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from modelmon.core.errors import ConfigError
from modelmon.local_nuclio.cron_schedule import cron_schedule
from modelmon.local_nuclio.stream_source import stream_source
from modelmon.local_nuclio.trigger_spec import CRON, HTTP, KAFKA, STREAM_KINDS, TRIGGER_KINDS, TriggerSpec


@dataclasses.dataclass(frozen=True)
class FunctionSpec:
    """A Nuclio function as the local runtime runs it."""

    name: str
    handler: str  # "module.path:function"
    env: Mapping[str, str]
    triggers: tuple[TriggerSpec, ...]
    source: Path  # the function.yaml it came from
    min_replicas: int = 1

    @property
    def directory(self) -> Path:
        return self.source.parent

    @property
    def module(self) -> str:
        return self.handler.partition(":")[0]

    @property
    def entry(self) -> str:
        return self.handler.partition(":")[2]


def find_function_files(bundle: Path) -> list[Path]:
    """``function.yaml`` at the bundle root and one or two directory levels below it, sorted."""
    bundle = Path(bundle)
    if not bundle.is_dir():
        raise ConfigError(f"{bundle}: bundle directory does not exist")
    found = [bundle / "function.yaml", *bundle.glob("*/function.yaml"), *bundle.glob("*/*/function.yaml")]
    return sorted({p for p in found if p.is_file() and ".venv" not in p.parts})


def load_bundle(bundle: Path | str, names: Iterable[str] | None = None) -> list[FunctionSpec]:
    """The bundle's functions (or only those ``names``), sorted by name; disabled ones are skipped
    unless named explicitly."""
    bundle = Path(bundle)
    specs: dict[str, FunctionSpec] = {}
    disabled: set[str] = set()
    for path in find_function_files(bundle):
        spec, is_disabled = _load_file(path)
        if spec.name in specs:
            raise ConfigError(f"{path}: function {spec.name!r} is also defined in {specs[spec.name].source}")
        specs[spec.name] = spec
        if is_disabled:
            disabled.add(spec.name)
    if not specs:
        raise ConfigError(f"{bundle}: no function.yaml found (looked at the root and two levels below)")
    if names is None:
        return [specs[n] for n in sorted(specs) if n not in disabled]
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in specs]
    if unknown:
        raise ConfigError(f"{bundle}: no function named {', '.join(unknown)} (found: {', '.join(sorted(specs))})")
    return [specs[n] for n in sorted(wanted)]


def load_function(path: Path | str) -> FunctionSpec:
    """The function defined by one ``function.yaml``."""
    return _load_file(Path(path))[0]


def _load_file(path: Path) -> tuple[FunctionSpec, bool]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read function.yaml ({exc})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"{path}: invalid YAML{at}: {problem}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping with 'metadata' and 'spec'")
    metadata = _mapping(doc.get("metadata"), path, "metadata")
    spec = _mapping(doc.get("spec"), path, "spec")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: metadata.name is missing")
    handler = spec.get("handler")
    if not isinstance(handler, str) or handler.count(":") != 1 or not all(handler.split(":")):
        raise ConfigError(f"{path}: spec.handler {handler!r} must look like 'module.path:function'")
    triggers = tuple(
        _trigger(name, str(tname), _mapping(tdoc, path, f"spec.triggers.{tname}"), path)
        for tname, tdoc in _mapping(spec.get("triggers") or {}, path, "spec.triggers").items()
    )
    min_replicas = spec.get("minReplicas", 1)
    if not isinstance(min_replicas, int) or min_replicas < 0:
        raise ConfigError(f"{path}: spec.minReplicas {min_replicas!r} must be a whole number >= 0")
    function = FunctionSpec(
        name=name,
        handler=handler,
        env=_env(spec.get("env") or [], path),
        triggers=triggers,
        source=path,
        min_replicas=min_replicas,
    )
    return function, bool(spec.get("disable", False))


def _mapping(value: Any, path: Path, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {what} must be a mapping, not {type(value).__name__}")
    return value


def _env(entries: Any, path: Path) -> dict[str, str]:
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: spec.env must be a list of {{name, value}}")
    env: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"{path}: spec.env[{i}] must have a 'name'")
        if "valueFrom" in entry:  # a Kubernetes secret/config reference: never resolved locally
            continue
        value = entry.get("value", "")
        env[entry["name"]] = "" if value is None else str(value)
    return env


def _trigger(function: str, name: str, doc: Mapping[str, Any], path: Path) -> TriggerSpec:
    kind = doc.get("kind")
    if kind not in TRIGGER_KINDS:
        raise ConfigError(
            f"{path}: trigger {name!r} has kind {kind!r}, which the local runtime does not run "
            f"(known: {', '.join(TRIGGER_KINDS)})"
        )
    workers = doc.get("numWorkers", doc.get("maxWorkers", 1))
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigError(f"{path}: trigger {name!r}: numWorkers {workers!r} must be a whole number >= 1")
    attributes = _mapping(doc.get("attributes"), path, f"trigger {name!r} attributes")
    if kind == KAFKA and not attributes.get("topics") and doc.get("topics"):
        attributes = {**attributes, "topics": doc["topics"]}
    url = doc.get("url")
    trigger = TriggerSpec(
        function=function, name=name, kind=kind, attributes=attributes, num_workers=workers, source=path,
        url=url if isinstance(url, str) and url else None,
    )
    _validate(trigger)
    return trigger


def _validate(trigger: TriggerSpec) -> None:
    """Check the attributes of ``trigger`` now, so a bad file fails before any process starts."""
    if trigger.kind == CRON:
        cron_schedule(trigger)
    elif trigger.kind in STREAM_KINDS:
        stream_source(trigger)
    elif trigger.kind == HTTP:
        port = trigger.attributes.get("port", 0)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < 65536:
            raise ConfigError(f"{trigger.where()}: port {port!r} must be a whole number 0..65535")
