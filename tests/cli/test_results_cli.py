"""``modelmon endpoints`` / ``modelmon results`` and :mod:`modelmon.queries` on a home filled by the real writer."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from modelmon.backends import make_backend
from modelmon.cli import main
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WriterEvent
from modelmon.functions.dead_letters import DeadLetters
from modelmon.queries import (
    app_failures,
    dead_letters,
    latest_results,
    metric_history,
    parse_since,
    resolve_endpoint,
    result_history,
)
from modelmon.writer import ResultWriter

PROJECT = "clitest"
PERIOD = 60_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
DRIFT = ResultKindApp.data_drift


def _event(endpoint_id: str, window: int, value: float, status: ResultStatusApp, error: str | None = None):
    start = T0 + window * PERIOD
    results = () if error else (
        ModelMonitoringApplicationResult("general_drift", value, DRIFT, status, {"window": window}),
        ModelMonitoringApplicationResult("drifted_features_share", value / 2, DRIFT, ResultStatusApp.no_detection),
    )
    return WriterEvent(PROJECT, endpoint_id, "histogram-data-drift", start, start + PERIOD, results=results,
                       error=error)


@pytest.fixture
def filled(home):
    """Two endpoints; three windows of results for the first, one for the second, one failed window."""
    backend = make_backend_for(home)
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.5, 0.1, 0.2]})
    ids = {name: register_model_endpoint(backend, PROJECT, name, reference_data=reference).endpoint_id
           for name in ("churn", "fraud")}
    writer = ResultWriter(backend, ProjectPaths(PROJECT))
    for window, (value, status) in enumerate([(0.1, ResultStatusApp.no_detection),
                                              (0.8, ResultStatusApp.detected),
                                              (0.55, ResultStatusApp.potential_detection)]):
        writer.write(_event(ids["churn"], window, value, status))
    writer.write(_event(ids["fraud"], 0, 0.2, ResultStatusApp.no_detection))
    writer.write(_event(ids["fraud"], 1, 0.0, ResultStatusApp.no_detection, error="ValueError: boom"))
    DeadLetters(backend.streams, ProjectPaths(PROJECT).dead_letter_stream, "stream", source="tracking",
                clock=lambda: T0).reject("body is not valid JSON", b"{nope")
    yield backend, ids
    backend.close()


def make_backend_for(home):
    from modelmon.core.config import Settings

    return make_backend(Settings(home=str(home), project=PROJECT))


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_queries_read_latest_history_failures_and_dead_letters(filled):
    backend, ids = filled
    latest = latest_results(backend, PROJECT, endpoint_id=ids["churn"])
    general = latest[latest["result_name"] == "general_drift"].iloc[0]
    assert (general["value"], general["status_name"], general["start_ms"]) == (0.55, "potential_detection",
                                                                                 T0 + 2 * PERIOD)
    assert general["extra_data"] == {"window": 2}
    history = result_history(backend, PROJECT, endpoint_id=ids["churn"], app_name="histogram-data-drift")
    assert len(history) == 6
    general_history = history[history["result_name"] == "general_drift"]
    assert general_history["value"].tolist() == [0.1, 0.8, 0.55]
    assert general_history["end_ms"].tolist() == [T0 + PERIOD, T0 + 2 * PERIOD, T0 + 3 * PERIOD]
    assert result_history(backend, PROJECT, since_ms=T0 + 2 * PERIOD)["end_ms"].min() == T0 + 2 * PERIOD
    failures = app_failures(backend, PROJECT)
    assert failures[["endpoint_id", "start_ms", "error"]].values.tolist() == [
        [ids["fraud"], T0 + PERIOD, "ValueError: boom"]]
    letters = dead_letters(backend, PROJECT)
    assert letters[["function", "reason", "payload"]].values.tolist() == [["stream", "body is not valid JSON", "{nope"]]


def test_queries_on_an_empty_project_return_empty_frames_with_columns(filled):
    backend, _ = filled
    assert list(result_history(backend, "other").columns)[:3] == ["endpoint_id", "app_name", "result_name"]
    assert latest_results(backend, "other").empty and app_failures(backend, "other").empty
    assert dead_letters(backend, "other").empty
    # history tables created (as the writer does when it starts) but never written: the TSDB's read has none
    # of the columns
    paths = ProjectPaths("fresh")
    for table in (paths.app_results_tsdb, paths.metrics_tsdb):
        backend.tsdb.create_table(table)
    for empty in (result_history(backend, "fresh"), result_history(backend, "fresh", extra_data=True),
                  metric_history(backend, "fresh"), result_history(backend, PROJECT, endpoint_id="nobody")):
        assert empty.empty and {"endpoint_id", "end_ms", "value"} <= set(empty.columns)


def test_resolve_endpoint_by_id_prefix_and_name(filled):
    backend, ids = filled
    assert resolve_endpoint(backend, PROJECT, "fraud") == ids["fraud"]
    assert resolve_endpoint(backend, PROJECT, ids["churn"][:6]) == ids["churn"]
    with pytest.raises(NotFound, match="no endpoint with id or name 'nope'"):
        resolve_endpoint(backend, PROJECT, "nope")


def test_endpoints_command_lists_endpoints_with_drift_status(filled, home, capsys):
    _, ids = filled
    code, out, _ = _cli(capsys, "endpoints", "--home", str(home), "--project", PROJECT, "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["churn"]["endpoint_id"] == ids["churn"]
    assert rows["churn"]["drift_status_name"] == "potential_detection"  # the latest window's highest status
    assert rows["fraud"]["feature_names"] == ["x", "y"]
    code, out, _ = _cli(capsys, "endpoints", "--home", str(home), "--project", PROJECT)
    assert code == 0 and "churn" in out and "potential_detection" in out


def test_results_command_latest_history_filters_and_failures(filled, home, capsys):
    _, ids = filled
    base = ["results", "--home", str(home), "--project", PROJECT]
    code, out, _ = _cli(capsys, *base, "--json", "--endpoint", "churn")
    assert code == 0
    data = json.loads(out)
    assert {(r["result_name"], r["value"], r["status_name"]) for r in data["results"]} == {
        ("general_drift", 0.55, "potential_detection"), ("drifted_features_share", 0.275, "no_detection")}
    assert data["failures"] == []
    code, out, _ = _cli(capsys, *base, "--json", "--history", "--since", str(T0 + 2 * PERIOD))
    rows = json.loads(out)["results"]
    assert sorted((r["end_ms"] - T0) // PERIOD for r in rows) == [2, 2, 3, 3]
    code, out, _ = _cli(capsys, *base, "--json", "--endpoint", ids["fraud"][:8])
    data = json.loads(out)
    assert [r["value"] for r in data["results"] if r["result_name"] == "general_drift"] == [0.2]
    assert [f["error"] for f in data["failures"]] == ["ValueError: boom"]
    code, out, _ = _cli(capsys, *base)
    assert code == 0 and "potential_detection" in out and "1 failed window(s)" in out and "ValueError: boom" in out


def test_results_command_errors_are_one_line(filled, home, tmp_path, capsys):
    code, _, err = _cli(capsys, "results", "--home", str(home), "--project", PROJECT, "--endpoint", "nope")
    assert code == 1 and "no endpoint with id or name 'nope'" in err
    code, _, err = _cli(capsys, "results", "--home", str(home), "--project", PROJECT, "--since", "yesterday")
    assert code == 1 and "--since 'yesterday'" in err
    missing = tmp_path / "missing"
    code, _, err = _cli(capsys, "endpoints", "--home", str(missing))
    assert code == 1 and "no modelmon home" in err and not missing.exists()


def test_parse_since_forms():
    now = 10 * 86_400_000
    assert parse_since("30m", now) == now - 30 * 60_000
    assert parse_since("1.5h", now) == now - 90 * 60_000
    assert parse_since("1d", now) == now - 86_400_000
    assert parse_since("1970-01-02T00:00:00+01:00", now) == 86_400_000 - 3_600_000


def test_results_table_prints_a_missing_value_as_a_dash(home, capsys):
    """A NaN result (a missing value, kept as MLRun keeps it) reads ``-`` in the table."""
    backend = make_backend_for(home)
    endpoint_id = register_model_endpoint(backend, PROJECT, "gaps").endpoint_id
    ResultWriter(backend, ProjectPaths(PROJECT)).write(
        _event(endpoint_id, 0, float("nan"), ResultStatusApp.irrelevant))
    backend.close()
    code, out, _ = _cli(capsys, "results", "--home", str(home), "--project", PROJECT)
    header = out.splitlines()[0].split()
    rows = {cells[header.index("result_name")]: cells for line in out.splitlines() if line.startswith("gaps")
            for cells in [line.split()]}
    assert code == 0 and "nan" not in out.lower()
    assert rows["general_drift"][header.index("value")] == "-"
    assert rows["drifted_features_share"][header.index("value")] == "-"
