"""framesd's KV ``Read`` over the test V3IO server's items, with the reader's rules (``backends/kv/reader.go``).

What makes a Grafana KV panel fail on the platform fails here too:

* no ``.#schema`` object in the table's folder: "Failed to find a schema for table ...";
* a requested column the schema does not list: "column 'x' doesn't exist";
* reading every attribute, an item attribute the schema does not list ("... doesn't exist in the schema file");
* a value whose type is not the field's (a text ``drift_status`` in a ``long`` field).

Columns come in the schema's order. The key field becomes the index (removed from the columns) unless it is
the only column asked for; asked for among others it stays a column and its copy ``_<key>`` is the index.
Items lacking an attribute get the reader's null (0, NaN, "" or false) and a null mark. The ``.#schema`` file,
an item without attributes when listed, is skipped.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from v3io_frames import frames_pb2 as fpb
from v3io_server.expressions import parse_condition
from v3io_server.store import Store

SCHEMA_FILE = ".#schema"
_FIELD = {"long": ("ints", fpb.INTEGER), "double": ("floats", fpb.FLOAT), "string": ("strings", fpb.STRING),
          "boolean": ("bools", fpb.BOOLEAN)}
_NULL: dict[str, Any] = {"long": 0, "double": math.nan, "string": "", "boolean": False}


class KVReadError(ValueError):
    """What framesd answers a KV read it cannot serve (as an error status on the stream)."""


def frames_filter(text: str) -> str:
    """A query filter as the web API's parser here takes it: MLRun's panels quote text with ``"`` too, which
    framesd passes on and the platform (and v3io-tsdb's own parser) accept, so it becomes ``'``."""
    return re.sub(r'"([^"\']*)"', r"'\1'", text)


def _fits(kind: str, value: Any) -> bool:
    if kind == "long":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "double":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    return isinstance(value, bool)


def read_kv(store: Store, container: str, table: str, columns: list[str], filter_text: str,
            reset_index: bool) -> list[fpb.Frame]:
    """One frame holding the matching items of ``container/table`` (none when no item matches)."""
    folder = f"{container}/{table.strip('/')}/"
    raw = store.objects.get(folder + SCHEMA_FILE)
    if raw is None:
        raise KVReadError(f'Failed to find a schema for table "/{container}/{table.strip("/")}"; use the '
                          "`execute` 'infer' command to infer the schema and generate a schema file.")
    schema = json.loads(raw)
    types = {f["name"]: f["type"] for f in schema["fields"]}
    key = schema["key"]
    names = [name for name in types if not columns or name in columns]
    if "__name" in columns:  # the item names, as a column of their own (the reader's system column)
        names.append("__name")
        types = {**types, "__name": "string"}
    for name in columns:
        if name not in types:
            raise KVReadError(f"column '{name}' doesn't exist")
    keep = parse_condition(frames_filter(filter_text))
    values: dict[str, list[Any]] = {name: [] for name in names}
    nulls: list[fpb.NullValuesMap] = []
    for path in sorted({*store.items, *store.objects}):
        name = path[len(folder):]
        if not path.startswith(folder) or "/" in name or name == SCHEMA_FILE:
            continue
        attrs = {k: v for k, v in store.items.get(path, {}).items() if not k.startswith("__")}
        if not keep({**attrs, "__name": name}):
            continue
        row = attrs if not columns else {k: v for k, v in {**attrs, "__name": name}.items() if k in columns}
        if key not in attrs and (not columns or key in columns):
            row[key] = name  # the item's name stands for a key attribute it lacks
        missing = fpb.NullValuesMap()
        for attr, value in row.items():
            if attr not in types:
                raise KVReadError(f"column '{attr}' for item with key: '{name}' doesn't exist in the schema file. "
                                  "Your data structure was probably changed; try re-inferring the schema for the table")
            if not _fits(types[attr], value):
                raise KVReadError(f"column '{attr}' of item '{name}': {value!r} is not a {types[attr]}")
        for column in names:
            if column in row:
                values[column].append(float(row[column]) if types[column] == "double" else row[column])
            else:
                values[column].append(_NULL[types[column]])
                missing.nullColumns[column] = True
        nulls.append(missing)
    if not nulls:
        return []
    built = {name: _column(name, types[name], values[name]) for name in names}
    indices = []
    if not reset_index and (len(names) > 1 or names[0] != key) and key in built:
        if columns and key in columns:
            indices.append(_column(f"_{key}", types[key], values[key]))
        else:
            indices.append(built.pop(key))
    has_nulls = any(n.nullColumns for n in nulls)
    return [fpb.Frame(columns=list(built.values()), indices=indices, null_values=nulls if has_nulls else [])]


def _column(name: str, kind: str, values: list[Any]) -> fpb.Column:
    field, dtype = _FIELD[kind]
    return fpb.Column(kind=fpb.Column.SLICE, name=name, dtype=dtype, **{field: values})
