"""Where a deployed function's Kafka SASL password and CA certificate come from: a Kubernetes secret.

Two readers need them. The function's code (the Kafka stream role) reads ``MODELMON_KAFKA_SASL_PASSWORD``,
which rendering sets from the secret (``valueFrom.secretKeyRef``, as ``PGPASSWORD``,
:mod:`modelmon.deploy.postgres_password`). Nuclio's ``kafka-cluster`` trigger reads its ``sasl``/``tls``/
``caCert`` attributes; it takes no secret reference there, but reads ``sasl.password`` and ``caCert`` from a
file when the value is the path of one (``populateValuesFromMountedSecrets`` in Nuclio's
``pkg/processor/trigger/kafka/types.go``). So the secret is also mounted at :data:`MOUNT_PATH`, and those
attributes hold the paths of its keys: no password or key material is ever in a config.

The secret (default ``modelmon-credentials``, the PostgreSQL password's) holds ``kafka-sasl-password`` and,
when the brokers' CA is private (``MODELMON_KAFKA_CA_FILE``), ``kafka-ca-cert`` (the PEM bundle); the
functions' ``MODELMON_KAFKA_CA_FILE`` is the mounted copy. A public CA (Confluent Cloud, MSK) needs neither:
``tls.enable`` and the system's trust store.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from modelmon.core.kafka_security import ENV_KAFKA_CA_FILE, ENV_KAFKA_SASL_PASSWORD, KafkaSecurity
from modelmon.deploy.env_entries import replace_env, secret_entry
from modelmon.deploy.postgres_password import DEFAULT_SECRET

MOUNT_PATH = "/etc/modelmon/kafka"
PASSWORD_KEY = "kafka-sasl-password"
CA_KEY = "kafka-ca-cert"
VOLUME = "modelmon-kafka-credentials"


@dataclasses.dataclass(frozen=True)
class KafkaCredentials:
    """The Kafka password and CA of functions connecting with ``security``, from the secret ``secret``."""

    security: KafkaSecurity
    secret: str = DEFAULT_SECRET

    @property
    def needed(self) -> bool:
        """Whether anything is taken from the secret (plain TLS on a public CA takes nothing)."""
        return self.security.sasl or bool(self.security.ca_file)

    def trigger_attributes(self) -> dict[str, Any]:
        """The ``kafka-cluster`` attributes for ``security`` (Nuclio's names: ``sasl``, ``tls``, ``caCert``)."""
        attributes: dict[str, Any] = {}
        if self.security.sasl:
            attributes["sasl"] = {"enable": True, "handshake": True, "mechanism": self.security.sasl_mechanism,
                                  "user": self.security.sasl_username, "password": f"{MOUNT_PATH}/{PASSWORD_KEY}"}
        if self.security.tls:
            attributes["tls"] = {"enable": True}
            if self.security.ca_file:
                attributes["caCert"] = f"{MOUNT_PATH}/{CA_KEY}"
        return attributes

    def apply(self, spec: dict[str, Any]) -> None:
        """Set the ``kafka-cluster`` triggers' attributes, the env entries and the secret's volume in ``spec``."""
        for trigger in (spec.get("triggers") or {}).values():
            if trigger.get("kind") == "kafka-cluster":
                trigger.setdefault("attributes", {}).update(self.trigger_attributes())
        replace_env(spec, ENV_KAFKA_SASL_PASSWORD,
                    secret_entry(ENV_KAFKA_SASL_PASSWORD, self.secret, PASSWORD_KEY) if self.security.sasl else None)
        if self.security.ca_file:
            replace_env(spec, ENV_KAFKA_CA_FILE, {"name": ENV_KAFKA_CA_FILE, "value": f"{MOUNT_PATH}/{CA_KEY}"})
        volumes = [v for v in spec.get("volumes") or [] if (v.get("volume") or {}).get("name") != VOLUME]
        keys = [key for key, used in ((PASSWORD_KEY, self.security.sasl), (CA_KEY, bool(self.security.ca_file)))
                if used]
        if keys:
            volumes.append({
                "volume": {"name": VOLUME, "secret": {"secretName": self.secret,
                                                      "items": [{"key": k, "path": k} for k in keys]}},
                "volumeMount": {"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True},
            })
        if volumes or "volumes" in spec:
            spec["volumes"] = volumes

    def describe(self) -> str:
        """What the user must create, for the CLI's closing lines."""
        keys = [f"{PASSWORD_KEY} (the Kafka SASL password)"] if self.security.sasl else []
        if self.security.ca_file:
            keys.append(f"{CA_KEY} (the brokers' CA bundle, e.g. --from-file={CA_KEY}={self.security.ca_file})")
        return f"the secret {self.secret!r} must hold {' and '.join(keys)} in the functions' namespace"


def plain_kafka_secret_problems(config: Any) -> list[str]:
    """What in a function config would put a Kafka password in plain text: a ``MODELMON_KAFKA_SASL_PASSWORD``
    value, or a trigger's ``sasl.password`` that is not the path of a mounted file."""
    spec = (config or {}).get("spec") or {}
    problems = [f"a plain {ENV_KAFKA_SASL_PASSWORD}" for e in spec.get("env") or []
                if e.get("name") == ENV_KAFKA_SASL_PASSWORD and e.get("value")]
    for name, trigger in (spec.get("triggers") or {}).items():
        password = ((trigger.get("attributes") or {}).get("sasl") or {}).get("password")
        if password and not str(password).startswith("/"):
            problems.append(f"a plain sasl.password in trigger {name!r}")
    return problems
