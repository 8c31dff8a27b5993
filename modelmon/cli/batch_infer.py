"""``modelmon batch-infer``: predict a parquet/CSV dataset with a pickled model and record it into monitoring."""

from __future__ import annotations

import argparse
import json
import os
import shlex
from typing import Any

from modelmon.backends import make_backend
from modelmon.batch.inference import BATCH_FUNCTION, batch_infer
from modelmon.batch.inputs import load_dataset
from modelmon.batch.summary import render_summary
from modelmon.core.config import Settings


def register(subparsers: Any) -> None:
    """Add the ``batch-infer`` sub-command."""
    parser = subparsers.add_parser(
        "batch-infer", help="predict a dataset and record it into model monitoring",
        description="Predict a parquet/CSV dataset with a pickled model, record the rows into a model endpoint "
                    "(the job's own, or --endpoint-id) and print a short summary. With --drift, run "
                    "histogram-data-drift on the batch's windows now and store the results like the "
                    "controller's (modelmon results shows them).",
    )
    parser.add_argument("dataset", help="parquet or CSV file to predict")
    parser.add_argument("--model", required=True, help="pickle/joblib file of a model with predict()")
    parser.add_argument("--features", help="comma-separated feature columns (default: all but labels/timestamp)")
    parser.add_argument("--labels", help="comma-separated output (label) columns (default: prediction)")
    parser.add_argument("--timestamp-column", help="column with each row's event time (default: now)")
    parser.add_argument("--endpoint-id", help="record into this existing endpoint")
    parser.add_argument("--job-name", default=BATCH_FUNCTION, help="names the default endpoint (same name, same one)")
    reference = parser.add_mutually_exclusive_group()
    reference.add_argument("--reference", metavar="FILE",
                           help="parquet/CSV reference dataset (e.g. the training set) for the job's endpoint")
    reference.add_argument("--self-reference", action="store_true",
                           help="make this batch the job's endpoint's reference (its own drift is then 0)")
    parser.add_argument("--output", help="write the predictions to this parquet file (default: the object store)")
    parser.add_argument("--drift", action="store_true",
                        help="run histogram-data-drift on the batch's windows now and store the results")
    parser.add_argument("--base-period", type=int, metavar="MINUTES",
                        help="window length; the batch's last window is closed at once (default for the job's "
                             "endpoint: the project's base period, MODELMON_BASE_PERIOD; none with --endpoint-id)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON (statuses by name)")
    parser.add_argument("--project", help="project (default: MODELMON_PROJECT or 'default')")
    parser.add_argument("--home", help="local backend directory (default: MODELMON_HOME or .modelmon)")
    parser.set_defaults(func=run)


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def run(args: argparse.Namespace) -> int:
    """Run the job and print its summary (or the full result as JSON); exit code 0."""
    overrides = {k: v for k, v in (("home", args.home), ("project", args.project)) if v}
    settings = Settings.from_env(os.environ, **overrides)
    if args.base_period is not None and args.base_period < 1:
        raise ValueError(f"--base-period {args.base_period}: must be at least 1 minute")
    base_period = args.base_period
    if base_period is None and args.endpoint_id is None:
        base_period = settings.base_period_minutes  # the job's own endpoint: the batch is complete
    reference = load_dataset(args.reference) if args.reference else None
    backend = make_backend(settings)
    try:
        result = batch_infer(
            backend, settings.project, args.dataset, args.model, feature_columns=_columns(args.features),
            label_columns=_columns(args.labels), timestamp_column=args.timestamp_column,
            endpoint_id=args.endpoint_id, job_name=args.job_name, reference_data=reference,
            self_reference=args.self_reference, output_path=args.output, perform_drift_analysis=args.drift,
            base_period_minutes=base_period, drift_period_minutes=args.base_period or settings.base_period_minutes,
        )
    finally:
        backend.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(render_summary(result))
    if settings.backend == "local":
        where = f"--home {shlex.quote(settings.home)} --project {shlex.quote(settings.project)}"
        print(f"stored results: modelmon results {where} --endpoint {result.endpoint_id} --history")
    return 0
