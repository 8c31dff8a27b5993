"""A home whose results come from real apps: traffic in the sample store, each app run on each window by
the app runner, and what it returned stored by the writer, as the deployed functions do."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import reader_apps

from modelmon.apps.builtin.histogram_drift import HistogramDataDriftApplication
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner.runner import AppRunner
from modelmon.backends import Backend, make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WindowEvent
from modelmon.writer import ResultWriter

PROJECT = "shop"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_764_516_000_000  # 2025-11-30T15:20Z, a multiple of the period
WINDOWS = 3
ROWS = 400
DRIFT = "histogram-data-drift"
APPS = {DRIFT: HistogramDataDriftApplication(), "rows-app": reader_apps.RowsApp()}
BROKEN = "broken-app"


@dataclasses.dataclass
class Monitored:
    backend: Backend
    home: str
    churn: str  # endpoint ids
    fraud: str

    def window_start(self, k: int) -> int:
        return T0 + k * PERIOD


def _traffic(window: int, shift: float, rng: np.random.Generator) -> pd.DataFrame:
    start = T0 + window * PERIOD
    return pd.DataFrame({
        "timestamp": start + np.arange(ROWS) * (PERIOD // ROWS), "request_id": [f"w{window}-{i}" for i in range(ROWS)],
        "latency_us": 100, "age": rng.normal(40 + shift, 10, ROWS), "income": rng.normal(50, 5, ROWS),
    })


def run_apps(backend: Backend, endpoint_id: str, name: str, windows: range, apps: dict[str, object]) -> None:
    """Each app on each window of ``endpoint_id``, through the app runner and the writer."""
    writer = ResultWriter(backend, PATHS)
    for app_name, app in apps.items():
        runner = AppRunner(app, app_name, backend, PATHS)
        for k in windows:
            writer.write(runner.analyse(WindowEvent(PROJECT, endpoint_id, app_name, T0 + k * PERIOD,
                                                    T0 + (k + 1) * PERIOD, name)))


@pytest.fixture
def monitored(home) -> Monitored:
    """Endpoints ``churn`` (``age`` shifts by 3 standard deviations in window 2) and ``fraud`` (no shift),
    3 windows each analysed by the histogram-drift app and a dict app; an app that raises on window 1 of churn."""
    rng = np.random.default_rng(11)
    backend = make_backend(Settings(home=str(home), project=PROJECT))
    reference = pd.DataFrame({"age": rng.normal(40, 10, 2000), "income": rng.normal(50, 5, 2000)})
    registry = AppRegistry(backend.kv, PATHS)
    broken = reader_apps.MissingColumnApp()
    for app_name, app in {**APPS, BROKEN: broken}.items():
        registry.register(app_name, f"{type(app).__module__}:{type(app).__name__}")
    ids = {}
    for name, shifts in (("churn", [0, 0, 30]), ("fraud", [0, 0, 0])):
        endpoint = register_model_endpoint(backend, PROJECT, name, reference_data=reference)
        ids[name] = endpoint.endpoint_id
        traffic = pd.concat([_traffic(k, s, rng) for k, s in enumerate(shifts)], ignore_index=True)
        backend.samples.append(endpoint.endpoint_id, traffic, batch_id=f"{name}-traffic")
        run_apps(backend, endpoint.endpoint_id, name, range(WINDOWS), APPS)
    run_apps(backend, ids["churn"], "churn", range(1, 2), {BROKEN: broken})  # fails on window 1 of churn
    yield Monitored(backend, str(home), ids["churn"], ids["fraud"])
    backend.close()


def project_record(home, project: str) -> None:
    """The project record the SDK writes (``get_or_create_project`` + ``enable_model_monitoring``)."""
    path = home / "projects" / project / "project.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": project, "base_period_minutes": 10, "target": "local"}), encoding="utf-8")
