"""Nuclio glue of the batch-inference job: one HTTP request runs one job.

``POST {"dataset": "data.parquet", "model": "model.pkl", "feature_columns": [...], "label_columns": [...],
"timestamp_column": "ts", "endpoint_id": null, "job_name": "nightly", "reference": null,
"self_reference": false, "output_path": null, "perform_drift_analysis": false, "base_period_minutes": null,
"drift_period_minutes": null}`` answers the job's result (endpoint, rows, predictions path, reference, and
the drift analysis's stored windows with status names). ``drift_period_minutes`` defaults to the
function's ``MODELMON_BASE_PERIOD``. Bad input is a 400 naming the problem; nothing is written then.

Paths come from whoever can reach the trigger, so they are confined to ``MODELMON_BATCH_ROOT`` (default
``<MODELMON_HOME>/batch``): datasets and references under ``data/``, models (unpickled: code runs) under
``models/``, outputs under ``outputs/``; relative paths are taken there. The trust model is in docs/tracking.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nuclio_sdk

from modelmon.backends import make_backend
from modelmon.batch.inference import BATCH_FUNCTION, batch_infer
from modelmon.batch.inputs import BatchRoot, load_dataset
from modelmon.core.config import Settings
from modelmon.core.errors import NotFound
from modelmon.functions.handling import on_shutdown

_OPTIONS = ("feature_columns", "label_columns", "timestamp_column", "endpoint_id", "job_name", "output_path",
            "perform_drift_analysis", "base_period_minutes", "drift_period_minutes", "self_reference")


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    context.user_data.project = settings.project
    context.user_data.base_period_minutes = settings.base_period_minutes
    context.user_data.root = BatchRoot(Path(settings.batch_root or Path(settings.home) / "batch"))
    context.user_data.backend = backend
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event) -> Any:
    body = event.body
    try:
        if not isinstance(body, dict) or not body.get("dataset") or not body.get("model"):
            raise ValueError("request body must be a JSON object with 'dataset' and 'model' paths")
        unknown = sorted(set(body) - {"dataset", "model", "reference", *_OPTIONS})
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        root: BatchRoot = context.user_data.root
        options = {k: body[k] for k in _OPTIONS if body.get(k) is not None}
        options.setdefault("job_name", BATCH_FUNCTION)
        options.setdefault("drift_period_minutes", context.user_data.base_period_minutes)
        if "output_path" in options:
            options["output_path"] = root.output(options["output_path"])
        reference = load_dataset(root.dataset(body["reference"], "reference")) if body.get("reference") else None
        result = batch_infer(context.user_data.backend, context.user_data.project, root.dataset(body["dataset"]),
                             root.model(body["model"]), reference_data=reference, **options)
    except NotFound as exc:
        return _error(404, str(exc))
    except (ValueError, TypeError, FileNotFoundError) as exc:
        return _error(400, str(exc))
    context.logger.info_with("batch inference recorded", endpoint_id=result.endpoint_id, rows=result.rows,
                             batch_id=result.batch_id)
    return result.to_dict()


def _error(status: int, message: str) -> nuclio_sdk.Response:
    return nuclio_sdk.Response(body={"error": message}, headers={}, content_type="application/json",
                               status_code=status)
