"""The endpoint's reference rows: a bounded uniform sample kept in the object store at registration.

``feature_stats`` (per-feature histograms) suffice for per-feature drift; what needs the rows themselves
(multivariate drift, a feature's dependence with the prediction, a segment's own reference, calibrating
scores against labels) reads this sample, so an app deployed without ``reference_data`` still has one.

One parquet object per endpoint at :meth:`ProjectPaths.reference_rows_object`, named by the endpoint id so
the endpoint record needs no pointer to it. Its metadata records how many rows were kept out of how many
and the digest of the ``feature_stats`` registered with them: the record is written first and the rows
second, so a reader that finds rows of another reference (a registration that stopped in between, or a
reference since given as ``feature_stats`` alone) ignores them rather than mix two references.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelmon.backends.base import ObjectStore
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths

log = logging.getLogger(__name__)

#: Rows kept by default: enough for a PCA, a calibration or mutual information, small enough to read per fit.
DEFAULT_MAX_ROWS = 20_000
#: Values kept at most (rows x columns): a very wide reference keeps fewer rows ...
MAX_VALUES = 4_000_000
#: ... but never fewer than this many (unless it has fewer).
MIN_ROWS_WIDE = 1_000
#: The sample's seed: registering the same reference twice keeps the same rows.
SEED = 0
_META_KEY = b"modelmon.reference_rows"


@dataclasses.dataclass(frozen=True)
class ReferenceRows:
    """A stored sample: ``frame`` (``kept`` rows of the ``total`` registered) and the stats digest it belongs to."""

    frame: pd.DataFrame
    kept: int
    total: int
    stats_digest: str
    #: columns stored as text because parquet could not hold their values (mixed types, objects)
    as_text: tuple[str, ...] = ()


def stats_digest(feature_stats: Mapping[str, Any]) -> str:
    """A short digest of ``feature_stats``: equal for the same reference, whichever store it went through.

    >>> stats_digest({"a": {"mean": 1.0}}) == stats_digest({"a": {"mean": 1.0}}), len(stats_digest({}))
    (True, 16)
    """
    try:
        text = orjson.dumps(feature_stats, option=orjson.OPT_SORT_KEYS)  # ~10x json's speed: read per window
    except (orjson.JSONEncodeError, TypeError):  # integers beyond 64 bits, say
        text = json.dumps(feature_stats, sort_keys=True, default=str).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def rows_to_keep(n_rows: int, n_columns: int, max_rows: int = DEFAULT_MAX_ROWS) -> int:
    """How many of ``n_rows`` rows are kept: at most ``max_rows`` and :data:`MAX_VALUES` values (but at
    least :data:`MIN_ROWS_WIDE` rows of a wide reference).

    >>> rows_to_keep(500, 10), rows_to_keep(1_000_000, 10), rows_to_keep(1_000_000, 2_000)
    (500, 20000, 2000)
    """
    by_values = max(MIN_ROWS_WIDE, MAX_VALUES // max(n_columns, 1))
    return max(0, min(n_rows, max_rows, by_values))


def sample_rows(data: pd.DataFrame, keep: int, seed: int = SEED) -> pd.DataFrame:
    """``keep`` rows of ``data`` drawn uniformly without replacement (seeded), in their original order."""
    if keep >= len(data):
        return data.reset_index(drop=True)
    chosen = np.sort(np.random.default_rng(seed).choice(len(data), keep, replace=False))
    return data.iloc[chosen].reset_index(drop=True)


def write_reference_rows(objects: ObjectStore, paths: ProjectPaths, endpoint_id: str, data: pd.DataFrame,
                         feature_stats: Mapping[str, Any], *, max_rows: int = DEFAULT_MAX_ROWS) -> ReferenceRows:
    """Keep a sample of ``data`` (every column) as the rows of the reference ``feature_stats`` describe."""
    frame = sample_rows(data.rename(columns=str), rows_to_keep(len(data), data.shape[1], max_rows))
    table, as_text = _table(frame)
    digest = stats_digest(feature_stats)
    meta = {"kept": len(frame), "total": len(data), "seed": SEED, "stats_digest": digest, "as_text": as_text}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    objects.put_object(paths.reference_rows_object(endpoint_id), buffer.getvalue())
    return ReferenceRows(frame, len(frame), len(data), digest, tuple(as_text))


def read_reference_rows(objects: ObjectStore, paths: ProjectPaths, endpoint_id: str,
                        feature_stats: Mapping[str, Any] | None = None) -> ReferenceRows | None:
    """The endpoint's stored sample, or ``None`` when it has none, or (given the record's ``feature_stats``)
    when the stored rows belong to another reference."""
    try:
        data = objects.get_object(paths.reference_rows_object(endpoint_id))
    except NotFound:
        return None
    table = pq.read_table(io.BytesIO(data))
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    digest = str(meta.get("stats_digest", ""))
    if feature_stats is not None and digest != stats_digest(feature_stats):
        log.warning("reference rows of endpoint %s belong to another reference than its feature_stats: ignored "
                    "(register reference_data again to keep rows of the current one)", endpoint_id)
        return None
    frame = table.to_pandas()
    kept = int(meta.get("kept", len(frame)))
    frame.attrs["reference_rows_total"] = int(meta.get("total", kept))
    return ReferenceRows(frame, kept, int(meta.get("total", kept)), digest, tuple(meta.get("as_text", ())))


def stored_stats_digest(objects: ObjectStore, paths: ProjectPaths, endpoint_id: str) -> str | None:
    """The digest of the ``feature_stats`` the endpoint's stored rows were kept with (``None``: no rows)."""
    try:
        data = objects.get_object(paths.reference_rows_object(endpoint_id))
    except NotFound:
        return None
    metadata = pq.read_schema(io.BytesIO(data)).metadata or {}
    return str(json.loads(metadata.get(_META_KEY, b"{}")).get("stats_digest", ""))


def delete_reference_rows(objects: ObjectStore, paths: ProjectPaths, endpoint_id: str) -> None:
    objects.delete_object(paths.reference_rows_object(endpoint_id))


def _table(frame: pd.DataFrame) -> tuple[pa.Table, list[str]]:
    """``frame`` as an arrow table; columns arrow cannot type (mixed values) are kept as text, and named."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False), []
    except (pa.ArrowException, TypeError, ValueError):
        pass
    as_text = []
    for name in frame.columns:
        try:
            pa.array(frame[name], from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            as_text.append(name)
    converted = frame.assign(**{n: frame[n].map(_text) for n in as_text})
    return pa.Table.from_pandas(converted, preserve_index=False), as_text


def _text(value: Any) -> str | None:
    missing = value is None or value is pd.NA or (isinstance(value, float) and value != value)
    return None if missing else str(value)
