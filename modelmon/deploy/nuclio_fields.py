"""The fields of a Nuclio function configuration, as Nuclio defines them (the tables :mod:`.schema` checks).

Sources: Nuclio's ``pkg/functionconfig/types.go`` (``Config``, ``Meta``, ``Spec``, ``Build``, ``Trigger``;
their JSON tags are the YAML keys) and the trigger reference pages (``docs/reference/triggers/*``, the
``Configuration`` structs under ``pkg/processor/trigger/<kind>``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# A field type is a name ("str", "int", "bool", "map", "list", "str-list", "int-list", "any",
# "int-or-str") or a nested schema (a dict of field -> type).
Schema = Mapping[str, Any]

ENV_VAR: Schema = {"name": "str", "value": "str", "valueFrom": "map"}

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
        # pkg/processor/trigger/kafka/types.go (mapstructure: Nuclio matches the names case-insensitively)
        "sasl": {"enable": "bool", "handshake": "bool", "user": "str", "password": "str", "mechanism": "str",
                 "oauth": "map"},
        "tls": {"enable": "bool", "insecureSkipVerify": "bool", "minimumVersion": "str"},
        "secretPath": "str",
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
INITIAL_OFFSETS = ("earliest", "latest")
