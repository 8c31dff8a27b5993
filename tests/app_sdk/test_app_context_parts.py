"""The parts of the MLRun-style app context: the keyword logger, the endpoint object, MLRun's padded statistics
and ``dict_to_histogram``, artifact objects and key sanitising, the logging methods and ``sample_df``'s columns."""

from __future__ import annotations

import io
import json
import logging
import math
import sys

import numpy as np
import pandas as pd
import pytest

from modelmon import ModelMonitoringApplicationBase, ModelMonitoringApplicationMetric, MonitoringApplicationContext
from modelmon.apps.builtin import SystemPerformanceApplication
from modelmon.apps.sdk import ObjectStoreArtifactSink, list_artifacts
from modelmon.apps.sdk.app_logger import MAX_FIELD_CHARS, AppLogger
from modelmon.apps.sdk.artifact_items import Artifact, PlotlyArtifact, TableArtifact, sanitise_key
from modelmon.apps.sdk.endpoint_view import EndpointType, ModelEndpointView
from modelmon.apps.sdk.mlrun_stats import dict_to_histogram, pad_histogram, padded_stats
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.stats import feature_stats
from modelmon.testing import InMemoryObjectStore

BIG = sys.float_info.max


def _logger() -> tuple[AppLogger, io.StringIO]:
    stream = io.StringIO()
    base = logging.getLogger("test.app_context.logger")
    base.handlers[:] = [logging.StreamHandler(stream)]
    base.handlers[0].setFormatter(logging.Formatter("%(levelname)s %(filename)s %(message)s"))
    base.setLevel(logging.INFO)
    base.propagate = False
    return AppLogger(base), stream


def test_the_logger_renders_keyword_fields_and_skips_disabled_levels_without_rendering():
    logger, stream = _logger()

    class Loud:
        def __repr__(self) -> str:
            raise AssertionError("a disabled level must not render its fields")

    logger.debug("not shown", frame=Loud())
    logger.info("Counted", count=3, start=pd.Timestamp(0, tz="UTC"))
    logger.warning("%d rows of %s", 2, "x")
    logger.info_with("nuclio spelling", key="v")
    logger.info("long", text="z" * (MAX_FIELD_CHARS + 10))
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed", window=1)
    lines = stream.getvalue().splitlines()
    assert lines[0] == ("INFO test_app_context_parts.py Counted: {'count': 3, "
                        "'start': Timestamp('1970-01-01 00:00:00+0000', tz='UTC')}")
    assert lines[1] == "WARNING test_app_context_parts.py 2 rows of x"
    assert lines[2] == "INFO test_app_context_parts.py nuclio spelling: {'key': 'v'}"
    assert lines[3].endswith(f"… ({MAX_FIELD_CHARS + 12} chars)}}")  # the repr: 10 more z, and quotes
    assert lines[4] == "ERROR test_app_context_parts.py failed: {'window': 1}" and "ValueError: boom" in lines[-1]
    logger.set_logger_level("debug")
    logger.debug("now shown", n=1)
    assert stream.getvalue().splitlines()[-1] == "DEBUG test_app_context_parts.py now shown: {'n': 1}"


