"""The project SDK's local target (functions in the home's local service) on Kafka + PostgreSQL + fsspec samples.

The settings come from the environment as a user sets them; the SDK renders the bundle with them, so the
service runs ``kafka-cluster`` triggers on the test broker, and a window of tracked traffic ends as the
histogram app's results in PostgreSQL, its samples under the samples URL.
"""

from __future__ import annotations

import time

import numpy as np
import orjson
import pandas as pd
import psycopg
import pytest
import yaml
from deploy_paths import REPO
from kafka_server import KafkaTestBroker
from postgres_server import shared_server

import modelmon
from modelmon.backends import OutRecord
from modelmon.backends.kafka.topics import kafka_topic
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.events import tracking_body
from modelmon.service import stop_service
from modelmon.testing.traffic import spread_requests

pytestmark = pytest.mark.slow

PROJECT, MODEL, MINUTE, ROWS = "kflow", "kflow-model", 60_000, 30


@pytest.fixture
def stores(tmp_path, monkeypatch):
    """The broker, the database and the samples folder, named by the environment; the service stopped after."""
    home = tmp_path / "home"
    with KafkaTestBroker(data_dir=tmp_path / "kafka") as broker, shared_server().schema() as dsn:
        monkeypatch.setenv("MODELMON_POSTGRES_DSN", dsn)
        monkeypatch.setenv("MODELMON_KAFKA_BROKERS", broker.bootstrap)
        monkeypatch.setenv("MODELMON_SAMPLES_URL", (tmp_path / "samples").as_uri())
        try:
            yield home, broker, dsn, tmp_path / "samples"
        finally:
            stop_service(home)


def test_enabled_functions_run_on_kafka_and_store_in_postgres(stores):
    home, broker, dsn, samples = stores
    base = now_ms() // MINUTE * MINUTE - 10 * MINUTE
    rng = np.random.default_rng(3)
    reference = pd.DataFrame(rng.normal(size=(200, 3)), columns=["f0", "f1", "f2"])
    paths = ProjectPaths(PROJECT)
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=REPO, backend="postgres",
                                        controller_interval="1s") as project:
        states = project.enable_model_monitoring(base_period=1, wait_for_deployment=True)
        assert all(s.state == "ready" for s in states)
        endpoint = project.register_model_endpoint(MODEL, reference_data=reference, function_uri=f"{PROJECT}/serve",
                                                   model_version="1")
        requests = spread_requests(MODEL, base, 2 * MINUTE, 2 * ROWS, rng, features=3)
        body = tracking_body(model=MODEL, version="1", function_uri=f"{PROJECT}/serve", requests=requests)
        project.backend.streams.put_records(paths.tracking_stream, [OutRecord(orjson.dumps(body), partition_key="k")])
        deadline = time.monotonic() + 90
        while True:
            results = project.get_results(app_name="histogram-data-drift")
            if not results.empty and int(results["end_ms"].max()) == base + 2 * MINUTE:
                break
            assert time.monotonic() < deadline, "no histogram result for the second window within 90 s"
            time.sleep(0.2)
        assert project.get_model_endpoint(endpoint.endpoint_id).request_count == 2 * ROWS
    triggers = {}
    for config_file in home.rglob("function.yaml"):
        config = yaml.safe_load(config_file.read_text())
        for trigger in (config["spec"].get("triggers") or {}).values():
            assert trigger["kind"] != "v3ioStream"
            if trigger["kind"] == "kafka-cluster":
                triggers[config["metadata"]["name"]] = trigger["attributes"]["topics"]
    assert kafka_topic(paths.tracking_stream) in {t for topics in triggers.values() for t in topics}
    assert len(broker.topic_records(kafka_topic(paths.writer_stream))) > 0  # the app wrote, the writer read it
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM modelmon_kv WHERE tbl = %s",
                            (paths.app_results_table,)).fetchone()[0] > 0
    assert any(p.suffix == ".parquet" for p in (samples / "samples" / endpoint.endpoint_id).rglob("*"))
