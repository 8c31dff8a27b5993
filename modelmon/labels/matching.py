"""Ground-truth labels: logged to the labels stream, joined to stored predictions by request id.

Labels may arrive hours late and out of order. The labels function (``functions/labels/``) looks up
each labelled request's prediction in the endpoint's sample store and stores the matched labels under
the prediction's event time, in the sample store area ``<endpoint_id>.labels`` (one idempotent batch
per labels record), so a window's labels are one time-range read (:func:`load_window_labels`).
Labels whose prediction is not (yet) stored are kept in KV ``labels_table`` (one item per record,
counted) and matched later: by the function's periodic :func:`rematch_pending` and, meanwhile, by
:func:`load_window_labels` itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelmon.backends.base import MAX_RECORD_BYTES, Backend, Cond, OutRecord, scan_all
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import TimeLike, now_ms, to_ms
from modelmon.endpoints.registration import get_model_endpoint
from modelmon.events import LabelsEvent

LOOKBACK_MS = 3 * 24 * 3_600_000  # how far before a label its prediction is searched for
SKEW_MS = 60_000  # clock skew allowed between the model server and the labeller
CHUNK = 5_000  # labels per stream record
LABEL_TIME = "label_time_ms"


def labels_key(endpoint_id: str) -> str:
    """The sample-store area of an endpoint's matched labels."""
    return f"{endpoint_id}.labels"


@dataclasses.dataclass(frozen=True)
class LabelsReport:
    endpoint_id: str
    matched: int
    unmatched: int


def log_labels(
    backend: Backend,
    project: str,
    endpoint: str,
    request_ids: Sequence[str],
    labels: Sequence[Any] | Mapping[str, Sequence[Any]] | pd.DataFrame,
    timestamps: Sequence[TimeLike] | None = None,
    *,
    clock: Callable[[], int] = now_ms,
) -> int:
    """Send ground truth for ``request_ids`` of ``endpoint`` (id or name) to the labels stream.

    ``labels``: one value per request (stored as column ``label``, the model-performance app's default),
    or columns by name (a mapping or DataFrame). ``timestamps``: when the labelled predictions were made,
    if known (they narrow the search). Returns the number of labels sent.
    """
    endpoint_id = get_model_endpoint(backend, project, endpoint).endpoint_id
    ids = [str(i) for i in request_ids] if not isinstance(request_ids, str) else None
    if not ids or not all(ids):
        raise ValueError("request_ids must be a non-empty list of request ids")
    columns = _label_columns(labels, len(ids))
    hints = None if timestamps is None else [to_ms(t) for t in timestamps]
    if hints is not None and len(hints) != len(ids):
        raise ValueError(f"timestamps has {len(hints)} entries for {len(ids)} request ids")
    names = list(columns)
    rows = [list(row) for row in zip(*columns.values(), strict=True)]
    logged = clock()

    def bodies(start: int, end: int) -> list[bytes]:
        """``[start, end)`` as labels messages that each fit a stream record (halved until they do)."""
        body = LabelsEvent(endpoint_id, names, ids[start:end], rows[start:end], [logged] * (end - start),
                           hints[start:end] if hints else None).to_body()
        if len(body) <= MAX_RECORD_BYTES:
            return [body]
        if end - start == 1:
            raise ValueError(f"the label of request {ids[start]!r} makes a message of {len(body):,} bytes; "
                             f"a stream record holds at most {MAX_RECORD_BYTES:,}")
        middle = (start + end) // 2
        return bodies(start, middle) + bodies(middle, end)

    records = [OutRecord(body, partition_key=endpoint_id)
               for i in range(0, len(ids), CHUNK) for body in bodies(i, min(i + CHUNK, len(ids)))]
    stream = ProjectPaths(project).labels_stream
    try:
        backend.streams.put_records(stream, records)
    except NotFound:
        backend.streams.create(stream)
        backend.streams.put_records(stream, records)
    return len(ids)


def _label_columns(labels: Any, count: int) -> dict[str, list[Any]]:
    if isinstance(labels, pd.DataFrame):
        columns = {str(c): labels[c].tolist() for c in labels.columns}
    elif isinstance(labels, Mapping):
        columns = {str(k): list(v) for k, v in labels.items()}
    elif isinstance(labels, Sequence | np.ndarray) and not isinstance(labels, str):
        columns = {"label": list(labels)}
    else:
        raise TypeError(f"labels must be a list of values, a mapping of columns or a DataFrame, "
                        f"got {type(labels).__name__}")
    if not columns:
        raise ValueError("labels has no columns")
    for name, values in columns.items():
        if len(values) != count:
            raise ValueError(f"labels column {name!r} has {len(values)} values for {count} request ids")
        columns[name] = [v.item() if isinstance(v, np.generic) else v for v in values]
        bad = [v for v in columns[name] if not (v is None or isinstance(v, str | int | float))]
        if bad:
            raise ValueError(f"labels column {name!r}: values must be numbers or text, got {type(bad[0]).__name__}")
    return columns


# --------------------------------------------------------------------------------- consumer side


