"""The envelope every modelmon stream message shares: JSON with ``kind`` and ``schema``."""

from __future__ import annotations

import enum
import json
from typing import Any

from modelmon.core.errors import InvalidEvent
from modelmon.core.json_text import loads_exact


class MessageKind(enum.StrEnum):
    TRACKING = "tracking"
    WINDOW = "window"
    WRITER = "writer"
    DEAD_LETTER = "dead-letter"
    LABELS = "labels"


#: A message body as a function receives it: JSON bytes or text, or JSON Nuclio already decoded (an HTTP
#: body); readers refuse anything but a JSON object with :class:`InvalidEvent`.
Body = bytes | bytearray | str | dict[str, Any] | list[Any]

#: The schema version each kind is written with; readers accept this version and older ones.
SCHEMA_VERSIONS: dict[MessageKind, int] = {kind: 1 for kind in MessageKind}


def decode_json(body: Body, kind: str | None = None) -> dict[str, Any]:
    """A message body as a dict, or :class:`InvalidEvent` saying why it is not a JSON object."""
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent("body is not UTF-8 text", kind=kind) from None
    if not isinstance(body, str):
        raise InvalidEvent(f"body of type {type(body).__name__} is not JSON text", kind=kind)
    try:
        value = loads_exact(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"body is not valid JSON: {exc.msg} at position {exc.pos}", kind=kind) from None
    except ValueError as exc:
        raise InvalidEvent(str(exc), kind=kind) from None
    if not isinstance(value, dict):
        raise InvalidEvent(f"body is a JSON {type(value).__name__}, expected an object", kind=kind)
    return value


def _reject_constant(name: str) -> float:
    raise ValueError(f"body contains the non-standard JSON number {name}")


def check_envelope(data: dict[str, Any], kind: MessageKind) -> None:
    """Raise :class:`InvalidEvent` unless ``data`` is a message of ``kind`` at a readable version."""
    found = data.get("kind")
    if found != kind:
        raise InvalidEvent(f"expected a {kind.value!r} message, got kind={found!r}", kind=kind)
    version = data.get("schema")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SCHEMA_VERSIONS[kind]:
        raise InvalidEvent(
            f"{kind.value} message has schema version {version!r}; this reader understands "
            f"1..{SCHEMA_VERSIONS[kind]}",
            kind=kind,
        )


def envelope(kind: MessageKind) -> dict[str, Any]:
    return {"kind": kind.value, "schema": SCHEMA_VERSIONS[kind]}


def encode(data: dict[str, Any]) -> bytes:
    """Compact JSON bytes; NaN/inf are refused (they are not JSON)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode("utf-8")


def require(data: dict[str, Any], field: str, types: type | tuple[type, ...], kind: MessageKind) -> Any:
    """``data[field]`` if present and of ``types``, else :class:`InvalidEvent` naming the field."""
    if field not in data:
        raise InvalidEvent(f"{kind.value} message is missing {field!r}", kind=kind)
    value = data[field]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise InvalidEvent(f"{kind.value} message field {field!r} must not be a boolean", kind=kind)
    if not isinstance(value, types):
        raise InvalidEvent(
            f"{kind.value} message field {field!r} has type {type(value).__name__}", kind=kind
        )
    return value


def window_fields(data: dict[str, Any], kind: MessageKind) -> dict[str, Any]:
    """The fields naming one window of one app on one endpoint, which window and writer messages share."""
    return {
        "project": require(data, "project", str, kind),
        "endpoint_id": require(data, "endpoint_id", str, kind),
        "app_name": require(data, "app_name", str, kind),
        "start_ms": require(data, "start_ms", int, kind),
        "end_ms": require(data, "end_ms", int, kind),
        "endpoint_name": data.get("endpoint_name") or "",
    }
