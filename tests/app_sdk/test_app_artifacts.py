from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from modelmon import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.artifact_formats import encode
from modelmon.apps.sdk.artifacts import (
    ObjectStoreArtifactSink,
    artifact_path,
    check_artifact_name,
    list_artifacts,
)
from modelmon.cli import main
from modelmon.testing import InMemoryObjectStore

PREFIX = "users/pipelines/proj/artifacts"


def _context(sink, endpoint_id="ep1", app="my-app") -> MonitoringApplicationContext:
    return MonitoringApplicationContext(
        application_name=app, project_name="proj", endpoint_id=endpoint_id,
        start_infer_time=pd.Timestamp(60_000, unit="ms", tz="UTC"),
        end_infer_time=pd.Timestamp(120_000, unit="ms", tz="UTC"),
        sample_df=pd.DataFrame(), artifact_sink=sink,
    )


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "a\\b", ".hidden", "", "x" * 129, "a..b", "sp ace", None])
def test_unsafe_artifact_names_are_rejected(name):
    with pytest.raises(ValueError, match="invalid artifact name"):
        check_artifact_name(name)


def test_unsafe_names_never_reach_the_store():
    store = InMemoryObjectStore()
    context = _context(ObjectStoreArtifactSink(store, "proj"))
    with pytest.raises(ValueError, match="invalid artifact name"):
        context.log_artifact("../../outside", {"a": 1})
    with pytest.raises(ValueError, match="endpoint id"):
        _context(ObjectStoreArtifactSink(store, "proj"), endpoint_id="../x").log_artifact("ok", {"a": 1})
    assert store.objects == {}


def test_artifacts_are_stored_per_project_app_endpoint_and_window():
    store = InMemoryObjectStore()
    context = _context(ObjectStoreArtifactSink(store, "proj"))
    path = context.log_artifact("summary", {"drift": 0.5})
    assert path == f"{PREFIX}/my-app/ep1/60000-120000/summary.json"
    assert json.loads(store.get_object(path)) == {"drift": 0.5}
    shared = context.log_artifact("table", "<b>hi</b>", format="html", unique_per_endpoint=False)
    assert shared == f"{PREFIX}/my-app/_all/60000-120000/table.html"
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    data_path = context.log_dataset("rows", df)
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(store.get_object(data_path))), df)
    csv_path = context.log_dataset("rows", df, format="csv")
    assert store.get_object(csv_path) == b"a,b\n1,x\n2,y\n"
    assert context.log_artifact("note", "plain") == f"{PREFIX}/my-app/ep1/60000-120000/note.txt"


def test_listing_filters_by_app_and_endpoint_and_skips_foreign_objects():
    store = InMemoryObjectStore()
    _context(ObjectStoreArtifactSink(store, "proj"), endpoint_id="ep1").log_artifact("a", {"x": 1})
    _context(ObjectStoreArtifactSink(store, "proj"), endpoint_id="ep2").log_artifact("b", {"x": 1})
    _context(ObjectStoreArtifactSink(store, "proj"), app="other").log_artifact("c", {"x": 1})
    store.put_object(f"{PREFIX}/stray-file", b"")
    assert [a.name for a in list_artifacts(store, "proj")] == ["a", "b", "c"]
    assert [a.name for a in list_artifacts(store, "proj", endpoint_id="ep2")] == ["b"]
    only = list_artifacts(store, "proj", app_name="other")
    assert [(a.app_name, a.endpoint_id, a.start_ms, a.end_ms, a.format) for a in only] == [
        ("other", "ep1", 60_000, 120_000, "json")]


def test_format_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown artifact format 'xml'"):
        encode({"a": 1}, "xml")
    with pytest.raises(ValueError, match="format 'parquet' needs a DataFrame"):
        encode({"a": 1}, "parquet")
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        encode({"a": object()}, "json")
    context = _context(ObjectStoreArtifactSink(InMemoryObjectStore(), "proj"))
    with pytest.raises(ValueError, match="figure must be a matplotlib or plotly figure"):
        context.log_artifact("fig", figure=[1, 2])
    with pytest.raises(ValueError, match="exactly one of body, df or figure"):
        context.log_artifact("both", {"a": 1}, df=pd.DataFrame())
    with pytest.raises(ValueError, match="needs a pandas DataFrame"):
        context.log_dataset("d", {"a": 1})


def test_plotly_figures_are_stored_as_html():
    import plotly.graph_objects as go  # an evidently dependency, installed with the dev extra

    store = InMemoryObjectStore()
    path = _context(ObjectStoreArtifactSink(store, "proj")).log_artifact("plot", figure=go.Figure(go.Bar(y=[1, 2])))
    assert path.endswith("/plot.html")
    assert b"<html>" in store.get_object(path)


def test_without_a_sink_logging_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no artifact store"):
        _context(None).log_artifact("x", {"a": 1})


def test_artifact_path_checks_every_segment():
    assert artifact_path("proj", "app", "ep", 1, 2, "n", "csv") == f"{PREFIX}/app/ep/1-2/n.csv"
    with pytest.raises(ValueError, match="application name"):
        artifact_path("proj", "../app", "ep", 1, 2, "n", "csv")


class _Logs(ModelMonitoringApplicationBase):
    NAME = "logs"

    def do_tracking(self, monitoring_context):
        monitoring_context.log_artifact("rows", df=monitoring_context.sample_df, format="csv")
        return {"rows": len(monitoring_context.sample_df)}


def test_evaluate_keeps_artifacts_in_the_given_store():
    store = InMemoryObjectStore()
    _Logs.evaluate(pd.DataFrame({"timestamp": [0, 60_000], "x": [1, 2]}), base_period=1, objects=store)
    assert sorted(store.objects) == [
        "users/pipelines/evaluate/artifacts/logs/evaluate/0-60000/rows.csv",
        "users/pipelines/evaluate/artifacts/logs/evaluate/60000-120000/rows.csv",
    ]


def test_cli_lists_artifacts_of_the_local_backend(tmp_path, capsys, monkeypatch):
    from modelmon.backends import make_backend
    from modelmon.core.config import Settings

    monkeypatch.delenv("MODELMON_PROJECT", raising=False)
    backend = make_backend(Settings(home=str(tmp_path), project="proj"))
    try:
        _context(ObjectStoreArtifactSink(backend.objects, "proj")).log_artifact("summary", {"a": 1})
        _context(ObjectStoreArtifactSink(backend.objects, "proj"), endpoint_id="ep9").log_artifact("s2", "x")
    finally:
        backend.close()
    assert main(["artifacts", "--home", str(tmp_path), "--project", "proj", "--endpoint", "ep1", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(a["name"], a["format"], a["start"]) for a in listed] == [
        ("summary", "json", "1970-01-01T00:01:00+00:00")]
    assert main(["artifacts", "--home", str(tmp_path), "--project", "proj"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["app_name", "endpoint", "id", "start", "end", "name", "format", "path"]
    assert [line.split()[5] for line in table[1:]] == ["summary", "s2"]
    assert main(["artifacts", "--home", str(tmp_path), "--project", "proj", "--app", "nothing"]) == 0
    assert capsys.readouterr().out.strip() == "no artifacts"
