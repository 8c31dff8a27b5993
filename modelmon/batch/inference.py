"""Batch inference: predict a dataset, store the predictions, and record the rows into monitoring.

The rows go straight into an endpoint's sample store (one idempotent batch), and the batch is counted
into the endpoint record once, as the stream function counts a record (:meth:`EndpointStore.count`):
``first/last_request_ms``, ``request_count`` and ``watermark_ms`` move in one compare-and-set update, so
the controller analyses the batch's windows on its next run, and re-running a batch id counts nothing.
Everything is checked and predicted before anything is written: bad inputs raise and leave no trace.

The reference a drift analysis compares with is always explicit: the endpoint's registered one,
``reference_data``, or the batch itself with ``self_reference=True`` (its own drift is then 0 by
construction). A new endpoint gets none otherwise, and asking for drift without any is an error.
``perform_drift_analysis`` stores the batch's windows' results like the controller's (:mod:`.drift`).
"""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelmon.backends.base import Backend
from modelmon.batch.drift import BatchDrift, analyse_batch, feature_table
from modelmon.batch.inputs import load_dataset, load_model
from modelmon.batch.reference import Reference, check_reference_options, no_reference_message, reference_source
from modelmon.core.arrays import IntArray
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths, check_name
from modelmon.core.results import ResultStatusApp
from modelmon.core.timeutil import iso, now_ms
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.endpoints.store import EndpointStore, JobBatch
from modelmon.events import endpoint_uid
from modelmon.stream.aggregate import PREDICTION_LABELS, Totals, predictions_frame

#: The function batch jobs are recorded under (the default endpoint id hashes it with the job name).
BATCH_FUNCTION = "batch-inference"


@dataclasses.dataclass
class BatchInferenceResult:
    """What a batch-inference run did; ``drift`` is what its drift analysis stored (``None`` without one)."""

    endpoint_id: str
    endpoint_name: str
    batch_id: str
    rows: int
    predictions_path: str  # object-store path (or the file written when output_path was given)
    first_ms: int
    last_ms: int
    watermark_ms: int
    reference: Reference  # what drift is measured against
    drift: BatchDrift | None = None
    drift_status: str | None = None  # the endpoint's drift status after the analysis

    @property
    def drift_results(self) -> pd.DataFrame | None:
        """One row per analysed window and result or metric (status as name and number)."""
        return self.drift.results() if self.drift is not None else None

    @property
    def drift_table(self) -> pd.DataFrame | None:
        """One row per analysed window and feature: distances, score, threshold and whether it drifted."""
        return feature_table(self.drift) if self.drift is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The full JSON-ready result (for ``--json`` and the http function): statuses by name."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "drift"}
        out |= {"first": iso(self.first_ms), "last": iso(self.last_ms)}
        if self.drift is not None:
            out["drift"] = json.loads(json.dumps(self.drift.to_dict(), default=_json_default))
        return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def default_endpoint_id(project: str, job_name: str) -> str:
    """The endpoint a job without ``endpoint_id`` records into: stable per project and job name."""
    return endpoint_uid(project, f"{project}/{BATCH_FUNCTION}", job_name, None)


