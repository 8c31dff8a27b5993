"""A local home written before modelmon's tables left MLRun's paths (schema version 1: latest results in KV
``monitoring-apps/app-results``, metric history in TSDB ``monitoring-apps/metrics``) opens, migrates to
version 2 and reads the same results; a newer version is still refused."""

from __future__ import annotations

import sqlite3

import pytest

from modelmon import queries
from modelmon.backends.local import open_local_backend
from modelmon.backends.local.backend import DB_FILE
from modelmon.core.errors import CorruptStore
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.events import WriterEvent
from modelmon.writer import ResultWriter

PROJECT = "fraud"
PATHS = ProjectPaths(PROJECT)
OLD = f"users/pipelines/{PROJECT}/monitoring-apps"
T0 = 1_764_516_000_000


def _read(backend):
    return (queries.latest_results(backend, PROJECT).to_dict("records"),
            queries.result_history(backend, PROJECT).to_dict("records"),
            queries.metric_history(backend, PROJECT).to_dict("records"),
            queries.latest_metrics(backend, PROJECT).to_dict("records"))


def _old_home(home):
    """A home as version 1 wrote it: the current writer's data moved back to the old names."""
    backend = open_local_backend(home, clock=lambda: T0)
    writer = ResultWriter(backend, PATHS, clock=lambda: T0 + 3_600_000)
    for k, drift in enumerate((0.2, 0.8)):
        start = T0 + k * 600_000
        result = ModelMonitoringApplicationResult("general_drift", drift, ResultKindApp.data_drift,
                                                  ResultStatusApp.no_detection, {"k": k})
        writer.write(WriterEvent(PROJECT, "ep1", "drift", start, start + 600_000, (result,),
                                 (ModelMonitoringApplicationMetric("tvd_mean", drift / 2),)))
    expected = _read(backend)
    backend.close()
    with sqlite3.connect(home / DB_FILE) as conn:
        conn.execute("UPDATE kv SET tbl = ? WHERE tbl = ?", (f"{OLD}/app-results", PATHS.app_results_table))
        conn.execute("UPDATE tsdb_tables SET name = ? WHERE name = ?", (f"{OLD}/metrics", PATHS.metrics_tsdb))
        conn.execute("UPDATE modelmon_meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    return expected


def test_a_version_1_home_migrates_and_reads_the_same(tmp_path):
    expected = _old_home(tmp_path)
    assert len(expected[0]) == 1 and len(expected[1]) == 2 and len(expected[2]) == 2
    backend = open_local_backend(tmp_path)
    try:
        assert _read(backend) == expected
    finally:
        backend.close()
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        version = conn.execute("SELECT value FROM modelmon_meta WHERE key = 'schema_version'").fetchone()[0]
        kv_tables = {row[0] for row in conn.execute("SELECT DISTINCT tbl FROM kv")}
        tsdb_tables = {row[0] for row in conn.execute("SELECT name FROM tsdb_tables")}
    conn.close()
    assert version == "2"
    assert f"{OLD}/app-results" not in kv_tables and PATHS.app_results_table in kv_tables
    assert f"{OLD}/metrics" not in tsdb_tables and PATHS.metrics_tsdb in tsdb_tables


def test_migration_touches_only_the_two_tables(tmp_path):
    """Another project's folder, and a table merely ending in the old name, keep their names."""
    backend = open_local_backend(tmp_path)
    backend.kv.put(f"{OLD}/app-results-extra-data", "k", {"a": 1})
    backend.kv.put("users/pipelines/other/monitoring-apps/registry", "k", {"a": 2})
    backend.close()
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        conn.execute("UPDATE modelmon_meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    backend = open_local_backend(tmp_path)
    try:
        assert backend.kv.get(f"{OLD}/app-results-extra-data", "k") == {"a": 1}
        assert backend.kv.get("users/pipelines/other/monitoring-apps/registry", "k") == {"a": 2}
    finally:
        backend.close()


def test_a_newer_version_is_still_refused(tmp_path):
    open_local_backend(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        conn.execute("UPDATE modelmon_meta SET value = '3' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(CorruptStore, match="schema version 3, this modelmon reads version 2"):
        open_local_backend(tmp_path)