def test_the_endpoint_object_reads_a_stored_record_as_mlrun_names_it(home):
    backend = make_backend(Settings(home=str(home), project="shop"))
    reference = pd.DataFrame({"x": np.arange(10.0)})
    endpoint = register_model_endpoint(backend, "shop", "churn", reference_data=reference, label_names=["p"],
                                       function_name="serving", function_tag="v2", model_version="3",
                                       model_class="SKLearnModelServer", labels={"team": "a"},
                                       model_uri="store://models/shop/churn:3")
    item = EndpointStore(backend.kv, ProjectPaths("shop")).item(endpoint.endpoint_id)
    record = endpoint.to_dict() | {"drift_status": 2, "request_count": 4, "latency_sum_us": 1000.0,
                                   "first_request_ms": 60_000, "last_request_ms": 120_000, "error_count": 1}
    view = ModelEndpointView.from_record(record, endpoint_id=endpoint.endpoint_id)
    assert item is not None
    meta, spec, status = view.metadata, view.spec, view.status
    assert (meta.name, meta.uid, meta.project, meta.endpoint_type, meta.labels) == (
        "churn", endpoint.endpoint_id, "shop", EndpointType.NODE_EP, {"team": "a"})
    assert (spec.model_name, spec.model, spec.model_tags, spec.model_class, spec.model_uri) == (
        "churn", "churn:3", ["3"], "SKLearnModelServer", "store://models/shop/churn:3")
    assert (spec.function_name, spec.function_tag, spec.function_uri) == ("serving", "v2", "shop/serving:v2")
    assert (spec.feature_names, spec.label_names) == (["x"], ["p"])
    assert spec.feature_stats == feature_stats(reference) == status.feature_stats
    assert (status.result_status, status.drift_status, status.error_count, status.avg_latency) == (
        2, "DRIFT_DETECTED", 1, 250.0)
    assert status.first_request == pd.Timestamp(60_000, unit="ms", tz="UTC")
    assert status.last_request == meta.updated == pd.Timestamp(120_000, unit="ms", tz="UTC")
    # and it is the record's dict, as modelmon apps read it
    assert view == record and dict(view) == record and isinstance(view, dict)
    assert view["name"] == "churn" and view.get("drift_status") == 2
    assert view.get("model_name") == "churn" and view.get("function_tag") == "v2"  # MLRun's get: the sections
    assert view.get("nothing", "default") == "default"
    nested = view.to_dict()
    assert nested["kind"] == "model-endpoint" and nested["spec"]["function_name"] == "serving"
    assert nested["metadata"]["uid"] == endpoint.endpoint_id and nested["status"]["drift_status"] == "DRIFT_DETECTED"


def test_a_batch_endpoint_and_an_empty_record():
    batch = ModelEndpointView.from_record({"function_uri": "p/batch-inference", "name": "job"}, endpoint_id="e1")
    assert batch.metadata.endpoint_type == EndpointType.BATCH_EP
    empty = ModelEndpointView.from_record({}, endpoint_id="e2", name="churn", project="p", feature_names=["a"])
    assert (empty.metadata.name, empty.metadata.uid, empty.metadata.project, empty.spec.feature_names) == (
        "churn", "e2", "p", ["a"])
    assert (empty.status.result_status, empty.status.drift_status, empty.status.last_request) == (-1, "", None)
    assert empty == {}


def test_padding_is_mlruns_and_reads_padded_and_infinite_histograms():
    plain = [[2, 3], [0.0, 1.0, 2.0]]
    padded = pad_histogram(plain)
    assert padded == [[0, 2, 3, 0], [-BIG, 0.0, 1.0, 2.0, BIG]]
    assert pad_histogram(padded) == padded  # already MLRun's: kept
    assert pad_histogram([[1, 2, 3, 4], [-math.inf, 0.0, 1.0, 2.0, math.inf]]) == [
        [1, 2, 3, 4], [-BIG, 0.0, 1.0, 2.0, BIG]]
    # an infinite bin outside MLRun's padding is merged into it
    assert pad_histogram([[1, 0, 2, 3, 0, 5], [-math.inf, -BIG, 0.0, 1.0, 2.0, BIG, math.inf]]) == [
        [1, 2, 3, 5], [-BIG, 0.0, 1.0, 2.0, BIG]]
    assert pad_histogram([[], []]) == [[], []]
    stats = {"x": {"count": 5, "hist": plain}, "c": {"categories": ["a"], "hist": [[3, 1], [0, 1, 2]]},
             "no_hist": {"count": 0}}
    out = padded_stats(stats)
    assert out["x"]["hist"] == padded and out["c"]["hist"] == [[3, 1], [0, 1, 2]] and out["no_hist"] == {"count": 0}
    assert stats["x"]["hist"] == plain  # a copy
    json.dumps(out, allow_nan=False)


