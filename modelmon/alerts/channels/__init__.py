"""Notification channels: webhook, Slack, email and the log, built from an alert config's channel spec.

A spec is a plain dict (``{"kind": "webhook", "url_env": "MY_HOOK_URL"}``); secrets appear in it only as
the names of environment variables, read at send time. See :mod:`modelmon.alerts.channels.base`.
"""

from __future__ import annotations

from modelmon.alerts.channels.base import DEFAULT_TIMEOUT_S, Channel, DeliveryError, channel_for, env_secret

__all__ = ["DEFAULT_TIMEOUT_S", "Channel", "DeliveryError", "channel_for", "env_secret"]
