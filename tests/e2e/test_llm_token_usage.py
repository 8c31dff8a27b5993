"""An LLM endpoint's token usage, tracked as MLRun 1.10's LLM serving sends it, summed by an MLRun app.

The app below is written to MLRun's published app API (``do_tracking(monitoring_context)`` reading
``monitoring_context.sample_df``, expanding the ``usage`` dicts with ``apply(pd.Series)`` as MLRun's
LLM monitoring example does, returning results and metrics); only its import line names modelmon. Live
traffic, one event per prompt with ``outputs: [answer, {"prompt_tokens", "completion_tokens"}]``, goes
through the tracking stream, the stream function's ingestor, the controller, the app runner and the
writer in one process; the histogram-drift app runs on the same windows (a text reference) beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlrun_events import encoded, served

import modelmon
from modelmon import (
    ModelMonitoringApplicationBase,
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner import AppRunner
from modelmon.backends.base import OutRecord
from modelmon.controller import Controller
from modelmon.core.paths import ProjectPaths
from modelmon.queries import metric_history, result_history
from modelmon.stream import Ingestor, RawRecord
from modelmon.testing import stream_records
from modelmon.writer import ResultWriter

BUNDLE = Path(__file__).resolve().parents[1] / "deploy" / "bundle"
PROJECT = "llm-usage"
PATHS = ProjectPaths(PROJECT)
ENDPOINT_ID = "7a1b2c3d4e5f40718293a4b5c6d7e8f9"
PERIOD = 600_000
T0 = 1_714_557_600_000  # 2024-05-01 10:00 UTC, a period boundary
WINDOWS, PROMPTS = 2, 40
LIMIT = 60.0  # mean completion tokens a window may use before the app flags it
TOPICS = ["billing", "refund", "login", "shipping"]


class TokenUsageApplication(ModelMonitoringApplicationBase):
    """Sums each window's prompt and completion tokens; flags a window whose answers run long."""

    def do_tracking(self, monitoring_context):
        df = monitoring_context.sample_df
        if df.empty:
            return []
        usage = df["usage"].apply(pd.Series)
        completion_mean = float(usage["completion_tokens"].mean())
        return [
            ModelMonitoringApplicationResult(
                name="completion_tokens_mean", value=completion_mean, kind=ResultKindApp.model_performance,
                status=ResultStatusApp.detected if completion_mean > LIMIT else ResultStatusApp.no_detection,
                extra_data={"limit": LIMIT}),
            ModelMonitoringApplicationMetric(name="prompt_tokens", value=float(usage["prompt_tokens"].sum())),
            ModelMonitoringApplicationMetric(name="completion_tokens",
                                             value=float(usage["completion_tokens"].sum())),
        ]


def _events(rng: np.random.Generator) -> list[dict]:
    """PROMPTS prompts a window; the second window's answers are three times longer."""
    events = []
    for window in range(WINDOWS):
        for k in range(PROMPTS):
            prompt, completion = int(rng.integers(5, 40)), int(rng.integers(10, 50)) * (1 + 2 * window)
            usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                     "total_tokens": prompt + completion}
            when = T0 + window * PERIOD + k * (PERIOD // PROMPTS)
            events.append(served(ENDPOINT_ID, "assistant", f"{PROJECT}/llm-serving", f"q{window}-{k}",
                                 [[TOPICS[k % len(TOPICS)]]], [f"answer {window}-{k}", usage], when))
    events.append(served(ENDPOINT_ID, "assistant", f"{PROJECT}/llm-serving", "next", [["login"]],
                         ["ok", {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}],
                         T0 + WINDOWS * PERIOD))  # closes the last window
    return events


def _drain(backend, path: str) -> list[bytes]:
    return [r.data for r in stream_records(backend.streams, path)]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    home = tmp_path_factory.mktemp("llm") / "home"
    events = _events(np.random.default_rng(5))
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=BUNDLE) as project:
        reference = pd.DataFrame({"prompt": TOPICS * 25})
        project.register_model_endpoint("assistant", endpoint_id=ENDPOINT_ID, function_name="llm-serving",
                                        feature_names=["prompt"], label_names=["answer", "usage"],
                                        reference_data=reference)
        backend = project.backend
        backend.streams.create(PATHS.tracking_stream, shards=1)
        backend.streams.put_records(PATHS.tracking_stream, [OutRecord(encoded(e), ENDPOINT_ID) for e in events])
        clock = T0 + WINDOWS * PERIOD + 60_000
        ingestor = Ingestor(backend, PROJECT, clock=lambda: clock)
        ingestor.setup()
        reports = [ingestor.process(RawRecord(r.data, r.shard, r.sequence))
                   for r in stream_records(backend.streams, PATHS.tracking_stream)]
        apps = {"token-usage": TokenUsageApplication(), "histogram-data-drift": HistogramDataDriftApplication()}
        registry = AppRegistry(backend.kv, PATHS)
        registry.register("token-usage", f"{__name__}:TokenUsageApplication")
        registry.register("histogram-data-drift", "modelmon.apps:HistogramDataDriftApplication")
        Controller(backend, PATHS, clock=lambda: clock).run()
        outcomes = []
        for name, app in apps.items():
            runner = AppRunner(app, name, backend, PATHS)
            outcomes += [runner.handle(body) for body in _drain(backend, PATHS.app_stream(name))]
        writer = ResultWriter(backend, PATHS)
        for body in _drain(backend, PATHS.writer_stream):
            writer.handle(body)
        yield project, events, reports, outcomes


def test_dict_outputs_are_stored_and_reach_sample_df_as_dicts(analysed):
    project, events, reports, _ = analysed
    assert sum(r.rejected for r in reports) == 0
    stored = project.backend.samples.read(ENDPOINT_ID, T0, T0 + PERIOD)
    assert len(stored) == PROMPTS
    assert stored["prompt"].tolist() == [TOPICS[k % len(TOPICS)] for k in range(PROMPTS)]
    assert stored["answer"].tolist() == [f"answer 0-{k}" for k in range(PROMPTS)]
    assert stored["usage"].tolist() == [e["resp"]["outputs"][1] for e in events[:PROMPTS]]


def test_the_token_usage_app_sums_each_windows_tokens(analysed):
    project, events, _, outcomes = analysed
    assert len(outcomes) == 2 * WINDOWS and all(outcome.error is None for outcome in outcomes)
    metrics = metric_history(project.backend, PROJECT, app_name="token-usage")
    for window in range(WINDOWS):
        usage = [e["resp"]["outputs"][1] for e in events[window * PROMPTS:(window + 1) * PROMPTS]]
        mine = metrics[metrics["start_ms"] == T0 + window * PERIOD].set_index("metric_name")["value"]
        assert mine["prompt_tokens"] == sum(u["prompt_tokens"] for u in usage)
        assert mine["completion_tokens"] == sum(u["completion_tokens"] for u in usage)
    results = result_history(project.backend, PROJECT, app_name="token-usage").sort_values("start_ms")
    assert results["status"].tolist() == [0, 2]  # the long answers of the second window are flagged


def test_the_histogram_app_runs_beside_dict_columns(analysed):
    project, _, _, _ = analysed
    history = result_history(project.backend, PROJECT, app_name="histogram-data-drift")
    general = history[history["result_name"] == "general_drift"].sort_values("start_ms")
    assert general["start_ms"].tolist() == [T0 + k * PERIOD for k in range(WINDOWS)]
    assert general["status"].tolist() == [0, 0]  # the prompts' topics keep the reference's mix
