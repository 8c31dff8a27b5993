"""Choosing the backend from settings: the one place that knows every backend by name.

``postgres`` is composed from its roles: KV and TSDB in PostgreSQL always; streams on Kafka when
``MODELMON_KAFKA_BROKERS`` is set (else the local backend's SQLite file in ``home``); samples and objects
under ``MODELMON_SAMPLES_URL`` through fsspec when set (else folders in ``home``). The clients of the optional
roles (psycopg, kafka-python, s3fs) are imported only when named, and a missing one is a :class:`ConfigError`
saying which extra to install.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from modelmon.backends.base import Backend, ObjectStore, SampleStore, Stream
from modelmon.core.config import ENV_KAFKA_BROKERS, ENV_SAMPLES_URL, Settings
from modelmon.core.errors import ConfigError
from modelmon.core.store_addresses import SAMPLE_SCHEMES


def make_backend(settings: Settings) -> Backend:
    """The backend ``settings`` names, connected and ready."""
    match settings.backend:
        case "local":
            from modelmon.backends.local import open_local_backend

            return open_local_backend(settings.home)
        case "v3io":
            from modelmon.backends.v3io import open_v3io_backend

            return open_v3io_backend(settings)
        case "postgres":
            return _open_postgres(settings)
        case other:  # Settings already validates; kept for type checkers
            raise ValueError(f"unknown backend {other!r}")


def _open_postgres(settings: Settings) -> Backend:
    dsn = settings.postgres_dsn
    assert dsn is not None  # Settings requires it for this backend
    _require("psycopg", "postgres", "backend postgres needs psycopg")
    if settings.kafka_brokers:
        _require("kafka", "kafka", f"{ENV_KAFKA_BROKERS}: streams on Kafka need kafka-python")
    if settings.samples_url:
        needs = "s3fs" if SAMPLE_SCHEMES[urlparse(settings.samples_url).scheme] == "s3" else "fsspec"
        _require(needs, "s3", f"{ENV_SAMPLES_URL}={settings.samples_url}: needs {needs}")
    from modelmon.backends.postgres import open_postgres_backend
    from modelmon.backends.postgres.database import Database
    from modelmon.backends.postgres.kv import PostgresKV
    from modelmon.backends.postgres.tsdb import PostgresTSDB

    if settings.uses_home:  # some role stays in the folder: the postgres backend's layout, the others replaced
        backend = open_postgres_backend(dsn, settings.home)
        try:
            if settings.kafka_brokers:
                _close(backend.streams)
                backend.streams = _kafka_streams(settings)
            if settings.samples_url:
                backend.samples, backend.objects = _fsspec_stores(settings)
        except BaseException:
            backend.close()
            raise
        return backend
    db = Database(dsn)  # nothing in a folder: no home is created
    try:
        streams = _kafka_streams(settings)
        samples, objects = _fsspec_stores(settings)
    except BaseException:
        db.close()
        raise
    return Backend(name="postgres", streams=streams, kv=PostgresKV(db), tsdb=PostgresTSDB(db), samples=samples,
                   objects=objects)


def _kafka_streams(settings: Settings) -> Stream:
    from modelmon.backends.kafka import open_kafka_streams

    return open_kafka_streams(settings.kafka_brokers, client_id=f"modelmon-{settings.project}",
                              **settings.kafka_security.client_options())


def _fsspec_stores(settings: Settings) -> tuple[SampleStore, ObjectStore]:
    from modelmon.backends.fsspec_store import open_fsspec_stores

    assert settings.samples_url is not None
    return open_fsspec_stores(settings.samples_url, storage_options(settings))


def storage_options(settings: Settings) -> Mapping[str, Any] | None:
    """fsspec options for the samples URL: an S3-compatible endpoint when one is named. Credentials are not
    here: s3fs reads ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (or the pod's role) itself.

    >>> storage_options(Settings(backend="postgres", postgres_dsn="host=db", samples_url="s3://b/p",
    ...                          s3_endpoint_url="http://minio:9000"))
    {'endpoint_url': 'http://minio:9000'}
    """
    if settings.samples_url and urlparse(settings.samples_url).scheme == "s3" and settings.s3_endpoint_url:
        return {"endpoint_url": settings.s3_endpoint_url}
    return None


def _require(module: str, extra: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{what}: pip install 'modelmon[{extra}]'")


def _close(role: object) -> None:
    close = getattr(role, "close", None)
    if close is not None:
        close()

