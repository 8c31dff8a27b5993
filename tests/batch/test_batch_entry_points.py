"""The batch-inference job from the command line and as an http function under the local runtime."""

from __future__ import annotations

import http.client
import json
import pickle
from pathlib import Path

from batch_data import FEATURES, T0

from modelmon.batch.inference import default_endpoint_id
from modelmon.cli import main
from modelmon.endpoints.registration import get_model_endpoint
from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.host import FunctionHost
from modelmon.local_nuclio.spec import load_function
from modelmon.local_nuclio.worker import make_logger

PROJECT = "test"
ROOT = Path(__file__).resolve().parents[2]


def files(tmp_path, iris, model):
    dataset, model_path = tmp_path / "batch.parquet", tmp_path / "model.pkl"
    iris.to_parquet(dataset)
    model_path.write_bytes(pickle.dumps(model))
    return dataset, model_path


def test_cli_batch_infer_prints_the_summary(home, iris, model, tmp_path, capsys, backend):
    dataset, model_path = files(tmp_path, iris, model)
    code = main(["batch-infer", str(dataset), "--model", str(model_path), "--features", ",".join(FEATURES),
                 "--labels", "species", "--timestamp-column", "ts", "--job-name", "cli-job", "--project", PROJECT,
                 "--home", str(home), "--drift", "--base-period", "10"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["endpoint_id"] == default_endpoint_id(PROJECT, "cli-job") and summary["rows"] == 150
    assert summary["watermark_ms"] == T0 + 1_200_000
    assert {r["name"] for r in summary["drift_results"]} >= {"general_drift"}
    assert get_model_endpoint(backend, PROJECT, summary["endpoint_id"]).request_count == 150


def test_cli_batch_infer_bad_column_is_one_line(home, iris, model, tmp_path, capsys):
    dataset, model_path = files(tmp_path, iris, model)
    code = main(["batch-infer", str(dataset), "--model", str(model_path), "--features", "nope",
                 "--project", PROJECT, "--home", str(home)])
    assert code == 2
    assert capsys.readouterr().err.strip() == "modelmon: error: the dataset has no feature column(s) nope"


def post(port, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/", body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_http_function_runs_the_job(home, iris, model, tmp_path, monkeypatch, backend):
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    dataset, model_path = files(tmp_path, iris, model)
    spec = load_function(ROOT / "functions" / "batch_inference" / "function.yaml")
    host = FunctionHost(spec, load_handler(spec), project=PROJECT, logger=make_logger(spec.name))
    host.start()
    try:
        port = host.info()[0]["port"]
        status, summary = post(port, {"dataset": str(dataset), "model": str(model_path), "label_columns": ["species"],
                                      "feature_columns": FEATURES, "timestamp_column": "ts", "job_name": "web"})
        assert status == 200 and summary["rows"] == 150
        assert summary["endpoint_id"] == default_endpoint_id(PROJECT, "web")
        status, error = post(port, {"dataset": str(dataset), "model": str(model_path), "endpoint_id": "f" * 40})
        assert status == 404 and "has no such model endpoint" in error["error"]
        status, error = post(port, {"dataset": str(tmp_path / "missing.csv"), "model": str(model_path)})
        assert status == 400 and "does not exist" in error["error"]
    finally:
        host.stop()
    samples = backend.samples.read(summary["endpoint_id"], T0, T0 + 3_600_000)
    assert len(samples) == 150
