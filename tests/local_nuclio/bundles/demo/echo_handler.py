"""An HTTP echo: answers with what it received, in the shape the request path asks for."""

from __future__ import annotations

import os

import nuclio_sdk


def init_context(context):
    context.user_data.greeting = os.environ.get("GREETING", "")
    context.user_data.calls = 0


def handler(context, event):
    context.user_data.calls += 1
    if event.path == "/text":
        return f"{context.user_data.greeting} {event.fields.get('name', '')}"
    if event.path == "/bytes":
        return b"\x00\x01raw"
    if event.path == "/created":
        return nuclio_sdk.Response(body={"made": True}, status_code=201, headers={"X-Made": "yes"})
    if event.path == "/fail":
        raise RuntimeError("asked to fail")
    body = event.body.decode() if isinstance(event.body, bytes) else event.body
    return {
        "method": event.method,
        "path": event.path,
        "fields": event.fields,
        "body": body,
        "greeting": context.user_data.greeting,
        "token": os.environ.get("API_TOKEN"),
        "worker_id": context.worker_id,
        "trigger": [event.trigger.kind, event.trigger.name],
        "pid": os.getpid(),
    }
