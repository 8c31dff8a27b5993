"""Checking the addresses of the stores beyond one machine: Kafka brokers, the samples URL, an S3 endpoint.

Only their shape is checked here, where :class:`~modelmon.core.config.Settings` is built (the CLI that renders
configs for other machines needs no Kafka or S3 client); whether the client package is installed is checked
where the store is opened (:mod:`modelmon.backends.factory`). Messages name the variable, never a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlparse

from modelmon.core.errors import ConfigError

#: Samples URL schemes, with the pip extra that installs their fsspec file system.
SAMPLE_SCHEMES = {"file": None, "s3": "s3"}
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)")


def parse_brokers(value: str | Iterable[str], name: str) -> tuple[str, ...]:
    """Kafka bootstrap servers as ``host:port`` strings, from ``"h1:9092,h2:9092"`` or a list.

    >>> parse_brokers(" kafka-0.kafka:9092, [::1]:9093 ", "brokers")
    ('kafka-0.kafka:9092', '[::1]:9093')
    >>> parse_brokers("kafka", "brokers")
    Traceback (most recent call last):
    modelmon.core.errors.ConfigError: brokers: 'kafka' is not host:port (e.g. kafka-0.kafka:9092,kafka-1.kafka:9092)
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    brokers = tuple(b.strip() for b in items if isinstance(b, str) and b.strip())
    if not brokers or len(brokers) != len(items):
        raise ConfigError(f"{name}: expected a comma-separated list of host:port, got {value!r}")
    for broker in brokers:
        host, _, port = broker.rpartition(":")
        if not (_HOST.fullmatch(host) and port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(f"{name}: {broker!r} is not host:port (e.g. kafka-0.kafka:9092,kafka-1.kafka:9092)")
    return tuple(dict.fromkeys(brokers))


def check_samples_url(url: str, name: str) -> str:
    """``url`` if it names a folder of a supported file system: ``file:///absolute/path`` or ``s3://bucket/prefix``.

    Credentials in the URL are refused: it travels in plain env (S3 keys come from the usual AWS variables).
    """
    parsed = urlparse(url)
    if parsed.scheme not in SAMPLE_SCHEMES:
        shown = f"scheme {parsed.scheme!r}" if parsed.scheme else "no URL scheme"
        raise ConfigError(f"{name}: {shown} is not supported (use file:///absolute/path or s3://bucket/prefix)")
    if parsed.username or parsed.password:
        raise ConfigError(f"{name}: no credentials in the URL (it is passed on in plain env); S3 takes them from "
                          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the pod's role)")
    if parsed.scheme == "file" and (parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/")):
        raise ConfigError(f"{name}: {url!r} is not a local absolute path; write file:///absolute/path")
    if parsed.scheme == "s3" and not parsed.netloc:
        raise ConfigError(f"{name}: {url!r} names no bucket; write s3://bucket/prefix")
    if parsed.query or parsed.fragment:
        raise ConfigError(f"{name}: {url!r}: a folder URL takes no ?query or #fragment")
    return url


def check_http_url(url: str, name: str) -> str:
    """``url`` if it is ``http(s)://host[:port]`` (an S3-compatible endpoint such as MinIO's)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{name}: {url!r} is not an http(s)://host[:port] URL")
    return url
