"""Every path of ``ProjectPaths`` against MLRun's V3IO layout: where MLRun keeps a table, modelmon's is of
the same kind; modelmon's own tables beside MLRun's per-endpoint tables take names no endpoint may have.

MLRun's layout, as its source sets it (``mlrun/config.py`` store_prefixes, ``db/tsdb/v3io/v3io_connector.py``,
``db/stores/v3io_kv/kv_store.py``): ``{x}`` is any of MLRun's ids or names (``[a-zA-Z0-9_-]+``)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from modelmon.core.paths import MLRUN_KINDS, ProjectPaths

P = "fraud"
MLRUN = {
    f"projects/{P}/model-endpoints/stream": "stream",
    f"projects/{P}/model-endpoints/stream-{{x}}": "stream",  # the writer's and each application's stream
    f"users/pipelines/{P}/model-endpoints/endpoints": "kv",
    f"users/pipelines/{P}/model-endpoints/events": "tsdb",
    f"users/pipelines/{P}/model-endpoints/predictions": "tsdb",
    f"users/pipelines/{P}/model-endpoints/errors": "tsdb",
    f"users/pipelines/{P}/monitoring-apps/app-results": "tsdb",
    f"users/pipelines/{P}/monitoring-apps/metrics": "tsdb",
    f"users/pipelines/{P}/monitoring-schedules/functions/{{x}}": "kv",
}
#: MLRun's per-endpoint tables: ``monitoring-apps/<endpoint_id>`` and ``<endpoint_id>_metrics`` (KV).
PER_ENDPOINT = re.compile(rf"users/pipelines/{P}/monitoring-apps/[a-zA-Z0-9_-]+")

#: What modelmon keeps at each path (every public attribute of ProjectPaths must be listed).
MODELMON = {
    "tracking_stream": "stream", "app_stream": "stream", "writer_stream": "stream", "labels_stream": "stream",
    "dead_letter_stream": "stream", "alerts_parked_stream": "stream",
    "endpoints_table": "kv", "app_results_table": "kv", "app_results_extra_table": "kv", "app_metrics_table": "kv",
    "apps_table": "kv", "schedules_table": "kv", "claims_table": "kv", "alerts_table": "kv",
    "alert_configs_table": "kv", "alert_activations_table": "kv", "alert_deliveries_table": "kv",
    "app_failures_table": "kv", "labels_table": "kv",
    "mlrun_endpoint_results_table": "kv", "mlrun_endpoint_metrics_table": "kv",
    "predictions_tsdb": "tsdb", "errors_tsdb": "tsdb", "events_tsdb": "tsdb", "app_results_tsdb": "tsdb",
    "metrics_tsdb": "tsdb", "mlrun_results_tsdb": "tsdb", "mlrun_metrics_tsdb": "tsdb",
    "samples_prefix": "files", "artifacts_prefix": "files", "reference_rows_object": "files",
}


#: modelmon's own streams, named ``stream-<x>`` beside the apps' streams.
OWN_STREAMS = {"labels_stream", "dead_letter_stream", "alerts_parked_stream"}


def _mlrun_kind(path: str) -> str | None:
    for pattern, kind in MLRUN.items():
        if re.fullmatch(re.escape(pattern).replace(re.escape("{x}"), "[a-zA-Z0-9_-]+"), path):
            return kind
    return None


def _paths() -> dict[str, str]:
    paths = ProjectPaths(P)
    names = [n for n in dir(paths) if not n.startswith("_") and n not in {f.name for f in dataclasses.fields(paths)}]
    assert sorted(names) == sorted(MODELMON), "a new path: say what modelmon keeps there"
    out = {}
    for name in names:
        value = getattr(paths, name)
        out[name] = value("drift") if name == "app_stream" else value("0f3c9a") if callable(value) else value
    return out


@pytest.mark.parametrize("name", sorted(MODELMON))
def test_a_path_mlrun_uses_holds_the_same_kind_of_table(name):
    path = _paths()[name]
    kind = _mlrun_kind(path)
    if kind is not None:
        if name in OWN_STREAMS:  # stream-<x> is also an app's stream in MLRun's layout: no app may take <x>
            with pytest.raises(ValueError, match="one of the project's streams"):
                ProjectPaths(P).app_stream(path.rsplit("/stream-", 1)[1])
        assert MODELMON[name] == kind, f"{name} ({path}) is a {MODELMON[name]} where MLRun keeps a {kind}"
        assert MLRUN_KINDS.get(name, kind) == kind
    elif PER_ENDPOINT.fullmatch(path) and name not in ("mlrun_endpoint_results_table", "mlrun_endpoint_metrics_table"):
        # modelmon's own table in the folder of MLRun's per-endpoint tables: no endpoint may take its name
        table = path.rsplit("/", 1)[1]
        with pytest.raises(ValueError, match="monitoring-apps tables"):
            ProjectPaths(P).mlrun_endpoint_results_table(table)


def test_mlrun_kinds_names_the_paths_mlrun_uses():
    paths = _paths()
    used = {name for name in MODELMON if _mlrun_kind(paths[name]) is not None or name.startswith("mlrun_")}
    assert used - OWN_STREAMS == set(MLRUN_KINDS)


def test_the_old_homes_of_modelmons_tables_are_mlruns():
    """Before, latest results (KV) sat on MLRun's results TSDB and the metric history on its metrics TSDB."""
    paths = ProjectPaths(P)
    assert paths.app_results_table.endswith("/monitoring-apps/app-results-latest")
    assert paths.metrics_tsdb.endswith("/monitoring-apps/metrics-history")
    assert (paths.mlrun_results_tsdb, paths.mlrun_metrics_tsdb) == (
        f"users/pipelines/{P}/monitoring-apps/app-results", f"users/pipelines/{P}/monitoring-apps/metrics")


@pytest.mark.parametrize("app", ["labels", "dead-letter", "alerts-parked", "model-monitoring-writer"])
def test_an_app_may_not_take_a_project_streams_name(app):
    with pytest.raises(ValueError, match="one of the project's streams"):
        ProjectPaths(P).app_stream(app)
