from __future__ import annotations

import json
import sys

import pandas as pd

from modelmon import (
    ModelMonitoringApplicationBase,
    ModelMonitoringApplicationResult,
    MonitoringApplicationContext,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.apps.sdk import run_application
from modelmon.apps.sdk.artifacts import ObjectStoreArtifactSink
from modelmon.apps.sdk.base import is_legacy
from modelmon.testing import InMemoryObjectStore


class LegacyApp(ModelMonitoringApplicationBase):
    """An app written for MLRun 1.6: the long do_tracking signature and self.context."""

    def __init__(self) -> None:
        self.seen: dict = {}

    def do_tracking(self, application_name, sample_df_stats, feature_stats, sample_df, start_infer_time,
                    end_infer_time, latest_request, endpoint_id, output_stream_uri):
        self.seen = dict(application_name=application_name, sample_df_stats=sample_df_stats,
                         feature_stats=feature_stats, rows=len(sample_df), start=start_infer_time,
                         end=end_infer_time, latest=latest_request, endpoint_id=endpoint_id,
                         output_stream_uri=output_stream_uri)
        self.context.logger.info("analysing %s", endpoint_id)
        path = self.context.log_artifact("report", body={"rows": len(sample_df)})
        return ModelMonitoringApplicationResult("rows_seen", len(sample_df), ResultKindApp.mm_app_anomaly,
                                                ResultStatusApp.no_detection, {"artifact": path})


def test_legacy_signature_is_detected_and_called_with_every_argument():
    app = LegacyApp()
    store = InMemoryObjectStore()
    window = pd.DataFrame({"timestamp": [1_000, 2_000], "x": [1.0, 2.0]})
    stats = {"x": {"hist": [[2], [0.0, 3.0]]}}
    context = MonitoringApplicationContext(
        application_name="legacy", project_name="proj", endpoint_id="ep1",
        start_infer_time=pd.Timestamp(0, tz="UTC"), end_infer_time=pd.Timestamp(60_000, unit="ms", tz="UTC"),
        sample_df=window, feature_stats={"x": {"hist": [[5], [0.0, 3.0]]}},
        stats_fn=lambda df, reference: stats, latest_request=pd.Timestamp(2_000, unit="ms", tz="UTC"),
        output_stream_uri="projects/proj/model-endpoints/stream-model-monitoring-writer",
        artifact_sink=ObjectStoreArtifactSink(store, "proj"),
    )
    assert is_legacy(app)
    results, metrics = run_application(app, context)
    assert [r.value for r in results] == [2.0] and metrics == []
    big = sys.float_info.max  # MLRun pads both histograms with an empty bin on each side
    assert app.seen == dict(
        application_name="legacy", sample_df_stats={"x": {"hist": [[0, 2, 0], [-big, 0.0, 3.0, big]]}},
        feature_stats={"x": {"hist": [[0, 5, 0], [-big, 0.0, 3.0, big]]}},
        rows=2, start=pd.Timestamp(0, tz="UTC"), end=pd.Timestamp(60_000, unit="ms", tz="UTC"),
        latest=pd.Timestamp(2_000, unit="ms", tz="UTC"), endpoint_id="ep1",
        output_stream_uri="projects/proj/model-endpoints/stream-model-monitoring-writer",
    )
    path = results[0].extra_data["artifact"]
    assert path == "users/pipelines/proj/artifacts/legacy/ep1/0-60000/report.json"
    assert json.loads(store.get_object(path)) == {"rows": 2}
    assert app.context is None  # only set while the app runs


def test_legacy_app_runs_through_evaluate():
    app = LegacyApp()
    got = app.evaluate(pd.DataFrame({"timestamp": [0, 1, 60_000], "x": [1.0, 2.0, 3.0]}), base_period=1,
                       end=120_000, endpoint_id="ep7")
    assert got["value"].tolist() == [2.0, 1.0]
    assert app.seen["latest"] == pd.Timestamp(60_000, unit="ms", tz="UTC")
    assert app.seen["endpoint_id"] == "ep7"


class _Unhashable:
    """A callable that defines equality only, hence no hash."""

    def __eq__(self, other: object) -> bool:
        return self is other

    def __call__(self, application_name, sample_df_stats, feature_stats, sample_df, start_infer_time,
                 end_infer_time, latest_request, endpoint_id, output_stream_uri):
        return []


def test_the_signature_is_read_per_function_whatever_the_callable():
    class NewStyle(ModelMonitoringApplicationBase):
        def do_tracking(self, monitoring_context):
            return []

    assert is_legacy(LegacyApp()) and not is_legacy(NewStyle())
    assert is_legacy(LegacyApp()) and not is_legacy(NewStyle())  # kept per function: the same answers
    app = NewStyle()
    app.do_tracking = _Unhashable()  # type: ignore[method-assign]
    assert is_legacy(app)
    app.do_tracking = lambda monitoring_context: []  # type: ignore[method-assign]
    assert not is_legacy(app)
