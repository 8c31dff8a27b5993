"""How modelmon authenticates to Kafka and protects the connection: SASL and TLS, as managed services need.

A managed cluster (Confluent Cloud, MSK, Aiven, Event Hubs) listens on ``SASL_SSL``: TLS on the wire and a
SASL username and password. :class:`KafkaSecurity` holds the ``MODELMON_KAFKA_*`` settings for it, checks
them once (a typo fails at start-up, not as a broker that silently never answers) and gives the
kafka-python client settings. The password is a secret: it is never in a ``repr``, an error message or
:meth:`KafkaSecurity.to_env` (a deploy sets it from a Kubernetes secret, :mod:`modelmon.deploy.kafka_credentials`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from modelmon.core.errors import ConfigError

ENV_KAFKA_SECURITY_PROTOCOL = "MODELMON_KAFKA_SECURITY_PROTOCOL"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
ENV_KAFKA_SASL_MECHANISM = "MODELMON_KAFKA_SASL_MECHANISM"  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
ENV_KAFKA_SASL_USERNAME = "MODELMON_KAFKA_SASL_USERNAME"
ENV_KAFKA_SASL_PASSWORD = "MODELMON_KAFKA_SASL_PASSWORD"  # a secret: never printed, never in a rendered config
ENV_KAFKA_CA_FILE = "MODELMON_KAFKA_CA_FILE"  # PEM CA bundle the brokers' certificates chain to (TLS)

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class Redacted(str):
    """A password that prints as ``'***'``: kafka-python logs its whole configuration at DEBUG (the admin
    client's "Starting KafkaAdminClient with configuration: {...}"), and the SASL mechanisms use only the
    characters (``join``, ``encode``), never the printed form.

    >>> password = Redacted("hunter2")
    >>> (repr(password), str(password), f"{password}", {"p": password}, password.encode())
    ("'***'", '***', '***', {'p': '***'}, b'hunter2')
    """

    def __repr__(self) -> str:
        return "'***'"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return format("***", spec)


@dataclasses.dataclass(frozen=True)
class KafkaSecurity:
    """The security protocol, SASL credentials and CA bundle of the Kafka connection (default: plaintext).

    >>> KafkaSecurity("SASL_SSL", "PLAIN", "svc", "hunter2")
    KafkaSecurity(protocol='SASL_SSL', sasl_mechanism='PLAIN', sasl_username='svc', ca_file=None)
    >>> KafkaSecurity("SASL_SSL", "PLAIN").client_options()
    Traceback (most recent call last):
    modelmon.core.errors.ConfigError: MODELMON_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs MODELMON_KAFKA_SASL_USERNAME

    The password is checked when a client needs it (:meth:`client_options`), not at construction: rendering
    a deploy names the settings without knowing the password, which the functions get from a secret.
    """

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = dataclasses.field(default=None, repr=False)
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"{ENV_KAFKA_SECURITY_PROTOCOL}={self.protocol!r}: expected one of "
                              f"{', '.join(PROTOCOLS)}")
        sasl_given = [n for n, v in ((ENV_KAFKA_SASL_MECHANISM, self.sasl_mechanism),
                                     (ENV_KAFKA_SASL_USERNAME, self.sasl_username),
                                     (ENV_KAFKA_SASL_PASSWORD, self.sasl_password)) if v]
        if self.sasl:
            if self.sasl_mechanism is None:
                object.__setattr__(self, "sasl_mechanism", "PLAIN")
            if self.sasl_mechanism not in MECHANISMS:
                raise ConfigError(f"{ENV_KAFKA_SASL_MECHANISM}={self.sasl_mechanism!r}: expected one of "
                                  f"{', '.join(MECHANISMS)}")
            if not self.sasl_username:
                raise ConfigError(f"{ENV_KAFKA_SECURITY_PROTOCOL}={self.protocol} needs {ENV_KAFKA_SASL_USERNAME}")
        elif sasl_given:
            raise ConfigError(f"{' and '.join(sasl_given)}: only with {ENV_KAFKA_SECURITY_PROTOCOL}=SASL_SSL or "
                              f"SASL_PLAINTEXT (it is {self.protocol})")
        if self.ca_file:
            if not self.tls:
                raise ConfigError(f"{ENV_KAFKA_CA_FILE}: only with {ENV_KAFKA_SECURITY_PROTOCOL}=SSL or SASL_SSL "
                                  f"(it is {self.protocol}: no TLS)")
            if not os.path.isfile(self.ca_file):
                raise ConfigError(f"{ENV_KAFKA_CA_FILE}={self.ca_file!r}: no such file (a PEM CA bundle)")

    @property
    def sasl(self) -> bool:
        """Whether the client authenticates with SASL."""
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        """Whether the connection is TLS."""
        return self.protocol in ("SSL", "SASL_SSL")

    def client_options(self) -> dict[str, Any]:
        """The kafka-python settings (each client takes them); none for plaintext."""
        if self.sasl and not self.sasl_password:
            raise ConfigError(f"{ENV_KAFKA_SECURITY_PROTOCOL}={self.protocol} needs {ENV_KAFKA_SASL_PASSWORD} (on a "
                              "deployed function: set from the secret, see modelmon.deploy.kafka_credentials)")
        options: dict[str, Any] = {}
        if self.protocol != "PLAINTEXT":
            options["security_protocol"] = self.protocol
        if self.sasl:
            # kafka-python takes the SCRAM credentials under the PLAIN names too
            options.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                           sasl_plain_password=Redacted(self.sasl_password))
        if self.ca_file:
            options["ssl_cafile"] = self.ca_file
        return options

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSecurity:
        return cls(
            protocol=(env.get(ENV_KAFKA_SECURITY_PROTOCOL) or "PLAINTEXT").strip().upper(),
            sasl_mechanism=(env.get(ENV_KAFKA_SASL_MECHANISM) or "").strip().upper() or None,
            sasl_username=env.get(ENV_KAFKA_SASL_USERNAME) or None,
            sasl_password=env.get(ENV_KAFKA_SASL_PASSWORD) or None,
            ca_file=env.get(ENV_KAFKA_CA_FILE) or None,
        )

    def to_env(self) -> dict[str, str]:
        """The variables that reproduce these settings elsewhere, but for the password (a secret)."""
        env: dict[str, str] = {}
        if self.protocol != "PLAINTEXT":
            env[ENV_KAFKA_SECURITY_PROTOCOL] = self.protocol
        if self.sasl:
            env[ENV_KAFKA_SASL_MECHANISM] = str(self.sasl_mechanism)
            env[ENV_KAFKA_SASL_USERNAME] = str(self.sasl_username)
        if self.ca_file:
            env[ENV_KAFKA_CA_FILE] = self.ca_file
        return env
