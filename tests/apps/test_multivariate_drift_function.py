"""multivariate-drift deployed: the app function (``apps/handler.py``) with its reference as a parquet path."""

from __future__ import annotations

import json
import pathlib

import nuclio_sdk
import nuclio_sdk.test
import numpy as np
import pandas as pd
import yaml

from apps import handler as app_function
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import WindowEvent, WriterEvent
from modelmon.stats import feature_stats
from modelmon.testing import stream_records

PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
PATHS = ProjectPaths("test")
REPO_FUNCTION = pathlib.Path(__file__).resolve().parents[2] / "apps" / "multivariate-drift" / "function.yaml"


def _rows(rng: np.random.Generator, n: int, rho: float) -> pd.DataFrame:
    x = rng.normal(size=n)
    return pd.DataFrame({"f0": x, "f1": rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n),
                         "f2": rng.normal(size=n)})


def test_the_function_judges_stored_windows_against_a_parquet_reference(backend, home, monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    reference = _rows(rng, 3000, rho=0.8)
    reference.to_parquet(tmp_path / "reference.parquet")
    env = {e["name"]: e.get("value") for e in yaml.safe_load(REPO_FUNCTION.read_text(encoding="utf-8"))["spec"]["env"]}
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    monkeypatch.setenv("MODELMON_APP_NAME", env["MODELMON_APP_NAME"])
    monkeypatch.setenv("MODELMON_APP_CLASS", env["MODELMON_APP_CLASS"])
    monkeypatch.setenv("MODELMON_APP_KWARGS", json.dumps({"reference_data": str(tmp_path / "reference.parquet")}))
    backend.kv.put(PATHS.endpoints_table, "ep1", ModelEndpoint(
        "ep1", name="model-1", feature_names=["f0", "f1", "f2"], feature_stats=feature_stats(reference),
        first_request_ms=T0, last_request_ms=T0 + 2 * PERIOD - 1).to_item())
    windows = [_rows(rng, 400, rho=0.8), _rows(rng, 400, rho=-0.8)]  # the second: correlation flipped
    for k, rows in enumerate(windows):
        rows = rows.assign(timestamp=T0 + k * PERIOD + np.arange(400) * 1000,
                           request_id=[f"r{k}-{i}" for i in range(400)], latency_us=100, p0=0)
        backend.samples.append("ep1", rows, batch_id=f"b{k}")
    platform = nuclio_sdk.test.Platform()

    totals = [platform.call_handler(app_function.handler, nuclio_sdk.Event(body=WindowEvent(
        "test", "ep1", "multivariate-drift", T0 + k * PERIOD, T0 + (k + 1) * PERIOD, "model-1").to_body(),
        shard_id=0, offset=1)) for k in (0, 1)]

    assert totals == [{"windows": 1, "failed": 0, "dead_lettered": 0}] * 2
    out = [WriterEvent.from_body(r.data) for r in stream_records(backend.streams, PATHS.writer_stream)]
    assert [(w.app_name, w.start_ms, w.error) for w in out] == [
        ("multivariate-drift", T0, None), ("multivariate-drift", T0 + PERIOD, None)]
    [same], [flipped] = out[0].results, out[1].results
    assert (same.name, int(same.status), int(flipped.status)) == ("reconstruction_error", 0, 2)
    assert same.extra_data["columns"] == ["f0", "f1", "f2"] and same.extra_data["n_window"] == 400
    assert flipped.extra_data["z"] > 10 and [m.name for m in out[1].metrics] == ["reconstruction_error_z"]
