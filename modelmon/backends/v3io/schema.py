"""The ``.#schema`` file of a V3IO KV table, which the frames KV reader (and so Grafana) needs.

framesd's KV reader refuses a table whose folder has no ``.#schema`` object ("Failed to find a schema for
table ..."); MLRun writes one for every KV table its Grafana dashboards read. The file is JSON in frames'
own shape: ``{"fields": [{"name", "type", "nullable"}], "key": <key attribute>, "hashingBucketNum": 0}``,
types ``long``, ``double``, ``string``, ``boolean`` or ``timestamp``. The reader returns the fields in the
file's order, the key as the index, and fails on an item attribute the file does not list when it reads
every attribute: list every attribute a table's items can hold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from modelmon.backends.base import ObjectStore

SCHEMA_FILE = ".#schema"
TYPES = ("long", "double", "string", "boolean", "timestamp")


def schema_path(table: str) -> str:
    """Where ``table``'s schema file lives: inside the table's folder."""
    return f"{table.rstrip('/')}/{SCHEMA_FILE}"


def kv_schema(key: str, fields: Mapping[str, str]) -> bytes:
    """The schema file of a table keyed by attribute ``key`` whose attributes have ``fields`` types.

    >>> kv_schema("uid", {"uid": "string", "count": "long"}).decode()
    '{"fields": [{"name": "uid", "type": "string", "nullable": false}, {"name": "count", "type": "long", \
"nullable": true}], "key": "uid", "hashingBucketNum": 0}'
    """
    if key not in fields:
        raise ValueError(f"KV schema: the key attribute {key!r} must be one of the fields")
    bad = {name: kind for name, kind in fields.items() if kind not in TYPES}
    if bad:
        raise ValueError(f"KV schema: unknown field types {bad}; expected one of {', '.join(TYPES)}")
    listed = [{"name": name, "type": kind, "nullable": name != key} for name, kind in fields.items()]
    return json.dumps({"fields": listed, "key": key, "hashingBucketNum": 0}).encode()


def write_kv_schema(objects: ObjectStore, table: str, key: str, fields: Mapping[str, str]) -> None:
    """Write (or replace) ``table``'s schema file; the table's items need not exist yet."""
    objects.put_object(schema_path(table), kv_schema(key, fields))
