"""Configuration, read once from the environment into a frozen :class:`Settings`.

Every ``MODELMON_*`` variable is named here and nowhere else. Library classes take plain
arguments; only function entry points (``init_context``) and the CLI call :meth:`Settings.from_env`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from modelmon.core.errors import ConfigError
from modelmon.core.kafka_security import ENV_KAFKA_SECURITY_PROTOCOL, KafkaSecurity
from modelmon.core.store_addresses import check_http_url, check_samples_url, parse_brokers

ENV_HOME = "MODELMON_HOME"
ENV_BACKEND = "MODELMON_BACKEND"
ENV_PROJECT = "MODELMON_PROJECT"
ENV_BASE_PERIOD = "MODELMON_BASE_PERIOD"  # minutes
ENV_BACKFILL = "MODELMON_BACKFILL_MINUTES"
ENV_GRACE = "MODELMON_GRACE_MINUTES"
ENV_APP_NAME = "MODELMON_APP_NAME"
ENV_APP_CLASS = "MODELMON_APP_CLASS"  # "package.module:ClassName"
ENV_APP_KWARGS = "MODELMON_APP_KWARGS"  # JSON object of constructor arguments
ENV_APP_SOURCE = "MODELMON_APP_SOURCE"  # the app's file where its author edits it (the function runs a copy)
ENV_MAX_RETRIES = "MODELMON_MAX_RETRIES"  # attempts at a stream message failing for a non-transient reason
ENV_RETRY_DEADLINE = "MODELMON_RETRY_DEADLINE_SECONDS"  # how long a handler retries an outage before parking
ENV_MAX_EVENT_AGE = "MODELMON_MAX_EVENT_AGE_MINUTES"  # how far back a tracked request's time may be
ENV_MAX_EVENT_SKEW = "MODELMON_MAX_EVENT_SKEW_MINUTES"  # how far ahead of the stream function's clock
ENV_BATCH_ROOT = "MODELMON_BATCH_ROOT"  # the only folder the batch-inference function reads and writes
ENV_UI_TOKEN = "MODELMON_UI_TOKEN"  # the access token `modelmon ui` requires (always, when bound beyond localhost)
ENV_SOURCE = "MODELMON_SOURCE"  # where a Nuclio builder gets the bundle (modelmon.deploy.code_source)
ENV_ALERT_WEBHOOK_URL = "MODELMON_ALERT_WEBHOOK_URL"  # on the alerts function: post every detected/suspected result
ENV_POSTGRES_DSN = "MODELMON_POSTGRES_DSN"  # backend postgres: the libpq DSN of its KV and TSDB tables
ENV_KAFKA_BROKERS = "MODELMON_KAFKA_BROKERS"  # backend postgres: streams on these Kafka brokers ("h1:9092,h2:9092")
ENV_SAMPLES_URL = "MODELMON_SAMPLES_URL"  # backend postgres: samples and objects under this fsspec URL
ENV_S3_ENDPOINT_URL = "MODELMON_S3_ENDPOINT_URL"  # an S3-compatible server (MinIO...) for an s3:// samples URL
ENV_V3IO_API = "V3IO_API"
ENV_V3IO_ACCESS_KEY = "V3IO_ACCESS_KEY"
ENV_V3IO_FRAMESD = "V3IO_FRAMESD"
ENV_V3IO_USERNAME = "V3IO_USERNAME"

BACKENDS = ("local", "v3io", "postgres")
DEFAULT_HOME = ".modelmon"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a modelmon function or the CLI needs to know about its deployment."""

    backend: str = "local"
    home: str = DEFAULT_HOME
    project: str = "default"
    base_period_minutes: int = 10
    backfill_minutes: int = 24 * 60
    grace_minutes: int = 30
    app_name: str | None = None
    app_class: str | None = None
    app_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    app_source: str | None = None
    max_retries: int = 3
    retry_deadline_seconds: int = 60
    max_event_age_minutes: int = 30 * 24 * 60
    max_event_skew_minutes: int = 5
    batch_root: str | None = None
    v3io_api: str | None = None
    v3io_access_key: str | None = dataclasses.field(default=None, repr=False)
    v3io_framesd: str | None = None
    v3io_username: str | None = None
    postgres_dsn: str | None = dataclasses.field(default=None, repr=False)  # may hold a password
    kafka_brokers: tuple[str, ...] = ()  # postgres: streams on Kafka (else the SQLite file in home)
    kafka_security: KafkaSecurity = dataclasses.field(default_factory=KafkaSecurity)  # MODELMON_KAFKA_* (SASL, TLS)
    samples_url: str | None = None  # postgres: samples and objects on fsspec (else folders in home)
    s3_endpoint_url: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"{ENV_BACKEND}={self.backend!r}: expected one of {', '.join(BACKENDS)}")
        if self.backend == "postgres" and not self.postgres_dsn:
            raise ConfigError(f"{ENV_BACKEND}=postgres needs {ENV_POSTGRES_DSN} (e.g. 'host=db.example dbname=modelmon "
                              "user=modelmon'; the password from PGPASSWORD or ~/.pgpass)")
        self._check_stores()
        if self.base_period_minutes < 1:
            raise ConfigError(f"{ENV_BASE_PERIOD}={self.base_period_minutes}: must be at least 1 minute")
        if isinstance(self.retry_deadline_seconds, bool) or not isinstance(self.retry_deadline_seconds, int) \
                or self.retry_deadline_seconds < 1:
            raise ConfigError(f"{ENV_RETRY_DEADLINE}={self.retry_deadline_seconds!r}: must be a whole number of "
                              "seconds, 1 or more (keep it below the function's Nuclio eventTimeout)")
        for name, value in ((ENV_MAX_EVENT_AGE, self.max_event_age_minutes),
                            (ENV_MAX_EVENT_SKEW, self.max_event_skew_minutes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name}={value!r}: must be a whole number of minutes, 0 or more")
        if not self.project or not all(c.isalnum() or c in "-_" for c in self.project):
            raise ConfigError(f"{ENV_PROJECT}={self.project!r}: use letters, digits, '-' and '_'")

    def _check_stores(self) -> None:
        """Kafka streams and fsspec samples are roles of the ``postgres`` backend (KV and TSDB shared by every
        machine); the local and V3IO backends keep their own."""
        given = [n for n, v in ((ENV_KAFKA_BROKERS, self.kafka_brokers), (ENV_SAMPLES_URL, self.samples_url)) if v]
        if given and self.backend != "postgres":
            raise ConfigError(f"{' and '.join(given)}: only with {ENV_BACKEND}=postgres (Kafka streams and shared "
                              f"samples go with KV and TSDB in PostgreSQL; {ENV_BACKEND}={self.backend} keeps its own)")
        if self.kafka_brokers:
            object.__setattr__(self, "kafka_brokers", parse_brokers(self.kafka_brokers, ENV_KAFKA_BROKERS))
        elif self.kafka_security != KafkaSecurity():
            raise ConfigError(f"{ENV_KAFKA_SECURITY_PROTOCOL} and the other Kafka security settings: only with "
                              f"{ENV_KAFKA_BROKERS}")
        if self.samples_url:
            check_samples_url(self.samples_url, ENV_SAMPLES_URL)
        if self.s3_endpoint_url:
            check_http_url(self.s3_endpoint_url, ENV_S3_ENDPOINT_URL)

    @property
    def uses_home(self) -> bool:
        """Whether some role keeps its data under ``home`` (a folder means nothing to V3IO, nor to postgres with
        streams on Kafka and samples on fsspec)."""
        return self.backend == "local" or (self.backend == "postgres"
                                           and not (self.kafka_brokers and self.samples_url))

    @property
    def base_period_ms(self) -> int:
        return self.base_period_minutes * 60_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``env`` (default ``os.environ``); keyword ``overrides`` win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "backend": env.get(ENV_BACKEND, "local"),
            "home": env.get(ENV_HOME, DEFAULT_HOME),
            "project": env.get(ENV_PROJECT, "default"),
            "base_period_minutes": _int(env, ENV_BASE_PERIOD, 10),
            "backfill_minutes": _int(env, ENV_BACKFILL, 24 * 60),
            "grace_minutes": _int(env, ENV_GRACE, 30),
            "app_name": env.get(ENV_APP_NAME) or None,
            "app_class": env.get(ENV_APP_CLASS) or None,
            "app_kwargs": _json_object(env, ENV_APP_KWARGS),
            "app_source": env.get(ENV_APP_SOURCE) or None,
            "max_retries": _int(env, ENV_MAX_RETRIES, 3),
            "retry_deadline_seconds": _int(env, ENV_RETRY_DEADLINE, cls.retry_deadline_seconds),
            "max_event_age_minutes": _int(env, ENV_MAX_EVENT_AGE, cls.max_event_age_minutes),
            "max_event_skew_minutes": _int(env, ENV_MAX_EVENT_SKEW, cls.max_event_skew_minutes),
            "batch_root": env.get(ENV_BATCH_ROOT) or None,
            "v3io_api": env.get(ENV_V3IO_API) or None,
            "v3io_access_key": env.get(ENV_V3IO_ACCESS_KEY) or None,
            "v3io_framesd": env.get(ENV_V3IO_FRAMESD) or None,
            "v3io_username": env.get(ENV_V3IO_USERNAME) or None,
            "postgres_dsn": env.get(ENV_POSTGRES_DSN) or None,
            "kafka_brokers": parse_brokers(env[ENV_KAFKA_BROKERS], ENV_KAFKA_BROKERS)
            if env.get(ENV_KAFKA_BROKERS, "").strip() else (),
            "samples_url": env.get(ENV_SAMPLES_URL) or None,
            "s3_endpoint_url": env.get(ENV_S3_ENDPOINT_URL) or None,
        }
        if "kafka_security" not in overrides:  # checked only when read from env (it refuses a stray password)
            values["kafka_security"] = KafkaSecurity.from_env(env)
        values.update(overrides)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in another process (no credentials)."""
        env = {
            ENV_BACKEND: self.backend,
            ENV_PROJECT: self.project,
            ENV_BASE_PERIOD: str(self.base_period_minutes),
            ENV_BACKFILL: str(self.backfill_minutes),
            ENV_GRACE: str(self.grace_minutes),
            ENV_MAX_RETRIES: str(self.max_retries),
            ENV_RETRY_DEADLINE: str(self.retry_deadline_seconds),
            ENV_MAX_EVENT_AGE: str(self.max_event_age_minutes),
            ENV_MAX_EVENT_SKEW: str(self.max_event_skew_minutes),
        }
        if self.uses_home:
            env[ENV_HOME] = self.home
        if self.postgres_dsn and not dsn_has_password(self.postgres_dsn):
            env[ENV_POSTGRES_DSN] = self.postgres_dsn
        if self.app_name:
            env[ENV_APP_NAME] = self.app_name
        if self.app_class:
            env[ENV_APP_CLASS] = self.app_class
        if self.app_kwargs:
            env[ENV_APP_KWARGS] = json.dumps(dict(self.app_kwargs))
        if self.app_source:
            env[ENV_APP_SOURCE] = self.app_source
        if self.kafka_brokers:
            env[ENV_KAFKA_BROKERS] = ",".join(self.kafka_brokers)
            env.update(self.kafka_security.to_env())  # never the SASL password
        for name, value in ((ENV_SAMPLES_URL, self.samples_url), (ENV_S3_ENDPOINT_URL, self.s3_endpoint_url),
                            (ENV_BATCH_ROOT, self.batch_root), (ENV_V3IO_API, self.v3io_api),
                            (ENV_V3IO_FRAMESD, self.v3io_framesd),
                            (ENV_V3IO_USERNAME, self.v3io_username)):
            if value:
                env[name] = value
        return env


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None


def dsn_has_password(dsn: str) -> bool:
    """Whether a libpq DSN (``key=value`` words or a ``postgresql://`` URL) carries a password.

    >>> [dsn_has_password(d) for d in ("host=db password=x", "postgresql://u:x@db/m", "postgresql://u@db/m")]
    [True, True, False]
    """
    if re.search(r"(^|[\s?&])password\s*=", dsn):
        return True
    if "://" in dsn:
        authority = dsn.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
        return "@" in authority and ":" in authority.rsplit("@", 1)[0]
    return False


def _json_object(env: Mapping[str, str], name: str) -> dict[str, Any]:
    raw = env.get(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}: not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: expected a JSON object")
    return value
