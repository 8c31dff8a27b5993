"""The NoSQL web-API functions: PutItem, UpdateItem, GetItem, GetItems (typed attributes, expressions)."""

from __future__ import annotations

import base64
import json
from typing import Any

from v3io_server.expressions import ExpressionError, apply_update, parse_condition
from v3io_server.store import Store, V3ioFailure, not_found

#: The error code V3IO answers (with HTTP 400) when a ConditionExpression evaluates to false.
CONDITION_FALSE_CODE = -16777244
#: The inner code some engine versions add to the same body (v3io-tsdb ``pkg/utils/misc.go`` ``IsFalseConditionError``).
CONDITION_FALSE_INNER_CODE = -16777245
#: How the platform has answered a false condition (the sources give the codes and how many ``ErrorCode``
#: the body holds, not where each sits, so both placements of the two-code reply are offered):
#: ``flat``: one error object with the code (frames ``isFalseConditionError`` since 2021, storey);
#: ``outer-inner``: the outer code on top, the inner error's JSON in its message (v3io-tsdb's rule; frames until 2021);
#: ``inner-outer``: the same two codes the other way round.
CONDITION_FALSE_SHAPES = frozenset({"flat", "outer-inner", "inner-outer"})
_CONDITION_FALSE_MESSAGE = "condition expression evaluated to false (test server's text)"
VERIFIER_HEADER = "X-v3io-transaction-verifier"
#: Attributes the platform maintains; writes to them are ignored.
SYSTEM_ATTRIBUTES = frozenset({"__name", "__mtime_secs", "__mtime_nsecs", "__obj_type", "__last_sequence_num"})


def decode_typed(typed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"a": {"N": "1"}}`` → ``{"a": 1}``; unknown types are a 400."""
    out: dict[str, Any] = {}
    for name, cell in typed.items():
        if not isinstance(cell, dict) or len(cell) != 1:
            raise V3ioFailure(400, -22, f"attribute {name}: expected one typed value")
        (kind, raw), = cell.items()
        if kind == "N":
            out[name] = float(raw) if any(c in str(raw) for c in ".eEnN") else int(raw)
        elif kind == "S":
            out[name] = str(raw)
        elif kind == "BOOL":
            out[name] = bool(raw)
        elif kind == "B":
            out[name] = base64.b64decode(raw)
        else:
            raise V3ioFailure(400, -22, f"attribute {name}: unsupported type {kind!r}")
    return out


def encode_typed(attrs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, value in attrs.items():
        if isinstance(value, bool):
            out[name] = {"BOOL": value}
        elif isinstance(value, int | float):
            out[name] = {"N": repr(value) if isinstance(value, float) else str(value)}
        elif isinstance(value, bytes):
            out[name] = {"B": base64.b64encode(value).decode()}
        else:
            out[name] = {"S": str(value)}
    return out


def _condition_holds(text: str | None, attrs: dict[str, Any]) -> bool:
    try:
        return parse_condition(text or "")(attrs)
    except ExpressionError as exc:
        raise V3ioFailure(400, -22, f"bad condition expression: {exc}") from None


def _current(store: Store, path: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The attribute dict to update in place (``None`` = item missing) and the view conditions see."""
    shard = store.shard_of(path)
    if shard is not None:
        return shard.attrs, {**shard.attrs, **shard.system_attrs()}
    attrs = store.items.get(path)
    if attrs is None:
        return None, {}
    name = path.rpartition("/")[2]
    return attrs, {**attrs, "__name": name}


def _store(store: Store, path: str, attrs: dict[str, Any]) -> None:
    mtime = store.next_mtime_ns()
    attrs = {k: v for k, v in attrs.items() if k not in SYSTEM_ATTRIBUTES}
    attrs["__mtime_secs"], attrs["__mtime_nsecs"] = divmod(mtime, 10**9)
    shard = store.shard_of(path)
    if shard is not None:
        shard.attrs = attrs
    else:
        store.items[path] = attrs


class ConditionFalse(V3ioFailure):
    """HTTP 400 for a false condition, its body in one of :data:`CONDITION_FALSE_SHAPES`."""

    def __init__(self, shape: str) -> None:
        super().__init__(400, CONDITION_FALSE_CODE, _CONDITION_FALSE_MESSAGE)
        self.shape = shape

    def body(self) -> bytes:
        if self.shape == "flat":
            return super().body()
        top, inner = (CONDITION_FALSE_CODE, CONDITION_FALSE_INNER_CODE) if self.shape == "outer-inner" \
            else (CONDITION_FALSE_INNER_CODE, CONDITION_FALSE_CODE)
        nested = json.dumps({"ErrorCode": inner, "ErrorMessage": self.message})
        return json.dumps({"ErrorCode": top, "ErrorMessage": f"{self.message}: {nested}"}).encode()


