"""multivariate-drift deployed without kwargs judges each endpoint against the rows kept when the endpoint was
registered with reference_data: fitted once per endpoint and reference, through the app function and runner."""

from __future__ import annotations

import pathlib
from typing import Any

import nuclio_sdk
import nuclio_sdk.test
import numpy as np
import pandas as pd
import yaml

from apps import handler as app_function
from modelmon.apps.builtin import MultivariateDriftApplication
from modelmon.apps.runner import AppRunner
from modelmon.apps.sdk import MonitoringApplicationContext
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WindowEvent, WriterEvent
from modelmon.testing import ManualClock, stream_records

PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
PROJECT = "test"
PATHS = ProjectPaths(PROJECT)
APP = "multivariate-drift"
REPO_FUNCTION = pathlib.Path(__file__).resolve().parents[2] / "apps" / "multivariate-drift" / "function.yaml"


class CountingFits(MultivariateDriftApplication):
    """The app as deployed, noting the size of each reference it fits."""

    def __init__(self) -> None:
        super().__init__()
        self.fits: list[int] = []

    def _fit_registered(self, rows: pd.DataFrame, context: MonitoringApplicationContext) -> Any:
        self.fits.append(len(rows))
        return super()._fit_registered(rows, context)


def _rows(rng: np.random.Generator, n: int, rho: float) -> pd.DataFrame:
    """f0, f1 standard normal with correlation ``rho`` (marginals the same whatever rho), f2 independent."""
    x = rng.normal(size=n)
    return pd.DataFrame({"f0": x, "f1": rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n),
                         "f2": rng.normal(size=n)})


def _store_windows(backend, endpoint_id: str, windows: list[pd.DataFrame]) -> None:
    for k, rows in enumerate(windows):
        n = len(rows)
        rows = rows.assign(timestamp=T0 + k * PERIOD + np.arange(n) * 1000, request_id=[f"r{k}-{i}" for i in range(n)],
                           latency_us=100, p0=rows["f0"] > 0)
        backend.samples.append(endpoint_id, rows, batch_id=f"{endpoint_id}-b{k}")


def _window(endpoint_id: str, k: int) -> WindowEvent:
    return WindowEvent(PROJECT, endpoint_id, APP, T0 + k * PERIOD, T0 + (k + 1) * PERIOD, endpoint_id)


def test_the_function_without_kwargs_uses_the_registered_rows(backend, monkeypatch):
    rng = np.random.default_rng(0)
    reference = _rows(rng, 25_000, rho=0.8).assign(label=rng.integers(0, 2, 25_000), p0=False)
    endpoint = register_model_endpoint(backend, PROJECT, "model-1", reference_data=reference, label_names=["label"],
                                       feature_names=["f0", "f1", "f2"])
    _store_windows(backend, endpoint.endpoint_id, [_rows(rng, 400, rho=0.8), _rows(rng, 400, rho=-0.8)])
    env = {e["name"]: e.get("value") for e in yaml.safe_load(REPO_FUNCTION.read_text(encoding="utf-8"))["spec"]["env"]}
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    monkeypatch.setenv("MODELMON_APP_NAME", env["MODELMON_APP_NAME"])
    monkeypatch.setenv("MODELMON_APP_CLASS", env["MODELMON_APP_CLASS"])
    monkeypatch.setenv("MODELMON_APP_KWARGS", "{}")
    platform = nuclio_sdk.test.Platform()

    totals = [platform.call_handler(app_function.handler, nuclio_sdk.Event(
        body=_window(endpoint.endpoint_id, k).to_body(), shard_id=0, offset=k)) for k in (0, 1)]

    assert totals == [{"windows": 1, "failed": 0, "dead_lettered": 0}] * 2
    out = [WriterEvent.from_body(r.data) for r in stream_records(backend.streams, PATHS.writer_stream)]
    [same], [flipped] = out[0].results, out[1].results
    assert (same.name, int(same.status), int(flipped.status)) == ("reconstruction_error", 0, 2)
    # the endpoint's features only: its label and prediction columns are in the rows but not inputs
    assert same.extra_data["columns"] == ["f0", "f1", "f2"] and same.extra_data["reference"] == "endpoint"
    # the 20,000 rows registration kept of the 25,000
    assert (same.extra_data["n_reference"], same.extra_data["reference_rows_total"]) == (20_000, 25_000)
    assert flipped.extra_data["z"] > 10