def batch_infer(
    backend: Backend,
    project: str,
    dataset: pd.DataFrame | str | Path,
    model: Any,
    *,
    feature_columns: Sequence[str] | None = None,
    label_columns: Sequence[str] | None = None,
    timestamp_column: str | None = None,
    endpoint_id: str | None = None,
    job_name: str = BATCH_FUNCTION,
    reference_data: pd.DataFrame | None = None,
    self_reference: bool = False,
    output_path: str | Path | None = None,
    perform_drift_analysis: bool = False,
    base_period_minutes: int | None = None,
    drift_period_minutes: int | None = None,
    batch_id: str | None = None,
) -> BatchInferenceResult:
    """Predict ``dataset`` with ``model`` and record the rows into monitoring.

    ``model``: a callable or an object with ``predict`` (given the feature columns as a DataFrame), or
    the path of a pickle/joblib file holding one. ``label_columns`` name the model's outputs (the
    endpoint's ``label_names``, default ``["prediction"]``); a dataset column of that name is the ground
    truth and is kept as ``label`` (``<name>_label`` for several outputs). ``timestamp_column`` gives
    each row's event time (default: now). ``base_period_minutes``: close the window holding the last
    row at once (the batch is complete) instead of after the controller's grace period.

    Without ``endpoint_id`` the rows go to the job's own endpoint: ``reference_data`` (the training set,
    say) registers its reference; ``self_reference=True`` registers this batch as the reference instead.
    ``perform_drift_analysis``: run ``histogram-data-drift`` on the batch's closed windows of
    ``drift_period_minutes`` (default ``base_period_minutes``; the controller's base period) and store
    the results; an endpoint without a reference is then an error, raised before anything is written.
    """
    check_name(job_name, "job_name")
    check_reference_options(endpoint_id, reference_data, self_reference)
    drift_period = drift_period_minutes or base_period_minutes
    if perform_drift_analysis and drift_period is None:
        raise ValueError("perform_drift_analysis needs the windows' length: pass drift_period_minutes (the "
                         "controller's base period) or base_period_minutes")
    frame = load_dataset(dataset)
    store = EndpointStore(backend.kv, project)
    target = _existing_endpoint(store, endpoint_id) if endpoint_id is not None else None
    existing = target if target is not None else store.get(default_endpoint_id(project, job_name))
    reference = reference_source(existing, reference_data, self_reference)
    if perform_drift_analysis and reference == Reference.NONE:
        raise ValueError(no_reference_message(existing.name if existing is not None else job_name))
    outputs = list(label_columns or (target.label_names if target is not None else None) or ["prediction"])
    if feature_columns is None and target is not None and target.feature_names:
        feature_columns = target.feature_names
    features = _feature_columns(frame, feature_columns, outputs, timestamp_column)
    predictor = load_model(model)
    times = _event_times(frame, timestamp_column)
    predictions = _predict(predictor, frame[features], outputs)
    samples = _sample_rows(frame, features, outputs, predictions, times, batch_id := batch_id or uuid.uuid4().hex)
    if target is None:
        reference_frame = reference_data if reference_data is not None else frame if self_reference else None
        target = _default_endpoint(backend, store, job_name, features, outputs, existing, reference_frame)
    backend.samples.append(target.endpoint_id, samples, batch_id)
    _count_predictions(backend, project, target.endpoint_id, batch_id, times)
    predictions_path = _write_predictions(backend, project, job_name, batch_id, samples, output_path)
    first, last = int(times.min()), int(times.max())
    watermark = last + 1
    if base_period_minutes is not None:
        period = base_period_minutes * 60_000
        watermark = -(-watermark // period) * period
    counts = Totals(requests=len(samples), errors=0, latency_sum_us=0.0, first_ms=first, last_ms=last)
    store.count(target.endpoint_id, JobBatch(batch_id), counts, watermark, (features, outputs))
    result = BatchInferenceResult(target.endpoint_id, target.name, batch_id, len(samples), predictions_path, first,
                                  last, watermark, reference)
    if perform_drift_analysis:
        assert drift_period is not None  # checked above
        result.drift = analyse_batch(backend, _existing_endpoint(store, target.endpoint_id), times, drift_period)
        status = _existing_endpoint(store, target.endpoint_id).drift_status
        result.drift_status = ResultStatusApp(status).name
    return result


def _existing_endpoint(store: EndpointStore, endpoint_id: str) -> ModelEndpoint:
    endpoint = store.get(endpoint_id)
    if endpoint is None:
        raise NotFound(f"endpoint_id {endpoint_id!r}: project {store.paths.project!r} has no such model endpoint")
    return endpoint


def _feature_columns(frame: pd.DataFrame, given: Sequence[str] | None, outputs: list[str],
                     timestamp_column: str | None) -> list[str]:
    if timestamp_column is not None and timestamp_column not in frame.columns:
        raise ValueError(f"timestamp_column {timestamp_column!r} is not a column of the dataset")
    if given is None:
        features = [str(c) for c in frame.columns if c not in outputs and c != timestamp_column]
    else:
        if isinstance(given, str):
            raise ValueError("feature_columns must be a list of column names")
        features = list(given)
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise ValueError(f"the dataset has no feature column(s) {', '.join(map(str, missing))}")
    if not features:
        raise ValueError("no feature columns: the dataset has only label/timestamp columns")
    clash = set(features) & {*outputs, "timestamp", "request_id", "latency_us", "label"}
    if clash:
        raise ValueError(f"feature column(s) {', '.join(sorted(clash))} clash with output or bookkeeping columns")
    return features


def _event_times(frame: pd.DataFrame, column: str | None) -> IntArray:
    """Epoch ms per row: the timestamp column (epoch ms numbers, datetimes or ISO text) or now."""
    if column is None:
        return np.full(len(frame), now_ms(), dtype=np.int64)
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        if values.isna().any():
            raise ValueError(f"timestamp_column {column!r} has missing values")
        return values.to_numpy().astype(np.int64)
    try:
        times = pd.to_datetime(values, utc=True, format="ISO8601" if values.dtype == object else None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"timestamp_column {column!r} is neither epoch ms nor datetimes ({exc})") from None
    if times.isna().any():
        raise ValueError(f"timestamp_column {column!r} has missing values")
    return ((times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy().astype(np.int64)


def _predict(predict: Callable[[pd.DataFrame], Any], features: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    try:
        raw = predict(features)
    except Exception as exc:
        raise ValueError(f"the model failed to predict: {type(exc).__name__}: {exc}") from exc
    if isinstance(raw, pd.DataFrame):
        values = raw.to_numpy()
    else:
        values = np.asarray(raw)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2 or values.shape[0] != len(features) or values.shape[1] != len(outputs):
        raise ValueError(f"the model returned shape {values.shape}; expected ({len(features)}, {len(outputs)}) "
                         f"for outputs {outputs}")
    return pd.DataFrame(values, columns=outputs)


def _sample_rows(frame: pd.DataFrame, features: list[str], outputs: list[str], predictions: pd.DataFrame,
                 times: IntArray, batch_id: str) -> pd.DataFrame:
    """The sample-store rows: timestamp, request_id, latency_us, features, predictions, ground truth."""
    rows = pd.DataFrame({
        "timestamp": times,
        "request_id": pd.Series(np.arange(len(frame)).astype(str), dtype=object).radd(f"{batch_id}-"),
        "latency_us": np.full(len(frame), np.nan),
    })
    if len(outputs) == 1:
        truth = {"label": outputs[0]} if outputs[0] in frame.columns else {}
    else:
        truth = {f"{name}_label": name for name in outputs if name in frame.columns}
    parts = [rows, frame[features].reset_index(drop=True), predictions,
             frame[list(truth.values())].set_axis(list(truth), axis=1) if truth else None]
    return pd.concat([p for p in parts if p is not None], axis=1)


def _write_predictions(backend: Backend, project: str, job_name: str, batch_id: str, samples: pd.DataFrame,
                       output_path: str | Path | None) -> str:
    if output_path is not None:
        path = Path(output_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        samples.to_parquet(path, index=False)
        return str(path)
    buffer = io.BytesIO()
    samples.to_parquet(buffer, index=False)
    key = f"{ProjectPaths(project).artifacts_prefix}/batch-inference/{job_name}/{batch_id}.parquet"
    backend.objects.put_object(key, buffer.getvalue())
    return key


def _default_endpoint(backend: Backend, store: EndpointStore, job_name: str, features: list[str],
                      outputs: list[str], existing: ModelEndpoint | None,
                      reference: pd.DataFrame | None) -> ModelEndpoint:
    """The job's own endpoint: created on first use (with ``reference`` if any), re-registered when given one."""
    if existing is not None and reference is None:
        return existing
    project = store.paths.project
    return register_model_endpoint(backend, project, job_name, function_uri=f"{project}/{BATCH_FUNCTION}",
                                   reference_data=reference, feature_names=features, label_names=outputs,
                                   model_class="batch-inference")


def _count_predictions(backend: Backend, project: str, endpoint_id: str, batch_id: str, times: IntArray) -> None:
    """Per-minute request counts in the predictions TSDB, as the stream function writes them: the
    controller dispatches only windows that hold requests."""
    table = ProjectPaths(project).predictions_tsdb
    backend.tsdb.create_table(table)
    frame = predictions_frame(endpoint_id, batch_id, times, np.full(len(times), np.nan), np.zeros(len(times), bool))
    backend.tsdb.write(table, frame, labels=list(PREDICTION_LABELS))
