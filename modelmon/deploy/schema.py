"""The Nuclio function-configuration schema: field names and types as Nuclio defines them.

Sources: Nuclio's ``pkg/functionconfig/types.go`` (``Config``, ``Meta``, ``Spec``, ``Build``, ``Trigger``;
their JSON tags are the YAML keys) and the trigger reference pages (``docs/reference/triggers/*``, the
``Configuration`` structs under ``pkg/processor/trigger/<kind>``). Nuclio decodes trigger attributes
with ``mapstructure`` and silently ignores names it does not know, so a misspelt attribute is a
deployment that quietly does the wrong thing: this validator reports unknown names as errors.

>>> validate_config({"metadata": {"name": "f"}, "spec": {"handler": "m:h", "minReplicas": "1"}})
['spec.minReplicas: expected int, got str']
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from modelmon.errors import ConfigError

# A field type is a name ("str", "int", "bool", "map", "list", "str-list", "int-list", "any",
# "int-or-str") or a nested schema (a dict of field -> type).
Schema = Mapping[str, Any]

#: The build command after which Nuclio's builder runs the rest of ``spec.build.commands`` (its
#: ``postCopy`` directives): the ones before it run before the function's files are copied into the image.
POST_COPY = "@nuclio.postCopy"
#: Where the Python runtime copies the function's directory (the bundle, with ``nuctl deploy --path .``).
BUNDLE_PATH = "/opt/nuclio"

_ENV_VAR: Schema = {"name": "str", "value": "str", "valueFrom": "map"}

META: Schema = {
    "name": "str",
    "namespace": "str",
    "labels": "str-map",
    "annotations": "str-map",
    "resourceVersion": "str",
}

BUILD: Schema = {
    "path": "str",
    "functionSourceCode": "str",
    "functionConfigPath": "str",
    "tempDir": "str",
    "registry": "str",
    "baseImageRegistry": "str",
    "image": "str",
    "noBaseImagesPull": "bool",
    "noCache": "bool",
    "noCleanup": "bool",
    "baseImage": "str",
    "commands": "str-list",
    "directives": "map",
    "scriptPaths": "str-list",
    "addedPaths": "str-map",
    "dependencies": "str-list",
    "onbuildImage": "str",
    "offline": "bool",
    "runtimeAttributes": "map",
    "codeEntryType": "str",
    "codeEntryAttributes": "map",
    "timestamp": "int",
    "buildTimeoutSeconds": "int",
    "mode": "str",
    "args": "str-map",
    "flags": "str-list",
    "builderServiceAccount": "str",
}

TRIGGER: Schema = {
    "class": "str",
    "kind": "str",
    "name": "str",
    "disabled": "bool",
    "maxWorkers": "int",
    "numWorkers": "int",
    "url": "str",
    "paths": "str-list",
    "username": "str",
    "password": "str",
    "secret": "str",
    "partitions": "list",
    "annotations": "str-map",
    "workerAvailabilityTimeoutMilliseconds": "int",
    "workerAllocatorName": "str",
    "workerTerminationTimeout": "str",
    "explicitAckMode": "str",
    "total_tasks": "int",
    "max_task_allocation": "int",
    "attributes": "map",
}

SPEC: Schema = {
    "description": "str",
    "disable": "bool",
    "publish": "bool",
    "handler": "str",
    "runtime": "str",
    "env": ["env"],
    "envFrom": "list",
    "resources": "map",
    "image": "str",
    "imageHash": "str",
    "replicas": "int",
    "minReplicas": "int",
    "maxReplicas": "int",
    "targetCPU": "int",
    "dataBindings": "map",
    "triggers": {"*": TRIGGER},
    "volumes": "list",
    "version": "int",
    "alias": "str",
    "build": BUILD,
    "runRegistry": "str",
    "imagePullSecrets": "str",
    "runtimeAttributes": "map",
    "loggerSinks": "list",
    "dealerURI": "str",
    "platform": "map",
    "readinessTimeoutSeconds": "int",
    "waitReadinessTimeoutBeforeFailure": "bool",
    "avatar": "str",
    "serviceType": "str",
    "imagePullPolicy": "str",
    "securityContext": "map",
    "serviceAccount": "str",
    "scaleToZero": "map",
    "affinity": "map",
    "nodeSelector": "str-map",
    "nodeName": "str",
    "tolerations": "list",
    "priorityClassName": "str",
    "preemptionPolicy": "str",
    "deploymentStrategy": "map",
    "hostIPC": "bool",
    "customScalingMetricSpecs": "list",
    "eventTimeout": "str",
    "disableDefaultHTTPTrigger": "bool",
    "disableDefaultHttpTrigger": "bool",
    "initContainers": "list",
    "sidecars": "list",
    "devices": "str-list",
    "disableSensitiveFieldsMasking": "bool",
}

CONFIG: Schema = {"apiVersion": "str", "kind": "str", "metadata": META, "spec": SPEC, "status": "map"}

#: Attributes per trigger kind (the kinds modelmon's functions use).
TRIGGER_ATTRIBUTES: Mapping[str, Schema] = {
    "cron": {
        "interval": "str",
        "schedule": "str",
        "concurrencyPolicy": "str",
        "jobBackoffLimit": "int",
        "event": {"body": "str", "headers": "map"},
    },
    "http": {
        "port": "int",
        "ingresses": "map",
        "serviceType": "str",
        "readBufferSize": "int",
        "maxRequestBodySize": "int",
        "reduceMemoryUsage": "bool",
        "cors": "map",
    },
    "v3ioStream": {
        "containerName": "str",
        "streamPath": "str",
        "consumerGroup": "str",
        "numTransportWorkers": "int",
        "workerAllocationMode": "str",
        "seekTo": "str",
        "readBatchSize": "int",
        "sessionTimeout": "str",
        "heartbeatInterval": "str",
        "sequenceNumberCommitInterval": "str",
        "sequenceNumberShardWaitInterval": "str",
        "recordBatchSizeChan": "int",
        "pollingIntervalMs": "int",
        "ackWindowSize": "int-or-str",
        "partitions": "int-list",
    },
    "kafka-cluster": {
        "brokers": "str-list",
        "topics": "str-list",
        "consumerGroup": "str",
        "initialOffset": "str",
        "partitions": "int-list",
        "sessionTimeout": "str",
        "heartbeatInterval": "str",
        "workerAllocationMode": "str",
        "fetchMin": "int",
        "fetchDefault": "int",
        "fetchMax": "int",
        "channelBufferSize": "int",
        "maxProcessingTime": "str",
        "rebalanceTimeout": "str",
        "rebalanceRetryMax": "int",
        "rebalanceRetryBackoff": "str",
        "maxWaitHandlerDuringRebalance": "str",
        "retryBackoff": "str",
        "ackWindowSize": "int-or-str",
        "sasl": "map",
        "tls": "map",
        "caCert": "str",
        "accessKey": "str",
        "accessCertificate": "str",
        "logLevel": "int",
    },
}

#: Trigger kinds Nuclio ships (docs/reference/triggers).
TRIGGER_KINDS = (
    "http", "cron", "v3ioStream", "kafka-cluster", "kinesis", "eventhub", "nats", "rabbit-mq", "mqtt",
    "natsJetStream",
)
RUNTIMES = re.compile(r"^(python(:3\.(7|8|9|10|11|12))?|golang|shell|java|nodejs|dotnetcore|ruby)$")
SEEK_TO = ("earliest", "latest")
_INITIAL_OFFSETS = ("earliest", "latest")


def validate_config(doc: Any) -> list[str]:
    """Every problem of one function configuration, as ``"<field path>: <problem>"`` lines."""
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        return [f"<root>: expected a mapping, got {type(doc).__name__}"]
    _check(doc, CONFIG, "", problems)
    metadata, spec = doc.get("metadata"), doc.get("spec")
    if not isinstance(metadata, Mapping) or not metadata.get("name"):
        problems.append("metadata.name: required")
    if not isinstance(spec, Mapping):
        problems.append("spec: required")
        return problems
    _check_spec_values(spec, problems)
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
    triggers = spec.get("triggers") or {}
    if isinstance(triggers, Mapping):
        for name, trigger in triggers.items():
            if isinstance(trigger, Mapping):
                _check_trigger(f"spec.triggers.{name}", trigger, problems)


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
        if attributes.get("initialOffset", "earliest") not in _INITIAL_OFFSETS:
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
                _check(entry, _ENV_VAR, f"{path}[{i}].", problems)
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
