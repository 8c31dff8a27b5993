"""An MLRun LLM-judge app on live traffic through the project SDK (issue 21): shipped as a folder with its helper
module, it returns its outputs as a list inside the list, a NaN score when its stub model gives none, and a
stats object; the writer stores the NaN as missing and every reader shows it so."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import pytest

import modelmon
from modelmon.apps.sdk import list_artifacts
from modelmon.backends import OutRecord
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.events import tracking_body
from modelmon.service import stop_service
from modelmon.testing.traffic import spread_requests

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PROJECT = "judged"
MODEL = "chat-model"
MINUTE = 60_000
ROWS = 20

APP = '''\
from modelmon import (ModelMonitoringApplicationBaseV2, ModelMonitoringApplicationMetric,
                      ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp, StatsKind,
                      _ModelMonitoringApplicationStats)
from judge_model import StubJudge


class LLMJudgeApp(ModelMonitoringApplicationBaseV2):
    def __init__(self, scale: int = 5) -> None:
        self.judge = StubJudge(scale)

    def do_tracking(self, monitoring_context):
        score = self.judge.score(monitoring_context.start_infer_time.minute, len(monitoring_context.sample_df))
        result = ModelMonitoringApplicationResult(name="judge_score", value=score, kind=ResultKindApp.model_performance,
                                                  status=ResultStatusApp.no_detection, extra_data={"raw": score})
        stats = _ModelMonitoringApplicationStats(name=StatsKind.DRIFT_MEASURES,
                                                 timestamp=monitoring_context.end_infer_time.isoformat(),
                                                 stats={"judge": {"score": score}})
        rows = ModelMonitoringApplicationMetric(name="judged_rows", value=len(monitoring_context.sample_df))
        return [[result], [rows], stats]
'''
MODEL_CODE = '''\
class StubJudge:
    """An LLM judge's model: no score (NaN) on even minutes, rows / (scale * 10) on odd ones."""

    def __init__(self, scale):
        self.scale = scale

    def score(self, minute, rows):
        return float("nan") if minute % 2 == 0 else rows / (self.scale * 10)
'''


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    yield home
    stop_service(home)


def test_an_llm_judge_shipped_as_a_folder_stores_its_nan_score_as_missing(home, tmp_path):
    folder = tmp_path / "judge"
    folder.mkdir()
    (folder / "judge_app.py").write_text(APP)
    (folder / "judge_model.py").write_text(MODEL_CODE)
    base = now_ms() // (2 * MINUTE) * (2 * MINUTE) - 10 * MINUTE  # an even minute, in the past
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=REPO, controller_interval="1s") as project:
        project.enable_model_monitoring(base_period=1, wait_for_deployment=True, deploy_histogram_data_drift_app=False)
        endpoint_id = project.register_model_endpoint(MODEL, function_uri=f"{PROJECT}/serving",
                                                      model_version="1").endpoint_id
        project.set_model_monitoring_function(func=folder, application_class="LLMJudgeApp", name="llm-judge", scale=2)
        _send(project, base, 2 * MINUTE)
        _wait_for(lambda: len(project.get_results(app_name="llm-judge", history=True)) == 2)

        history = project.get_results(app_name="llm-judge", history=True).sort_values("start_ms")
        assert history["start_ms"].tolist() == [base, base + MINUTE]
        assert math.isnan(history["value"].iloc[0]) and history["value"].iloc[1] == ROWS / 20
        latest = project.get_results(app_name="llm-judge")
        assert latest["value"].tolist() == [ROWS / 20]
        stored = list_artifacts(project.backend.objects, PROJECT, app_name="llm-judge")
        assert [(a.name, a.start_ms) for a in stored] == [("drift_measures", base), ("drift_measures", base + MINUTE)]
        assert endpoint_id in {a.endpoint_id for a in stored}


def _send(project, start_ms: int, span_ms: int) -> None:
    """``ROWS`` requests per minute of ``[start_ms, start_ms + span_ms)``, the last one at its end - 1 ms."""
    rng = np.random.default_rng(3)
    requests = spread_requests(MODEL, start_ms, span_ms, ROWS * span_ms // MINUTE, rng, features=2)
    body = tracking_body(model=MODEL, version="1", function_uri=f"{PROJECT}/serving", requests=requests)
    project.backend.streams.put_records(ProjectPaths(PROJECT).tracking_stream,
                                        [OutRecord(orjson.dumps(body), partition_key="judged")])


def _wait_for(condition: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app's results")
        time.sleep(0.2)
