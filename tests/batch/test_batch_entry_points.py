"""The batch-inference job from the command line and as an http function under the local runtime."""

from __future__ import annotations

import http.client
import json
import pickle
from pathlib import Path

import pytest
from batch_data import FEATURES, T0

from modelmon.batch.inference import default_endpoint_id
from modelmon.cli import main
from modelmon.core.results import ResultStatusApp
from modelmon.endpoints.registration import get_model_endpoint
from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.host import FunctionHost
from modelmon.local_nuclio.spec import load_function
from modelmon.local_nuclio.worker import make_logger
from modelmon.queries import list_endpoints

PROJECT = "test"
ROOT = Path(__file__).resolve().parents[2]


def files(tmp_path, iris, model):
    dataset, model_path = tmp_path / "batch.parquet", tmp_path / "model.pkl"
    iris.to_parquet(dataset)
    model_path.write_bytes(pickle.dumps(model))
    return dataset, model_path


def test_cli_batch_infer_prints_the_full_result_as_json(home, iris, model, tmp_path, capsys, backend):
    dataset, model_path = files(tmp_path, iris, model)
    reference = tmp_path / "reference.csv"
    iris.to_csv(reference, index=False)
    code = main(["batch-infer", str(dataset), "--model", str(model_path), "--features", ",".join(FEATURES),
                 "--labels", "species", "--timestamp-column", "ts", "--job-name", "cli-job", "--project", PROJECT,
                 "--home", str(home), "--drift", "--base-period", "10", "--reference", str(reference), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["endpoint_id"] == default_endpoint_id(PROJECT, "cli-job") and summary["rows"] == 150
    assert summary["endpoint_name"] == "cli-job" and summary["reference"] == "reference_data"
    assert summary["watermark_ms"] == T0 + 1_200_000
    windows = summary["drift"]["windows"]
    assert [w["start_ms"] for w in windows] == [T0, T0 + 600_000] and summary["drift"]["period_minutes"] == 10
    assert {r["name"] for r in windows[0]["results"]} == {"general_drift", "drifted_features_share"}
    # iris is sorted by species, so each 10-minute window is a different mix of species than the reference
    statuses = [(r["status"], r["status_code"]) for w in windows for r in w["results"]]
    assert {name for name, _ in statuses} <= {"no_detection", "potential_detection", "detected"}
    assert all(ResultStatusApp[name] == code for name, code in statuses)
    latest = max(windows[-1]["results"], key=lambda r: r["status_code"])
    assert summary["drift_status"] == latest["status"]  # the endpoint's status: its latest window's worst
    assert get_model_endpoint(backend, PROJECT, summary["endpoint_id"]).request_count == 150


def test_cli_batch_infer_bad_column_is_one_line(home, iris, model, tmp_path, capsys):
    dataset, model_path = files(tmp_path, iris, model)
    code = main(["batch-infer", str(dataset), "--model", str(model_path), "--features", "nope",
                 "--project", PROJECT, "--home", str(home)])
    assert code == 1
    assert capsys.readouterr().err.strip() == "modelmon: error: the dataset has no feature column(s) nope"


def post(port, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/", body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def http_function(home, monkeypatch, backend, tmp_path):
    """The batch-inference function under the runtime's host, confined to ``tmp_path / 'root'``."""
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    monkeypatch.setenv("MODELMON_BATCH_ROOT", str(tmp_path / "root"))
    spec = load_function(ROOT / "functions" / "batch_inference" / "function.yaml")
    host = FunctionHost(spec, load_handler(spec), project=PROJECT, logger=make_logger(spec.name))
    host.start()
    try:
        yield host.info()[0]["port"]
    finally:
        host.stop()


def test_http_function_runs_the_job(http_function, iris, model, tmp_path, backend):
    (tmp_path / "root" / "data").mkdir(parents=True)
    (tmp_path / "root" / "models").mkdir()
    dataset, _ = files(tmp_path / "root" / "data", iris, model)
    (tmp_path / "root" / "models" / "model.pkl").write_bytes(pickle.dumps(model))
    status, summary = post(http_function, {"dataset": str(dataset), "model": "model.pkl",  # relative: in models/
                                           "label_columns": ["species"], "feature_columns": FEATURES,
                                           "timestamp_column": "ts", "job_name": "web"})
    assert status == 200 and summary["rows"] == 150
    assert summary["endpoint_id"] == default_endpoint_id(PROJECT, "web")
    status, error = post(http_function, {"dataset": "batch.parquet", "model": "model.pkl", "endpoint_id": "f" * 40})
    assert status == 404 and "has no such model endpoint" in error["error"]
    status, error = post(http_function, {"dataset": "missing.csv", "model": "model.pkl"})
    assert status == 400 and "does not exist" in error["error"]
    samples = backend.samples.read(summary["endpoint_id"], T0, T0 + 3_600_000)
    assert len(samples) == 150
    status, error = post(http_function, {"dataset": "batch.parquet", "model": "model.pkl", "job_name": "web",
                                         "perform_drift_analysis": True})
    assert status == 400 and "endpoint 'web' has no reference data" in error["error"]
    status, summary = post(http_function, {"dataset": "batch.parquet", "model": "model.pkl", "job_name": "web",
                                           "feature_columns": FEATURES, "label_columns": ["species"],
                                           "timestamp_column": "ts", "self_reference": True,
                                           "perform_drift_analysis": True, "base_period_minutes": 10})
    assert status == 200 and summary["reference"] == "self_reference"
    assert [w["start"] for w in summary["drift"]["windows"]] == ["2024-01-01T00:00:00+00:00",
                                                                 "2024-01-01T00:10:00+00:00"]


def test_http_function_uses_no_path_outside_its_root(http_function, iris, model, tmp_path, backend):
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "models").mkdir()
    iris.to_parquet(root / "data" / "batch.parquet")
    outside = tmp_path / "evil.pkl"  # a pickle that would run code when loaded
    outside.write_bytes(pickle.dumps(model))
    (root / "models" / "link.pkl").symlink_to(outside)
    cases = [  # (refused field, request)
        ("model", {"dataset": "batch.parquet", "model": str(outside)}),
        ("model", {"dataset": "batch.parquet", "model": "../../evil.pkl"}),
        ("model", {"dataset": "batch.parquet", "model": "link.pkl"}),  # behind a symbolic link
        ("model", {"dataset": "batch.parquet", "model": "../data/batch.parquet"}),  # a dataset is no model
        ("dataset", {"dataset": "/etc/passwd", "model": "model.pkl"}),
        ("reference", {"dataset": "batch.parquet", "model": "model.pkl", "reference": str(outside)}),
        ("output_path", {"dataset": "batch.parquet", "model": "model.pkl", "output_path": str(tmp_path / "o.pq")}),
    ]
    for field, body in cases:
        status, error = post(http_function, body)
        assert status == 400, body
        assert error["error"].startswith(f"{field} ") and "is outside" in error["error"], error
        assert error["error"].endswith("(MODELMON_BATCH_ROOT): the batch-inference function uses no path outside it")
    assert not (tmp_path / "o.pq").exists()
    assert list_endpoints(backend, PROJECT).empty  # nothing was recorded
