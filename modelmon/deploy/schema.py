"""Validation of Nuclio function configurations against the field tables of :mod:`.nuclio_fields`.

Nuclio decodes trigger attributes with ``mapstructure`` and silently ignores names it does not know, so a
misspelt attribute is a deployment that quietly does the wrong thing: this validator reports unknown names
as errors. It also checks the values Nuclio would reject at deploy time (handler, runtime, replicas, trigger
attributes), the build commands that install the bundle, that every ``v3ioStream`` trigger gets an access
key (:mod:`.access_key`), and the ``modelmon/role`` label by which modelmon picks the bundle's functions
(:mod:`modelmon.functions.roles`).

>>> validate_config({"metadata": {"name": "f"}, "spec": {"handler": "m:h", "minReplicas": "1"}})
['spec.minReplicas: expected int, got str']
>>> [p.split(" (")[0] for p in validate_config({"metadata": {"name": "f"}, "spec": {"handler": "m:h"}},
...                                          require_role=True)]
['metadata.labels.modelmon/role: required']
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from modelmon.core.errors import ConfigError
from modelmon.deploy.access_key import stream_key_problems
from modelmon.deploy.nuclio_fields import (
    CONFIG,
    ENV_VAR,
    INITIAL_OFFSETS,
    RUNTIMES,
    SEEK_TO,
    TRIGGER_ATTRIBUTES,
    TRIGGER_KINDS,
    Schema,
)
from modelmon.functions.roles import ROLE_LABEL, Role, role_of

#: The build command after which Nuclio's builder runs the rest of ``spec.build.commands`` (its
#: ``postCopy`` directives): the ones before it run before the function's files are copied into the image.
POST_COPY = "@nuclio.postCopy"
#: Where the Python runtime copies the function's directory (the bundle, with ``nuctl deploy --path .``).
BUNDLE_PATH = "/opt/nuclio"
#: ``spec.build.codeEntryType`` values Nuclio's builder knows (``github`` is deprecated in favour of ``git``).
CODE_ENTRY_TYPES = ("sourceCode", "image", "archive", "git", "github", "s3")
#: The attributes of which the ``git`` code entry needs one (the first set wins, in this order).
GIT_REFS = ("branch", "tag", "reference")


def validate_config(doc: Any, *, require_role: bool = False) -> list[str]:
    """Every problem of one function configuration, as ``"<field path>: <problem>"`` lines.

    A ``modelmon/role`` label must name a known role; ``require_role`` (the bundle's own files) also
    reports a missing one. Configs from elsewhere (a notebook's ``%nuclio`` export) need none.
    """
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        return [f"<root>: expected a mapping, got {type(doc).__name__}"]
    _check(doc, CONFIG, "", problems)
    metadata, spec = doc.get("metadata"), doc.get("spec")
    if not isinstance(metadata, Mapping) or not metadata.get("name"):
        problems.append("metadata.name: required")
    problems.extend(_role_problems(doc, require_role))
    if not isinstance(spec, Mapping):
        problems.append("spec: required")
        return problems
    _check_spec_values(spec, problems)
    problems.extend(stream_key_problems(doc))
    return problems


def check_config(doc: Any, where: str) -> None:
    """Raise one :class:`ConfigError` listing every problem of ``doc`` (from ``where``)."""
    problems = validate_config(doc)
    if problems:
        raise ConfigError(f"{where}: not a valid Nuclio function config:\n  " + "\n  ".join(problems))


def _check_spec_values(spec: Mapping[str, Any], problems: list[str]) -> None:
    handler = spec.get("handler")
    if not isinstance(handler, str) or not re.match(r"^[\w.-]+:\w+$", handler):  # nuclio-jupyter: "nb-nuclio:h"
        problems.append(f"spec.handler: {handler!r} is not 'module.path:function'")
    runtime = spec.get("runtime")
    if runtime is not None and isinstance(runtime, str) and not RUNTIMES.match(runtime):
        problems.append(f"spec.runtime: unknown runtime {runtime!r}")
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(f"spec.maxReplicas: {high} is below minReplicas {low}")
    for i, entry in enumerate(spec.get("env") or []):
        if isinstance(entry, Mapping) and "value" in entry and "valueFrom" in entry:
            problems.append(f"spec.env[{i}]: give either value or valueFrom, not both")
    build = spec.get("build")
    commands = build.get("commands") if isinstance(build, Mapping) else None
    if isinstance(commands, list) and all(isinstance(c, str) for c in commands):
        problems.extend(build_command_problems(commands))
        if isinstance(build, Mapping) and build.get("functionSourceCode"):
            problems.extend(f"spec.build.commands[{i}]: {c!r} installs {BUNDLE_PATH}, which holds only the "
                            "embedded source code (install modelmon from the source instead)"
                            for i, c in enumerate(commands) if bundle_targets(c))
    problems.extend(code_entry_problems(spec))
    triggers = spec.get("triggers") or {}
    if isinstance(triggers, Mapping):
        for name, trigger in triggers.items():
            if isinstance(trigger, Mapping):
                _check_trigger(f"spec.triggers.{name}", trigger, problems)


def code_entry_problems(spec: Mapping[str, Any]) -> list[str]:
    """Code-entry fields Nuclio's builder would fail on (``pkg/processor/build/builder.go``): a type it does not
    know, an external entry without a URL or (git) a ref, embedded code that is not base64 or has no runtime.

    >>> code_entry_problems({"build": {"codeEntryType": "git", "path": "https://h/r.git"}})
    ['spec.build.codeEntryAttributes: the git code entry needs one of branch, tag, reference']
    """
    problems: list[str] = []
    build = spec.get("build")
    image = spec.get("image")
    if image is not None and (not isinstance(image, str) or not image.strip()):
        problems.append("spec.image: expected an image name")
    if not isinstance(build, Mapping):
        return problems
    kind = build.get("codeEntryType")
    attributes = build.get("codeEntryAttributes") or {}
    path = build.get("path")
    if kind is not None and kind not in CODE_ENTRY_TYPES:
        problems.append(f"spec.build.codeEntryType: {kind!r} is not a Nuclio code-entry type "
                        f"({', '.join(CODE_ENTRY_TYPES)})")
    if kind in ("archive", "git", "github") and not (isinstance(path, str) and re.match(r"^https?://[^/]", path)):
        problems.append(f"spec.build.path: the {kind} code entry needs the http(s) URL to download, got {path!r}")
    if isinstance(attributes, Mapping):
        if kind == "git" and not any(isinstance(attributes.get(k), str) and attributes.get(k)
                                     for k in GIT_REFS):
            problems.append(f"spec.build.codeEntryAttributes: the git code entry needs one of {', '.join(GIT_REFS)}")
        if kind == "github" and not attributes.get("branch"):
            problems.append("spec.build.codeEntryAttributes.branch: the github code entry needs a branch")
        if kind == "s3" and not (attributes.get("s3Bucket") and attributes.get("s3ItemKey")):
            problems.append("spec.build.codeEntryAttributes: the s3 code entry needs s3Bucket and s3ItemKey")
        if "workDir" in attributes and not isinstance(attributes["workDir"], str):
            problems.append("spec.build.codeEntryAttributes.workDir: expected a string")
    source = build.get("functionSourceCode")
    if kind == "sourceCode" and not source:
        problems.append("spec.build.functionSourceCode: required by the sourceCode code entry")
    if source:
        try:
            base64.b64decode(str(source), validate=True)
        except (binascii.Error, ValueError):
            problems.append("spec.build.functionSourceCode: not base64")
        if not spec.get("runtime"):
            problems.append("spec.runtime: required with spec.build.functionSourceCode (it names the file's type)")
    return problems


def build_command_problems(commands: Sequence[str]) -> list[str]:
    """Bundle installs that cannot work: before ``@nuclio.postCopy`` (the bundle is not in the image yet) or
    from a relative path (the build's working directory is not the bundle).

    >>> [p.split(": ")[0] for p in build_command_problems(
    ...     ["pip install .", "@nuclio.postCopy", "pip install /opt/nuclio scipy", "pip install '.[x]'"])]
    ['spec.build.commands[0]', 'spec.build.commands[3]']
    """
    problems = []
    copied = False
    for i, command in enumerate(commands):
        if command.strip() == POST_COPY:
            copied = True
            continue
        targets = bundle_targets(command)
        if targets and not copied:
            problems.append(f"spec.build.commands[{i}]: {command!r} installs the bundle before Nuclio copies it: "
                            f"put it after {POST_COPY!r} and install {BUNDLE_PATH}")
        elif any(not t.startswith(BUNDLE_PATH) for t in targets):
            problems.append(f"spec.build.commands[{i}]: {command!r} installs a relative path; the bundle is at "
                            f"{BUNDLE_PATH}")
    return problems


def bundle_targets(command: str) -> list[str]:
    """The local-directory targets (``.``, ``./x``, ``'.[extra]'``, ``/opt/nuclio``...) a ``pip install`` names.

    >>> bundle_targets("python -m pip install --no-cache-dir '/opt/nuclio[evidently]' scipy>=1")
    ['/opt/nuclio[evidently]']
    >>> bundle_targets("pip install modelmon"), bundle_targets("echo .")
    ([], [])
    """
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    for i, word in enumerate(words[:-1]):
        if re.fullmatch(r"(.*/)?pip3?(\.\d+)?", word) and words[i + 1] == "install":
            args = words[i + 2:]
            return [a for a in args if re.match(rf"^(\.{{1,2}}|{re.escape(BUNDLE_PATH)})(/|\[|$)", a)]
    return []


def _role_problems(doc: Mapping[str, Any], required: bool) -> list[str]:
    try:
        role = role_of(doc)
    except ConfigError as exc:
        return [str(exc)]
    if role is None and required:
        return [f"metadata.labels.{ROLE_LABEL}: required ({', '.join(Role)})"]
    return []


def _check_trigger(where: str, trigger: Mapping[str, Any], problems: list[str]) -> None:
    kind = trigger.get("kind")
    if kind not in TRIGGER_KINDS:
        problems.append(f"{where}.kind: {kind!r} is not a Nuclio trigger kind ({', '.join(TRIGGER_KINDS)})")
        return
    for field in ("maxWorkers", "numWorkers"):
        value = trigger.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            problems.append(f"{where}.{field}: must be at least 1")
    attributes = trigger.get("attributes") or {}
    schema = TRIGGER_ATTRIBUTES.get(kind)
    if schema is None or not isinstance(attributes, Mapping):
        return
    _check(attributes, schema, f"{where}.attributes.", problems)
    if kind == "cron" and ("interval" in attributes) == ("schedule" in attributes):
        problems.append(f"{where}.attributes: set exactly one of interval and schedule")
    if kind == "v3ioStream":
        if not trigger.get("url") and not (attributes.get("containerName") and attributes.get("streamPath")):
            problems.append(f"{where}.attributes: containerName and streamPath (or a url) are required")
        if attributes.get("seekTo", "latest") not in SEEK_TO:
            problems.append(f"{where}.attributes.seekTo: {attributes.get('seekTo')!r} is not earliest/latest")
    if kind == "kafka-cluster":
        for field in ("brokers", "topics"):
            if not attributes.get(field):
                problems.append(f"{where}.attributes.{field}: required")
        if attributes.get("initialOffset", "earliest") not in INITIAL_OFFSETS:
            problems.append(f"{where}.attributes.initialOffset: must be earliest or latest")


def _check(value: Mapping[str, Any], schema: Schema, prefix: str, problems: list[str]) -> None:
    for key, item in value.items():
        path = f"{prefix}{key}"
        expected = schema.get(key, schema.get("*"))
        if expected is None:
            problems.append(f"{path}: unknown field")
        else:
            _check_type(item, expected, path, problems)


def _check_type(item: Any, expected: Any, path: str, problems: list[str]) -> None:
    if isinstance(expected, Mapping):
        if not isinstance(item, Mapping):
            problems.append(f"{path}: expected a mapping, got {type(item).__name__}")
        else:
            _check(item, expected, f"{path}.", problems)
        return
    if isinstance(expected, list):  # a list of nested records, e.g. spec.env
        if not isinstance(item, list):
            problems.append(f"{path}: expected a list, got {type(item).__name__}")
            return
        for i, entry in enumerate(item):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                problems.append(f"{path}[{i}]: expected a mapping with a name")
            else:
                _check(entry, ENV_VAR, f"{path}[{i}].", problems)
        return
    if not _is(item, expected):
        problems.append(f"{path}: expected {expected}, got {type(item).__name__}")


def _is(item: Any, expected: str) -> bool:
    is_int = isinstance(item, int) and not isinstance(item, bool)
    match expected:
        case "str":
            return isinstance(item, str)
        case "int":
            return is_int
        case "bool":
            return isinstance(item, bool)
        case "map":
            return isinstance(item, Mapping)
        case "str-map":
            return isinstance(item, Mapping) and all(isinstance(v, str) for v in item.values())
        case "list":
            return isinstance(item, list)
        case "str-list":
            return isinstance(item, list) and all(isinstance(v, str) for v in item)
        case "int-list":
            return isinstance(item, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in item)
        case "int-or-str":
            return is_int or isinstance(item, str)
    return True