def handle_labels_record(backend: Backend, project: str, body: bytes | str | dict[str, Any], batch_id: str, *,
                         lookback_ms: int = LOOKBACK_MS) -> LabelsReport:
    """Join one labels record to stored predictions; store matched labels, keep the rest pending.

    Idempotent per ``batch_id`` (the record's stream position): a redelivered record rewrites the
    same batch and the same pending item. Raises :class:`~modelmon.core.errors.InvalidEvent` for bad input.
    """
    event = LabelsEvent.from_body(body)
    frame = _frame(event)
    if event.prediction_ms:
        start, end = min(event.prediction_ms) - SKEW_MS, max(event.prediction_ms) + SKEW_MS
    else:
        start, end = min(event.logged_ms) - lookback_ms, max(event.logged_ms) + SKEW_MS
    matched, unmatched = _match(backend, event.endpoint_id, frame, start, end)
    paths = ProjectPaths(project)
    backend.samples.append(labels_key(event.endpoint_id), matched, batch_id)
    key = f"{event.endpoint_id}.{batch_id}"
    if len(unmatched):
        backend.kv.put(paths.labels_table, key, _pending_item(event.endpoint_id, unmatched, start))
    else:
        backend.kv.delete(paths.labels_table, key)
    return LabelsReport(event.endpoint_id, len(matched), len(unmatched))


def _frame(event: LabelsEvent) -> pd.DataFrame:
    frame = pd.DataFrame(event.values, columns=event.label_names)
    frame.insert(0, "request_id", pd.Series(event.request_ids, dtype=object))
    frame[LABEL_TIME] = np.asarray(event.logged_ms, dtype=np.int64)
    return frame


def _match(backend: Backend, endpoint_id: str, labels: pd.DataFrame, start: int, end: int
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(matched rows with the prediction's timestamp, unmatched rows)``; the latest label of a request wins."""
    labels = labels.sort_values(LABEL_TIME, kind="stable").drop_duplicates("request_id", keep="last")
    stored = backend.samples.read(endpoint_id, start, end, columns=["request_id"])
    stored = stored.drop_duplicates("request_id", keep="last")
    joined = labels.merge(stored, on="request_id", how="left")
    found = joined["timestamp"].notna().to_numpy()
    matched = joined[found].astype({"timestamp": np.int64})
    matched = matched[["timestamp", *[c for c in labels.columns]]].reset_index(drop=True)
    return matched, labels[~found].reset_index(drop=True)


def _pending_item(endpoint_id: str, unmatched: pd.DataFrame, search_start_ms: int) -> dict[str, Any]:
    return {"endpoint_id": endpoint_id, "count": len(unmatched), "search_start_ms": int(search_start_ms),
            "rows": unmatched.to_json(orient="split", index=False)}


def _pending_rows(item: Mapping[str, Any]) -> pd.DataFrame:
    data = json.loads(item["rows"])
    frame = pd.DataFrame(data["data"], columns=data["columns"])
    frame["request_id"] = frame["request_id"].astype(str)
    return frame.astype({LABEL_TIME: np.int64})


def rematch_pending(backend: Backend, project: str, *, clock: Callable[[], int] = now_ms) -> LabelsReport | None:
    """Match pending labels whose predictions arrived since; ``None`` if nothing is pending.

    The matched part of each pending item is stored as its own batch (named after the item and the ids,
    so a retry rewrites it) before the item shrinks or goes.
    """
    table = ProjectPaths(project).labels_table
    matched_total = unmatched_total = 0
    seen = False
    for key, item in list(scan_all(backend.kv, table)):
        seen = True
        endpoint_id = item["endpoint_id"]
        rows = _pending_rows(item)
        matched, unmatched = _match(backend, endpoint_id, rows, int(item["search_start_ms"]), clock() + SKEW_MS)
        if len(matched):
            digest = hashlib.sha1("\n".join(matched["request_id"]).encode()).hexdigest()[:16]
            backend.samples.append(labels_key(endpoint_id), matched, f"{key}-{digest}")
            if len(unmatched):
                backend.kv.put(table, key, _pending_item(endpoint_id, unmatched, int(item["search_start_ms"])))
            else:
                backend.kv.delete(table, key)
        matched_total += len(matched)
        unmatched_total += len(unmatched)
    return LabelsReport("*", matched_total, unmatched_total) if seen else None


def load_window_labels(backend: Backend, project: str, endpoint_id: str, start_ms: int, end_ms: int) -> pd.DataFrame:
    """``request_id`` + label columns for the predictions of ``endpoint_id`` in ``[start_ms, end_ms)``.

    The model-performance app's ``labels_df``. Pending labels (prediction not matched yet) are joined
    here too, against the window's request ids.
    """
    stored = backend.samples.read(labels_key(endpoint_id), start_ms, end_ms)
    pending = [_pending_rows(i) for _, i in scan_all(backend.kv, ProjectPaths(project).labels_table,
                                                      [Cond.eq("endpoint_id", endpoint_id)])]
    frames = [stored.drop(columns=["timestamp"])] if len(stored) else []
    if pending:
        window_ids = backend.samples.read(endpoint_id, start_ms, end_ms, columns=["request_id"])["request_id"]
        late = pd.concat(pending, ignore_index=True)
        frames.append(late[late["request_id"].isin(set(window_ids))])
    if not frames:
        return pd.DataFrame({"request_id": pd.Series(dtype=object)})
    labels = pd.concat(frames, ignore_index=True)
    labels = labels.sort_values(LABEL_TIME, kind="stable").drop_duplicates("request_id", keep="last")
    return labels.drop(columns=[LABEL_TIME]).reset_index(drop=True)


def label_counts(backend: Backend, project: str, endpoint_id: str) -> dict[str, int]:
    """How many labels of ``endpoint_id`` are matched to a prediction and how many are pending."""
    matched = backend.samples.read(labels_key(endpoint_id), 0, 2**62, columns=["request_id"])
    pending = sum(int(i["count"]) for _, i in scan_all(backend.kv, ProjectPaths(project).labels_table,
                                                        [Cond.eq("endpoint_id", endpoint_id)]))
    return {"matched": int(matched["request_id"].nunique()), "pending": pending}