def test_one_fit_per_endpoint_and_reference_and_a_new_reference_is_picked_up(backend):
    rng = np.random.default_rng(1)
    positive = register_model_endpoint(backend, PROJECT, "positive", reference_data=_rows(rng, 2000, rho=0.8))
    negative = register_model_endpoint(backend, PROJECT, "negative", reference_data=_rows(rng, 2000, rho=-0.8))
    stats_only = register_model_endpoint(backend, PROJECT, "stats-only", feature_stats=positive.feature_stats)
    windows = [_rows(rng, 300, rho=0.8) for _ in range(3)]
    for endpoint in (positive, negative, stats_only):
        _store_windows(backend, endpoint.endpoint_id, windows)
    app = CountingFits()
    fits = app.fits
    clock = ManualClock(T0 + 10 * PERIOD)
    runner = AppRunner(app, APP, backend, PATHS, clock=clock)

    statuses = {e.name: [int(runner.analyse(_window(e.endpoint_id, k)).results[0].status) for k in range(3)]
                for e in (positive, negative, stats_only)}

    # rho=0.8 windows: as the positive reference, flipped for the negative one; no rows, no judgement
    assert statuses == {"positive": [0, 0, 0], "negative": [2, 2, 2], "stats-only": [-1, -1, -1]}
    assert fits == [2000, 2000]  # one fit per endpoint for its three windows
    assert runner.reference_rows.reads == 3  # the rows object of each endpoint read once ("none" included)
    assert app._references.cached_endpoints() == [positive.endpoint_id, negative.endpoint_id]

    # registered again with a positive reference, the negative endpoint's windows are no longer drift
    register_model_endpoint(backend, PROJECT, "negative", reference_data=_rows(rng, 1500, rho=0.8))
    assert int(runner.analyse(_window(negative.endpoint_id, 0)).results[0].status) == 0
    assert fits == [2000, 2000, 1500] and runner.reference_rows.reads == 4
    # an endpoint without rows is asked again only after a minute (rows may be registered later)
    runner.analyse(_window(stats_only.endpoint_id, 0))
    assert runner.reference_rows.reads == 4
    clock.advance(60_000)
    runner.analyse(_window(stats_only.endpoint_id, 0))
    assert runner.reference_rows.reads == 5


def test_evaluate_on_stored_traffic_uses_the_endpoints_registered_rows(backend, home):
    rng = np.random.default_rng(2)
    endpoint = register_model_endpoint(backend, PROJECT, "model-1", reference_data=_rows(rng, 2000, rho=0.8))
    _store_windows(backend, endpoint.endpoint_id, [_rows(rng, 300, rho=0.8), _rows(rng, 300, rho=-0.8)])
    got = MultivariateDriftApplication.evaluate(endpoints=["model-1"], start=T0, end=T0 + 2 * PERIOD,
                                                base_period=PERIOD // 60_000, project=PROJECT)
    results = got.query("type == 'result'")
    assert list(results["status_name"]) == ["no_detection", "detected"]
    assert {e["reference"] for e in results["extra_data"]} == {"endpoint"}


def test_registered_rows_it_cannot_use_make_the_windows_irrelevant_with_the_reason(backend):
    rng = np.random.default_rng(3)
    small = register_model_endpoint(backend, PROJECT, "small", reference_data=_rows(rng, 50, rho=0.8))
    _store_windows(backend, small.endpoint_id, [_rows(rng, 300, rho=-0.8)])
    runner = AppRunner(MultivariateDriftApplication(), APP, backend, PATHS)
    [result] = runner.analyse(_window(small.endpoint_id, 0)).results
    assert int(result.status) == -1 and result.extra_data == {"reason": (
        "the endpoint's reference rows: the reference has 50 rows; PCA and its error's spread need at least 100")}
