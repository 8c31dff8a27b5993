"""Building the ``nuclio_sdk.Event`` each trigger kind delivers, with the fields Nuclio sets."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from typing import Any

import nuclio_sdk

from modelmon.backends.base import Record
from modelmon.local_nuclio.trigger_spec import TriggerSpec

JSON = "application/json"


def decoded_body(body: bytes, content_type: str | None) -> Any:
    """``body`` as the Python wrapper hands it over: parsed when the content type is JSON, else bytes."""
    if content_type and content_type.split(";")[0].strip().lower() == JSON:
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return body
    return body


def _info(trigger: TriggerSpec) -> nuclio_sdk.TriggerInfo:
    return nuclio_sdk.TriggerInfo(trigger.kind, trigger.name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stream_event(trigger: TriggerSpec, path: str, num_shards: int, record: Record) -> nuclio_sdk.Event:
    """One stream record: body as bytes, ``shard_id``, ``offset`` (the sequence number), ``topic``."""
    return nuclio_sdk.Event(
        body=record.data,
        trigger=_info(trigger),
        _id=f"{path}/{record.shard}/{record.sequence}",
        path=path,
        size=len(record.data),
        timestamp=dt.datetime.fromtimestamp(record.arrival_ms / 1000, dt.UTC),
        shard_id=record.shard,
        num_shards=num_shards,
        offset=record.sequence,
        topic=path,
    )


def cron_event(trigger: TriggerSpec, body: bytes, headers: Mapping[str, str]) -> nuclio_sdk.Event:
    """A cron tick carrying the trigger's configured ``attributes.event`` body and headers."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    return nuclio_sdk.Event(
        body=decoded_body(body, content_type),
        content_type=content_type,
        trigger=_info(trigger),
        headers=dict(headers),
        _id=str(uuid.uuid4()),
        method="POST",
        size=len(body),
        timestamp=_now(),
    )


def http_event(
    trigger: TriggerSpec,
    *,
    method: str,
    path: str,
    fields: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    url: str,
) -> nuclio_sdk.Event:
    """One HTTP request: method, path (without the query), query ``fields``, headers and body."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    return nuclio_sdk.Event(
        body=decoded_body(body, content_type),
        content_type=content_type,
        trigger=_info(trigger),
        fields=dict(fields),
        headers=dict(headers),
        _id=str(uuid.uuid4()),
        method=method,
        path=path,
        size=len(body),
        timestamp=_now(),
        url=url,
    )
