"""Batch drift analysis: an explicit reference, and the batch's windows stored like the controller's."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from batch_data import FEATURES, T0

import modelmon
from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner.runner import AppRunner
from modelmon.backends import scan_all
from modelmon.backends.base import SeekTo
from modelmon.batch.inference import batch_infer, default_endpoint_id
from modelmon.cli import main
from modelmon.controller.controller import Controller
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import get_model_endpoint, register_model_endpoint
from modelmon.queries import latest_results, result_history
from modelmon.writer.writer import ResultWriter

PROJECT = "test"
PATHS = ProjectPaths(PROJECT)
TEN_MINUTES = 600_000
HISTOGRAM = "modelmon.apps.builtin.histogram_drift:HistogramDataDriftApplication"


@pytest.fixture(scope="module")
def reference(iris) -> pd.DataFrame:
    """1,000 rows drawn from iris (the 'training set')."""
    return iris.sample(1000, replace=True, random_state=1).reset_index(drop=True)


def batch(reference: pd.DataFrame, shift_std: float, rows: int = 400, seed: int = 2) -> pd.DataFrame:
    """``rows`` reference rows, every feature moved by ``shift_std`` standard deviations, 3 s apart from T0."""
    frame = reference.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    for feature in FEATURES:
        frame[feature] = frame[feature] + shift_std * reference[feature].std()
    return frame.assign(ts=T0 + np.arange(rows) * 3_000)  # 20 minutes: two 10-minute windows


def test_a_shifted_batch_is_detected_and_stored_like_any_window(backend, reference, model):
    result = batch_infer(backend, PROJECT, batch(reference, 3.0), model, feature_columns=FEATURES,
                         label_columns=["species"], timestamp_column="ts", job_name="nightly",
                         reference_data=reference[FEATURES], perform_drift_analysis=True, base_period_minutes=10)
    assert result.reference == "reference_data" and result.drift_status == "detected"
    assert [(e.start_ms, e.end_ms) for e in result.drift.events] == [(T0, T0 + TEN_MINUTES),
                                                                     (T0 + TEN_MINUTES, T0 + 2 * TEN_MINUTES)]
    # history: every window, through the writer's history
    history = result_history(backend, PROJECT, endpoint_id=result.endpoint_id)
    assert sorted(set(zip(history["start_ms"], history["result_name"], strict=True))) == [
        (T0, "drifted_features_share"), (T0, "general_drift"),
        (T0 + TEN_MINUTES, "drifted_features_share"), (T0 + TEN_MINUTES, "general_drift")]
    assert set(history["status_name"]) == {"detected"}
    # latest: the newest window per result, and the endpoint's drift status
    latest = latest_results(backend, PROJECT, endpoint_id=result.endpoint_id).set_index("result_name")
    assert set(latest["start_ms"]) == {T0 + TEN_MINUTES}
    assert latest.loc["drifted_features_share", "value"] == 1.0  # all 4 features drifted
    assert latest.loc["general_drift", "value"] > 0.7
    assert get_model_endpoint(backend, PROJECT, result.endpoint_id).drift_status == 2
    # the writer's alerts: one per detected result and window
    alerts = [item for _, item in scan_all(backend.kv, PATHS.alerts_table)]
    assert len(alerts) == 4 and {a["endpoint_id"] for a in alerts} == {result.endpoint_id}


def test_an_unshifted_batch_against_the_same_reference_is_not_drift(backend, reference, model):
    result = batch_infer(backend, PROJECT, batch(reference, 0.0), model, feature_columns=FEATURES,
                         label_columns=["species"], timestamp_column="ts", job_name="nightly",
                         reference_data=reference[FEATURES], perform_drift_analysis=True, base_period_minutes=10)
    assert result.drift_status == "no_detection"
    assert set(result.drift_results.query("type == 'result'")["status_name"]) == {"no_detection"}


def test_first_run_without_reference_refuses_drift_and_writes_nothing(backend, reference, model):
    with pytest.raises(ValueError, match="endpoint 'nightly' has no reference data to compare the batch with"):
        batch_infer(backend, PROJECT, batch(reference, 3.0), model, feature_columns=FEATURES,
                    label_columns=["species"], timestamp_column="ts", job_name="nightly",
                    perform_drift_analysis=True, base_period_minutes=10)
    assert list(scan_all(backend.kv, PATHS.endpoints_table)) == []
    assert backend.objects.list_objects("") == []
    # recorded without drift, the endpoint has no reference: asking for drift later is the same error
    batch_infer(backend, PROJECT, batch(reference, 3.0), model, feature_columns=FEATURES, label_columns=["species"],
                timestamp_column="ts", job_name="nightly", base_period_minutes=10)
    assert get_model_endpoint(backend, PROJECT, default_endpoint_id(PROJECT, "nightly")).feature_stats == {}
    with pytest.raises(ValueError, match="has no reference data"):
        batch_infer(backend, PROJECT, batch(reference, 3.0, seed=3), model, feature_columns=FEATURES,
                    label_columns=["species"], timestamp_column="ts", job_name="nightly",
                    perform_drift_analysis=True, base_period_minutes=10)


def test_self_reference_is_an_explicit_choice_and_later_batches_compare_with_it(backend, reference, model):
    first = batch_infer(backend, PROJECT, batch(reference, 0.0), model, feature_columns=FEATURES,
                        label_columns=["species"], timestamp_column="ts", job_name="nightly", self_reference=True,
                        perform_drift_analysis=True, base_period_minutes=10)
    assert first.reference == "self_reference" and first.drift_status == "no_detection"
    assert get_model_endpoint(backend, PROJECT, first.endpoint_id).feature_stats["sepal_width"]["count"] == 400
    later = batch(reference, 3.0, seed=5).assign(ts=lambda f: f["ts"] + 3_600_000)
    second = batch_infer(backend, PROJECT, later, model, feature_columns=FEATURES, label_columns=["species"],
                         timestamp_column="ts", job_name="nightly", perform_drift_analysis=True,
                         base_period_minutes=10)
    assert second.reference == "endpoint" and second.drift_status == "detected"


def test_the_registered_app_kwargs_and_period_are_used(backend, reference, model):
    AppRegistry(backend.kv, PATHS).register("histogram-data-drift", HISTOGRAM,
                                            kwargs={"share_detected_threshold": 1.01,
                                                    "share_potential_threshold": 1.0},
                                            base_period_minutes=20)
    result = batch_infer(backend, PROJECT, batch(reference, 3.0), model, feature_columns=FEATURES,
                         label_columns=["species"], timestamp_column="ts", job_name="nightly",
                         reference_data=reference[FEATURES], perform_drift_analysis=True, base_period_minutes=10)
    (event,) = result.drift.events  # one 20-minute window
    assert (event.start_ms, event.end_ms) == (T0, T0 + 2 * TEN_MINUTES)
    share = {r.name: r for r in event.results}["drifted_features_share"]
    assert (share.value, share.status.name) == (1.0, "potential_detection")  # the registered thresholds


def test_the_controller_analysing_the_same_windows_keeps_one_result_per_window(backend, reference, model):
    result = batch_infer(backend, PROJECT, batch(reference, 3.0), model, feature_columns=FEATURES,
                         label_columns=["species"], timestamp_column="ts", job_name="nightly",
                         reference_data=reference[FEATURES], perform_drift_analysis=True, base_period_minutes=10)
    AppRegistry(backend.kv, PATHS).register("histogram-data-drift", HISTOGRAM)
    Controller(backend, PATHS, base_period_minutes=10, clock=lambda: T0 + 3_600_000).run()
    # the app function and the writer function handle what the controller dispatched
    runner = AppRunner(HistogramDataDriftApplication(), "histogram-data-drift", backend, PATHS)
    windows = stream_bodies(backend, PATHS.app_stream("histogram-data-drift"))
    assert len(windows) == 2
    for body in windows:
        runner.handle(body)
    writer = ResultWriter(backend, PATHS)
    for body in stream_bodies(backend, PATHS.writer_stream):
        writer.handle(body)
    history = result_history(backend, PROJECT, endpoint_id=result.endpoint_id)
    assert len(history) == 4  # 2 windows x 2 results: the controller's run rewrote the batch's, no duplicates
    assert history.set_index(["start_ms", "result_name"])["value"].to_dict() == \
        result.drift_results.query("type == 'result'").set_index(["start_ms", "name"])["value"].to_dict()


def stream_bodies(backend, stream):
    records = backend.streams.read(stream, 0, backend.streams.seek(stream, 0, SeekTo.EARLIEST), limit=1000)
    return [r.data for r in records]


def test_into_a_live_endpoint_only_closed_windows_are_analysed(backend, reference, model):
    served = register_model_endpoint(backend, PROJECT, "iris", reference_data=reference[FEATURES])
    result = batch_infer(backend, PROJECT, batch(reference, 3.0), model.predict, endpoint_id=served.endpoint_id,
                         feature_columns=FEATURES, timestamp_column="ts", perform_drift_analysis=True,
                         drift_period_minutes=10)
    assert result.reference == "endpoint"
    assert [e.start_ms for e in result.drift.events] == [T0]
    assert result.drift.pending == ((T0 + TEN_MINUTES, T0 + 2 * TEN_MINUTES),)  # its rows may still arrive


def test_project_batch_infer_results_show_in_get_results(home, reference, model):
    with modelmon.get_or_create_project("sdk", home=home) as project:
        result = project.batch_infer(batch(reference, 3.0), model, feature_columns=FEATURES,
                                     label_columns=["species"], timestamp_column="ts", job_name="nightly",
                                     reference_data=reference[FEATURES], perform_drift_analysis=True)
        assert result.drift.period_ms == project.base_period * 60_000
        results = project.get_results(endpoint_id=result.endpoint_id)
        assert set(results["result_name"]) == {"general_drift", "drifted_features_share"}
        assert set(results["status_name"]) == {"detected"}
        assert project.get_model_endpoint(result.endpoint_id).drift_status == 2


def cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_prints_a_short_summary_and_the_results_command_shows_the_windows(home, reference, model, tmp_path,
                                                                              capsys):
    data, model_path, ref = tmp_path / "batch.parquet", tmp_path / "model.pkl", tmp_path / "train.csv"
    batch(reference, 3.0).to_parquet(data)
    model_path.write_bytes(pickle.dumps(model))
    reference[FEATURES].to_csv(ref, index=False)
    base = ["--home", str(home), "--project", PROJECT]
    code, out, err = cli(capsys, "batch-infer", str(data), "--model", str(model_path), "--labels", "species",
                         "--features", ",".join(FEATURES), "--timestamp-column", "ts", "--job-name", "nightly",
                         "--drift", "--base-period", "10", *base)
    assert (code, out) == (1, "")
    assert "has no reference data to compare the batch with" in err and "--self-reference" in err

    code, out, err = cli(capsys, "batch-infer", str(data), "--model", str(model_path), "--labels", "species",
                         "--features", ",".join(FEATURES), "--timestamp-column", "ts", "--job-name", "nightly",
                         "--drift", "--base-period", "10", "--reference", str(ref), *base)
    assert code == 0 and err == ""
    endpoint_id = default_endpoint_id(PROJECT, "nightly")
    lines = out.splitlines()
    assert len(lines) == 9
    assert lines[0].startswith(f"recorded 400 rows into endpoint nightly ({endpoint_id}), batch ")
    assert lines[1].startswith("  event times 2024-01-01 00:00:00Z .. 2024-01-01 00:19:57Z; predictions: ")
    assert lines[2] == "  reference: the reference data given (registered as the endpoint's reference)"
    assert lines[3] == ("histogram-data-drift: 2 window(s) of 10 min analysed and stored; "
                        "endpoint drift status: detected")
    assert lines[4].split()[:4] == ["2024-01-01", "00:00-00:10", "general_drift", "detected"]
    assert lines[5].split() == ["drifted_features_share", "detected", "1"]
    assert lines[6].split()[:4] == ["2024-01-01", "00:10-00:20", "general_drift", "detected"]
    assert lines[8] == (f"stored results: modelmon results --home {home} --project {PROJECT} --endpoint "
                        f"{endpoint_id} --history")
    code, out, _ = cli(capsys, *lines[8].split(": ", 1)[1].split()[1:], "--json")  # the command it names
    assert code == 0
    rows = json.loads(out)["results"]
    assert sorted((r["start_ms"], r["result_name"], r["status"]) for r in rows) == [
        (start, name, 2) for start in (T0, T0 + TEN_MINUTES) for name in ("drifted_features_share", "general_drift")]

    code, out, _ = cli(capsys, "batch-infer", str(data), "--model", str(model_path), "--labels", "species",
                       "--features", ",".join(FEATURES), "--timestamp-column", "ts", "--job-name", "selfish",
                       "--drift", "--base-period", "10", "--self-reference", *base)
    assert code == 0
    assert ("  reference: this batch itself (--self-reference / self_reference=True): the batch is compared with "
            "itself") in out.splitlines()
