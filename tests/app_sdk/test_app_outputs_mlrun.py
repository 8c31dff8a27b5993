"""Outputs as MLRun accepts them (issue 21): an LLM judge whose stub model gives no score (NaN), outputs in
nested or empty lists and tuples, and the stats objects of MLRun's histogram app. The apps are written to
MLRun's published API; only their imports name modelmon. A NaN goes through the app runner and the writer
into the local backend and every reader shows it as missing."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from modelmon import (
    ModelMonitoringApplicationBaseV2,
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
    StatsKind,
    _ModelMonitoringApplicationStats,
)
from modelmon.apps.runner.runner import AppRunner
from modelmon.apps.sdk import list_artifacts
from modelmon.backends import make_backend
from modelmon.backends.memory import InMemoryObjectStore
from modelmon.cli import main
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WindowEvent, WriterEvent
from modelmon.queries import latest_metrics, latest_results, metric_history, result_history
from modelmon.result_frames import results_frame
from modelmon.writer import ResultWriter

PROJECT = "judge"
PERIOD = 600_000
T0 = 1_764_516_000_000  # a multiple of the period


class StubJudge:
    """An LLM judge's model: a score per answer, or NaN when its reply holds no number."""

    def __init__(self, scores: list[float]) -> None:
        self.scores = scores

    def score(self, question: str, answer: str) -> float:
        return self.scores[len(question) % len(self.scores)]


class LLMJudgeApp(ModelMonitoringApplicationBaseV2):
    """An MLRun 1.7 LLM-as-a-judge app: the mean score (NaN when the model gave none) and the scores'
    list in extra_data, returned as a list inside the list as the demo does."""

    def __init__(self, scores: list[float]) -> None:
        self.judge = StubJudge(scores)

    def do_tracking(self, monitoring_context):
        df = monitoring_context.sample_df
        scores = [self.judge.score(q, a) for q, a in zip(df["question"], df["answer"], strict=True)]
        mean = float(np.mean(scores))
        status = ResultStatusApp.irrelevant if math.isnan(mean) else ResultStatusApp.no_detection
        result = ModelMonitoringApplicationResult(
            name="judge_score", value=mean, kind=ResultKindApp.model_performance, status=status,
            extra_data={"scores": scores})
        return [[result], [ModelMonitoringApplicationMetric(name="judged", value=mean)]]


class NothingToReport(ModelMonitoringApplicationBaseV2):
    def do_tracking(self, monitoring_context):
        return ([], [])


class HistogramStyleApp(ModelMonitoringApplicationBaseV2):
    """What MLRun's histogram app returns: a result and two stats objects, current stats and drift measures."""

    def do_tracking(self, monitoring_context):
        stats = monitoring_context.sample_df_stats
        timestamp = monitoring_context.end_infer_time.isoformat(sep=" ", timespec="microseconds")
        measures = {"x": {"tvd": 0.1, "hellinger": float("nan")}}
        return [
            ModelMonitoringApplicationResult(name="general_drift", value=0.1, kind=ResultKindApp.data_drift,
                                             status=ResultStatusApp.no_detection),
            _ModelMonitoringApplicationStats(name=StatsKind.CURRENT_STATS, timestamp=timestamp, stats=stats),
            _ModelMonitoringApplicationStats(name=StatsKind.DRIFT_MEASURES, timestamp=timestamp, stats=measures),
        ]


def _questions(start_ms: int, rows: int = 4) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": start_ms + np.arange(rows) * 1000,
                         "question": ["q" * (i + 1) for i in range(rows)], "answer": ["a"] * rows})


def test_a_nan_score_and_lists_inside_the_list_come_out_of_evaluate_as_missing():
    out = LLMJudgeApp([0.5, float("nan")]).evaluate(_questions(T0))
    rows = out.set_index("name")
    assert math.isnan(rows.loc["judge_score", "value"]) and math.isnan(rows.loc["judged", "value"])
    assert rows.loc["judge_score", "status_name"] == "irrelevant"
    assert rows.loc["judge_score", "extra_data"] == {"scores": [None, 0.5, None, 0.5]}  # JSON keeps no NaN

    scored = LLMJudgeApp([0.5, 0.75]).evaluate(_questions(T0))
    assert scored.set_index("name")["value"].to_dict() == {"judge_score": 0.625, "judged": 0.625}


def test_empty_lists_in_a_tuple_are_no_outputs():
    out = NothingToReport.evaluate(_questions(T0))
    assert out.empty and list(out.columns)[:3] == ["application_name", "endpoint_id", "start_infer_time"]


def test_stats_objects_are_stored_as_json_artifacts_of_their_window():
    objects = InMemoryObjectStore()
    reference = pd.DataFrame({"x": np.linspace(0, 1, 50)})
    sample = pd.DataFrame({"timestamp": T0 + np.arange(10) * 1000, "x": np.linspace(0, 1, 10)})
    out = HistogramStyleApp.evaluate(sample, reference_df=reference, objects=objects)
    assert out[["type", "name", "value"]].to_dict("records") == [{"type": "result", "name": "general_drift",
                                                                 "value": 0.1}]
    stored = {a.name: a for a in list_artifacts(objects, "evaluate")}
    assert sorted(stored) == ["current_stats", "drift_measures"] and {a.format for a in stored.values()} == {"json"}
    measures = json.loads(objects.get_object(stored["drift_measures"].path))
    assert measures == {"stats_name": "drift_measures", "stats": {"x": {"tvd": 0.1, "hellinger": None}},
                        "timestamp": "2025-11-30 15:20:09.001000+00:00"}  # the window ends just after the last row
    current = json.loads(objects.get_object(stored["current_stats"].path))
    assert current["stats"]["x"]["count"] == 10 and len(current["stats"]["x"]["hist"][0]) > 0