def _condition_false(store: Store) -> V3ioFailure:
    return ConditionFalse(store.condition_false_shape)


def put_item(store: Store, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """PutItem: replace the item, or merge attributes when ``UpdateMode`` says so."""
    item = decode_typed(body.get("Item") or {})
    stored, view = _current(store, path)
    if not _condition_holds(body.get("ConditionExpression"), view):
        raise _condition_false(store)
    if body.get("UpdateMode") == "CreateOrReplaceAttributes" and stored is not None:
        item = {**stored, **item}
    _store(store, path, item)
    return None


def update_item(store: Store, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """UpdateItem: apply ``UpdateExpression`` if ``ConditionExpression`` holds, else ``AlternateUpdateExpression``."""
    stored, view = _current(store, path)
    if body.get("UpdateMode") == "ReplaceAttributes" and stored is None:
        raise not_found(path)
    expression = body.get("UpdateExpression")
    if not _condition_holds(body.get("ConditionExpression"), view):
        expression = body.get("AlternateUpdateExpression")
        if not expression:
            raise _condition_false(store)
    if not expression:
        raise V3ioFailure(400, -22, "UpdateItem needs an UpdateExpression")
    try:
        updated = apply_update(expression, view)
    except ExpressionError as exc:
        raise V3ioFailure(400, -22, f"bad update expression: {exc}") from None
    _store(store, path, updated)
    return None


def _select(attrs: dict[str, Any], wanted: str, name: str) -> dict[str, Any]:
    full = {**attrs, "__name": name}
    if wanted in ("", "**"):
        return full
    out: dict[str, Any] = {}
    for part in (p.strip() for p in wanted.split(",")):
        if part == "*":
            out.update({k: v for k, v in attrs.items() if not k.startswith("__")})
        elif part in full:
            out[part] = full[part]
    return out


def get_item(store: Store, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """GetItem: the selected attributes, plus the transaction verifier of this version of the item."""
    stored, view = _current(store, path)
    if stored is None and store.shard_of(path) is None:
        raise not_found(path)
    item = _select(view, body.get("AttributesToGet", "*"), path.rpartition("/")[2])
    verifier = f"__mtime_secs=={view.get('__mtime_secs', 0)} and __mtime_nsecs=={view.get('__mtime_nsecs', 0)}"
    return {"Item": encode_typed(item)}, {VERIFIER_HEADER: verifier}


def get_items(store: Store, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """GetItems: items directly under the table directory, in key order, ``Limit`` per page, ``Marker`` to go on."""
    table = path.rstrip("/") + "/"
    try:
        keep = parse_condition(body.get("FilterExpression") or "")
    except ExpressionError as exc:
        raise V3ioFailure(400, -22, f"bad filter expression: {exc}") from None
    limit = int(body.get("Limit") or 1000)
    if limit < 1:
        raise V3ioFailure(400, -22, "Limit must be at least 1")
    after = base64.b64decode(body["Marker"]).decode() if body.get("Marker") else ""
    # every file directly in the folder is an item, as on the platform: an object (such as the ``.#schema``
    # file frames and MLRun write) lists with no user attributes
    keys = sorted({p[len(table):] for p in (*store.items, *store.objects)
                   if p.startswith(table) and "/" not in p[len(table):]})
    if not keys and not any(p.startswith(table) for p, _, _ in store.entries()):
        raise not_found(path)
    page: list[dict[str, Any]] = []
    last_key = ""
    remaining = [k for k in keys if k > after]
    for key in remaining:
        attrs = store.items.get(table + key, {})
        last_key = key
        if keep({**attrs, "__name": key}):
            page.append(encode_typed(_select(attrs, body.get("AttributesToGet", "*"), key)))
        if len(page) == limit:
            break
    done = not remaining or last_key == remaining[-1]
    out: dict[str, Any] = {"Items": page, "LastItemIncluded": "TRUE" if done else "FALSE", "NumItems": len(page)}
    if not done:
        out["NextMarker"] = base64.b64encode(last_key.encode()).decode()
    return out
