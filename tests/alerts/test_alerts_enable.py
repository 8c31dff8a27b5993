"""``enable_model_monitoring`` on the local target brings the alerts function up once there is something
to alert on; it then reads the writer stream beside the writer (its own consumer group)."""

from __future__ import annotations

import time
from pathlib import Path

import modelmon
from modelmon.alerts.delivery import Deliveries
from modelmon.backends.base import OutRecord
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult as Result
from modelmon.core.timeutil import now_ms
from modelmon.events.writer import WriterEvent

REPO = Path(__file__).resolve().parents[2]
END = 1_764_000_600_000


def test_enable_starts_the_alerts_function_with_a_config_and_both_consumers_read_the_writer_stream(home):
    with modelmon.get_or_create_project("alerting", home=str(home), bundle_dir=REPO) as project:
        try:
            assert project.list_alerts_configs() == []
            project.store_alert_config({"name": "drift", "trigger": {"events": ["data_drift_detected"]},
                                        "notifications": [{"kind": "log"}]})
            states = project.enable_model_monitoring(deploy_histogram_data_drift_app=False, wait_for_deployment=True)
            assert "alerting-alerts" in [s.name for s in states]
            event = WriterEvent("alerting", "ep1", "hist", END - 600_000, END, endpoint_name="fraud",
                                results=(Result("general_drift", 0.8, 0, 2),))
            project.backend.streams.put_records(ProjectPaths("alerting").writer_stream, [OutRecord(event.to_body())])
            deliveries = Deliveries(project.backend.kv, ProjectPaths("alerting"), clock=now_ms)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                    [d["state"] for d in deliveries.list()] == ["delivered"] and len(project.get_results())):
                time.sleep(0.2)
            assert [(d["key"], d["state"]) for d in deliveries.list()] == [
                (f"drift.ep1.hist.general_drift.{END}.active", "delivered")]
            assert list(project.get_alert_activations(active=True)["endpoint_name"]) == ["fraud"]
            assert list(project.get_results()["result_name"]) == ["general_drift"]  # the writer got it too
            assert "alerts" in project.disable_model_monitoring(delete_stream_function=True)
        finally:
            project.stop_local_service()
