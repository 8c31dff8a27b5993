"""Slack incoming-webhook channel: the summary as ``text`` plus a section block with the details."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelmon.alerts.channels.webhook import WebhookChannel


def slack_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Slack's message body for a notification."""
    summary = str(payload.get("summary") or payload.get("key"))
    names = ("severity", "state", "endpoint_name", "app", "result", "value", "status")
    fields = [f"*{name}*: {payload[name]}" for name in names if payload.get(name) is not None]
    return {"text": summary, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(fields) or "-"}]},
    ]}


class SlackChannel(WebhookChannel):
    """A webhook whose body is Slack's message format (an incoming webhook takes no signature)."""

    kind = "slack"

    def body(self, payload: Mapping[str, Any]) -> bytes:
        return json.dumps(slack_message(payload)).encode()
