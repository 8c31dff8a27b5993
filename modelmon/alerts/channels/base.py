"""Notification channels: the Channel protocol, secrets from the environment, and `channel_for(spec)`.

A channel spec is a plain dict from an alert config (``{"kind": "webhook", "url_env": ...}``). Secrets
(URLs, keys, passwords) appear only as the *names* of environment variables, read at send time, so a
spec can be stored, listed and rendered without leaking them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from modelmon.core.errors import ConfigError

#: Seconds any network call of a channel may take (connect, send, answer).
DEFAULT_TIMEOUT_S = 5.0


class DeliveryError(Exception):
    """A send failed (refused, timed out, answered with an error); the message holds no secret."""


class Channel(Protocol):
    """Sends one notification (its JSON dict) under its idempotency ``key``; raises on failure."""

    kind: str

    def describe(self) -> str:
        """What to log about this channel: its kind and host, never a secret."""

    def send(self, key: str, payload: Mapping[str, Any]) -> None:
        """Deliver ``payload``; :class:`DeliveryError` when it was not accepted."""


def env_secret(spec: Mapping[str, Any], field: str, *, required: bool = True) -> str | None:
    """The value of the environment variable ``spec[field]`` names (read now, never stored)."""
    import os

    name = spec.get(field)
    if not name:
        if required:
            raise DeliveryError(f"{spec.get('kind')} channel: {field!r} (an environment variable name) is not set")
        return None
    value = os.environ.get(str(name))
    if value is None or value == "":
        raise DeliveryError(f"{spec.get('kind')} channel: environment variable {name!r} is not set")
    return value


def channel_for(spec: Mapping[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Channel:
    """The channel for a notification spec; :class:`ConfigError` for an unknown kind or a bad spec."""
    kind = spec.get("kind")
    if kind == "webhook":
        from modelmon.alerts.channels.webhook import WebhookChannel

        return WebhookChannel(spec, timeout_s=timeout_s)
    if kind == "slack":
        from modelmon.alerts.channels.slack import SlackChannel

        return SlackChannel(spec, timeout_s=timeout_s)
    if kind == "email":
        from modelmon.alerts.channels.email import EmailChannel

        return EmailChannel(spec, timeout_s=timeout_s)
    if kind == "log":
        from modelmon.alerts.channels.log import LogChannel

        return LogChannel(spec)
    raise ConfigError(f"unknown notification kind {kind!r}: expected webhook, slack, email or log")