def test_an_unknown_stats_kind_and_a_non_output_in_a_list_are_refused():
    with pytest.raises(ValueError, match="the name is a StatsKind: current_stats, drift_measures"):
        _ModelMonitoringApplicationStats(name="feature_stats", timestamp="2026-01-01", stats={})

    class ReturnsText(ModelMonitoringApplicationBaseV2):
        def do_tracking(self, monitoring_context):
            return [[ModelMonitoringApplicationMetric("a", 1.0)], "oops"]

    with pytest.raises(ValueError, match="do_tracking returned a str in its list"):
        ReturnsText.evaluate(_questions(T0))
    with pytest.raises(ValueError, match="value must be finite or missing"):
        ModelMonitoringApplicationMetric("a", float("inf"))
    with pytest.raises(ValueError, match="value must be a number, got the text 'high'"):
        ModelMonitoringApplicationMetric("a", "high")
    assert ModelMonitoringApplicationMetric("a", "0.5").value == 0.5  # numeric text, as MLRun's pydantic reads it


@pytest.fixture
def judged(home):
    """Endpoint ``chatbot`` judged on two windows by the app runner and written by the writer: the model gives
    no score in window 0 (NaN), and 0.5 on average in window 1."""
    backend = make_backend(Settings(home=str(home), project=PROJECT))
    paths = ProjectPaths(PROJECT)
    endpoint_id = register_model_endpoint(backend, PROJECT, "chatbot").endpoint_id
    backend.samples.append(endpoint_id, pd.concat([_questions(T0), _questions(T0 + PERIOD)], ignore_index=True),
                           batch_id="traffic")
    writer = ResultWriter(backend, paths)
    for k, scores in enumerate(([float("nan")], [0.25, 0.75])):
        runner = AppRunner(LLMJudgeApp(scores), "llm-judge", backend, paths)
        event = runner.analyse(WindowEvent(PROJECT, endpoint_id, "llm-judge", T0 + k * PERIOD,
                                           T0 + (k + 1) * PERIOD, "chatbot"))
        assert event.error is None, event.traceback
        writer.write(WriterEvent.from_body(event.to_body()))  # through the stream's JSON, as deployed
    yield backend, endpoint_id
    backend.close()


def test_a_nan_result_is_stored_and_every_reader_shows_it_missing(judged, home, capsys):
    backend, endpoint_id = judged
    history = result_history(backend, PROJECT)
    assert history["end_ms"].tolist() == [T0 + PERIOD, T0 + 2 * PERIOD]
    assert math.isnan(history["value"][0]) and history["value"][1] == 0.5
    metrics = metric_history(backend, PROJECT)
    assert math.isnan(metrics["value"][0]) and metrics["value"][1] == 0.5
    frame = results_frame(backend, PROJECT)
    assert math.isnan(frame["llm-judge.judge_score"].iloc[0]) and frame["llm-judge.judged"].iloc[1] == 0.5

    # the latest window's value is a number; a later NaN window replaces it and reads as NaN
    assert latest_results(backend, PROJECT)["value"].tolist() == [0.5]
    writer = ResultWriter(backend, ProjectPaths(PROJECT))
    nan = float("nan")
    result = ModelMonitoringApplicationResult("judge_score", nan, ResultKindApp.model_performance,
                                              ResultStatusApp.detected)
    writer.write(WriterEvent(PROJECT, endpoint_id, "llm-judge", T0 + 2 * PERIOD, T0 + 3 * PERIOD, (result,),
                             (ModelMonitoringApplicationMetric("judged", nan),)))
    latest = latest_results(backend, PROJECT)
    assert latest["value"].dtype == "float64" and math.isnan(latest["value"][0])
    assert latest["status_name"][0] == "detected"  # and the writer's alert log took the detected NaN
    assert math.isnan(latest_metrics(backend, PROJECT)["value"][0])

    assert main(["results", "--home", str(home), "--project", PROJECT]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[-3:] == ["-", "detected", "model_performance"]
    for args in (["--json"], ["--history", "--json"], ["--metrics", "--json"]):
        assert main(["results", "--home", str(home), "--project", PROJECT, *args]) == 0
        shown = json.loads(capsys.readouterr().out)  # valid JSON: a missing value is null
        values = [row["value"] for row in shown.get("results", shown.get("metrics"))]
        assert None in values, (args, shown)


def test_on_live_traffic_stats_objects_become_artifacts_of_the_window(judged):
    backend, endpoint_id = judged
    runner = AppRunner(HistogramStyleApp(), "histogram-style", backend, ProjectPaths(PROJECT))
    event = runner.analyse(WindowEvent(PROJECT, endpoint_id, "histogram-style", T0, T0 + PERIOD, "chatbot"))
    assert event.error is None and [r.name for r in event.results] == ["general_drift"]
    stored = list_artifacts(backend.objects, PROJECT, app_name="histogram-style")
    assert [(a.name, a.endpoint_id, a.start_ms, a.end_ms) for a in stored] == [
        ("current_stats", endpoint_id, T0, T0 + PERIOD), ("drift_measures", endpoint_id, T0, T0 + PERIOD)]
    measures = json.loads(backend.objects.get_object(stored[1].path))
    assert measures["stats"] == {"x": {"tvd": 0.1, "hellinger": None}}