def test_dict_to_histogram_divides_each_numeric_feature_by_its_count():
    stats = {"x": {"count": 4, "hist": [[0, 1, 3, 0], [-BIG, 0.0, 1.0, 2.0, BIG]]},
             "y": {"count": 2, "hist": [[0, 2, 0, 0], [-BIG, 5.0, 6.0, 7.0, BIG]]},
             "c": {"count": 4, "categories": ["a"], "hist": [[3, 1], [0, 1, 2]]}, "meta": {"count": 1}}
    frame = dict_to_histogram(stats)
    assert list(frame.columns) == ["x", "y"] and frame.shape == (4, 2)
    assert frame["x"].tolist() == [0.0, 0.25, 0.75, 0.0] and frame["y"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert MonitoringApplicationContext.dict_to_histogram is not None
    assert ModelMonitoringApplicationBase.dict_to_histogram(stats).equals(frame)


def _context(df: pd.DataFrame, store: InMemoryObjectStore | None = None, **kwargs) -> MonitoringApplicationContext:
    return MonitoringApplicationContext(
        application_name="app", project_name="proj", endpoint_id="ep1",
        start_infer_time=pd.Timestamp(60_000, unit="ms", tz="UTC"),
        end_infer_time=pd.Timestamp(120_000, unit="ms", tz="UTC"), sample_df=df,
        artifact_sink=ObjectStoreArtifactSink(store, "proj") if store is not None else None, **kwargs)


def test_artifact_objects_keys_and_logging_methods(tmp_path):
    store = InMemoryObjectStore()
    context = _context(pd.DataFrame({"x": [1.0, 2.0]}), store)
    table = context.log_artifact(TableArtifact("rows 2026-01-01 00:00:00+00:00", df=context.sample_df),
                                 tag="v1", labels={"a": "b"})
    assert table.key == "rows_2026-01-01_00_00_00_00_00" and table.endswith("/rows_2026-01-01_00_00_00_00_00.csv")
    assert (table.kind, table.tag, table.labels) == (
        "table", "v1", {"a": "b", "mlrun/app-name": "app", "mlrun/endpoint-id": "ep1"})
    assert store.get_object(table) == b"x\n1.0\n2.0\n" and table.target_path == str(table)
    body = context.log_artifact(Artifact(key="drift", body=json.dumps({"x": 0.1}), format="json"))
    assert body.endswith("drift.json") and json.loads(store.get_object(body)) == {"x": 0.1}
    text = context.log_artifact(TableArtifact("summary", body="a,b\n1,2\n", format="csv"))
    assert text.endswith("summary.csv")
    page = tmp_path / "report.html"
    page.write_text("<p>hi</p>")
    assert store.get_object(context.log_artifact("report", local_path=str(page))) == b"<p>hi</p>"
    # the older spelling and MLRun's
    assert context.log_dataset("old", context.sample_df).endswith("/old.parquet")
    dataset = context.log_dataset(key="new", df=context.sample_df, tag="t", format="csv")
    assert dataset.kind == "dataset" and dataset.endswith("/new.csv")
    (tmp_path / "model.pkl").write_bytes(b"\x80model")
    model = context.log_model("clf", model_dir=str(tmp_path), model_file="model.pkl", framework="sklearn",
                              metrics={"accuracy": 0.9})
    assert model.kind == "model" and store.get_object(model) == b"\x80model" and model.endswith("/clf.bin")
    spec = json.loads(store.get_object(model.replace("/clf.bin", "/clf-spec.json")))
    assert spec["framework"] == "sklearn" and spec["metrics"] == {"accuracy": 0.9}
    assert store.get_object(context.log_model("obj", body={"w": [1, 2]})).startswith(b"\x80")  # pickled
    shared = context.project.log_dataset("everyone", context.sample_df)
    assert "/app/_all/60000-120000/everyone.parquet" in shared
    assert sorted(a.name for a in list_artifacts(store, "proj")) == [
        "clf", "clf-spec", "drift", "everyone", "new", "obj", "obj-spec", "old", "report",
        "rows_2026-01-01_00_00_00_00_00", "summary"]


def test_bad_artifact_keys_and_payloads_are_refused_clearly():
    context = _context(pd.DataFrame({"x": [1.0]}), InMemoryObjectStore())
    for key in ("../up", "a/b", "..", "+++"):
        with pytest.raises(ValueError, match="invalid artifact name"):
            context.log_artifact(key, body="x")
    with pytest.raises(ValueError, match="pass the payload in the artifact or as body=, not both"):
        context.log_artifact(TableArtifact("t", df=context.sample_df), body="x")
    with pytest.raises(ValueError, match="exactly one of body, df or figure"):
        context.log_artifact(Artifact(key="empty"))
    with pytest.raises(ValueError, match="log_model\\('m'\\) needs body= or model_file="):
        context.log_model("m")
    with pytest.raises(ValueError, match="log_dataset needs a key"):
        context.log_dataset(df=context.sample_df)
    assert sanitise_key("Ok.name-1") == "Ok.name-1" and sanitise_key("_x y") == "x_y"


def test_plotly_artifact_is_stored_as_html():
    go = pytest.importorskip("plotly.graph_objects")
    store = InMemoryObjectStore()
    path = _context(pd.DataFrame({"x": [1.0]}), store).log_artifact(PlotlyArtifact(key="plot", figure=go.Figure()))
    assert path.endswith("/plot.html") and store.get_object(path).startswith(b"<html>")


class _Columns(ModelMonitoringApplicationBase):
    def do_tracking(self, monitoring_context):
        self.seen = (list(monitoring_context.sample_df.columns), list(monitoring_context.sample_df.index),
                     list(monitoring_context.window_df.columns), monitoring_context.sample_df["timestamp"][0])
        return ModelMonitoringApplicationMetric("errors", monitoring_context.error_count)


class _WantsBookkeeping(_Columns):
    SAMPLE_DF_BOOKKEEPING = True


def test_sample_df_has_mlruns_columns_and_window_df_every_column():
    frame = pd.DataFrame({"timestamp": [1, 2, 3], "request_id": ["a", "b", "c"], "latency_us": [5, 6, 7],
                          "error": [None, "boom", None], "x": [1.0, 2.0, 3.0]}, index=[7, 8, 9])
    app = _Columns()
    out = app.evaluate(frame)
    assert app.seen == (["timestamp", "x"], [0, 1, 2], ["timestamp", "request_id", "latency_us", "error", "x"],
                        pd.Timestamp(1, unit="ms", tz="UTC"))  # MLRun's datetimes, from the stored epoch ms
    assert out["value"].tolist() == [1.0]  # error_count still reads the rows' error column
    wants = _WantsBookkeeping()
    wants.evaluate(frame)
    assert wants.seen[0] == ["timestamp", "request_id", "latency_us", "error", "x"] and wants.seen[3] == 1
    # modelmon's built-in apps keep them (system performance reads latency_us)
    got = SystemPerformanceApplication().evaluate(frame).set_index("name")
    assert got.loc["latency_p50_us", "value"] == 6.0  # the rows without an error: 5 and 7


def test_an_app_changing_its_frames_leaves_the_stored_window_alone():
    """The context hands out shallow copies (not copies of every value); replacing or deleting a column in
    ``sample_df`` or ``window_df`` changes neither the other nor the rows it was given."""
    from modelmon.apps.sdk import MonitoringApplicationContext

    stored = pd.DataFrame({"timestamp": [1, 2], "request_id": ["a", "b"], "x": [1.0, 2.0]})
    context = MonitoringApplicationContext(application_name="a", project_name="p", endpoint_id="e",
                                           start_infer_time=pd.Timestamp(0, tz="UTC"),
                                           end_infer_time=pd.Timestamp(3, unit="ms", tz="UTC"), sample_df=stored)
    context.sample_df["x"] = [9.0, 9.0]
    del context.window_df["request_id"]
    assert list(context.sample_df.columns) == ["timestamp", "x"] and context.sample_df["x"].tolist() == [9.0, 9.0]
    assert context.window_df["x"].tolist() == [1.0, 2.0]
    assert list(stored.columns) == ["timestamp", "request_id", "x"] and stored["x"].tolist() == [1.0, 2.0]


class _Histograms(ModelMonitoringApplicationBase):
    def do_tracking(self, monitoring_context):
        self.seen = (monitoring_context.feature_stats["x"]["hist"], monitoring_context.sample_df_stats["x"]["hist"])
        return ModelMonitoringApplicationMetric("rows", len(monitoring_context.sample_df))


def test_reference_stats_padded_by_mlrun_or_not_give_the_same_context():
    plain = feature_stats(pd.DataFrame({"x": np.linspace(0.0, 1.0, 100)}), bins=4)
    from_mlrun = json.loads(json.dumps(padded_stats(plain)))  # as MLRun stores them
    window = pd.DataFrame({"x": [-5.0, 0.1, 0.5, 1.0, 7.0]})
    seen = []
    for reference in (plain, from_mlrun):
        app = _Histograms()
        app.evaluate(window, feature_stats=reference)
        seen.append(app.seen)
    edges = [-BIG, 0.0, 0.25, 0.5, 0.75, 1.0, BIG]
    assert seen[0] == seen[1] == ([[0, 25, 25, 25, 25, 0], edges], [[1, 1, 0, 1, 1, 1], edges])
    assert plain["x"]["hist"][1] == [0.0, 0.25, 0.5, 0.75, 1.0]  # the caller's statistics are not changed
