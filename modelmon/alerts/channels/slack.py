"""Slack incoming-webhook channel: the summary as ``text`` plus a section block with the details."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

from modelmon.alerts.channels.base import DEFAULT_TIMEOUT_S, DeliveryError, env_secret
from modelmon.alerts.channels.webhook import post_json


def slack_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Slack's message body for a notification."""
    summary = str(payload.get("summary") or payload.get("key"))
    names = ("severity", "state", "endpoint_name", "app", "result", "value", "status")
    fields = [f"*{name}*: {payload[name]}" for name in names if payload.get(name) is not None]
    return {"text": summary, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(fields) or "-"}]},
    ]}


class SlackChannel:
    kind = "slack"

    def __init__(self, spec: Mapping[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.spec = dict(spec)
        self.timeout_s = timeout_s

    def describe(self) -> str:
        try:
            url = env_secret(self.spec, "url_env")
        except DeliveryError:
            return "slack (url not set)"
        return f"slack {urllib.parse.urlsplit(url or '').netloc}"

    def send(self, key: str, payload: Mapping[str, Any]) -> None:
        url = env_secret(self.spec, "url_env")
        assert url is not None
        body = json.dumps(slack_message(payload)).encode()
        post_json(url, body, {"Idempotency-Key": key}, self.timeout_s, self.kind)
