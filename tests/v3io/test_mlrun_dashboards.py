"""MLRun's Grafana panels (1.6/1.7 overview, details, performance) run their queries through the real frames
client against the test servers after the stream function ingested traffic on the v3io backend.

Each panel is its query's contract: backend, table, fields and filter (docs/mlrun-dashboards.md lists every
panel, MLRun's own JSON is not copied). The rolling figures must equal a pandas computation of MLRun's
definitions on the requests sent: predictions in the minute of the row's time and the 4 (5m) or 59 (1h)
before it, up to that time; latency averaged over those requests; ``predictions_per_second = count_5m / 300``.
Panels reading tables the writer keeps (applications, drift measures) are not here.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
import v3io_frames
from v3io_server.stack import ACCESS_KEY, V3ioOpener, running_servers

from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.store import EndpointStore
from modelmon.stream import Ingestor, RawRecord
from modelmon.stream.live_stats import FEATURE_SAMPLE

PROJECT = "p"
PATHS = ProjectPaths(PROJECT)
START = 1_714_557_600_000  # 2024-05-01 10:00 UTC
MINUTE = 60_000
ENDPOINTS = {"ep0a1b2c3d4e5f60718293a4b5c6d7e8": ("churn", 2), "ep1a1b2c3d4e5f60718293a4b5c6d7e8": ("fraud", 1)}
ENDPOINTS_TABLE = PATHS.endpoints_table.removeprefix("users/")
EVENTS = PATHS.events_tsdb.removeprefix("users/")
DRIFT_MEASURES = {"tvd_sum": 0.8, "tvd_mean": 0.4, "hellinger_sum": 1.0, "hellinger_mean": 0.5, "kld_sum": 2.4,
                  "kld_mean": 1.2, "f0": {"tvd": 0.5, "hellinger": 0.6, "kld": 1.5}}


def _requests() -> pd.DataFrame:
    """70 minutes of requests per endpoint at varying rates, 1 to 3 rows each, in time order per endpoint."""
    rng = random.Random(19)
    rows = []
    for endpoint, (model, rate) in ENDPOINTS.items():
        when = START + rng.randrange(1000)
        while when < START + 70 * MINUTE:
            rows.append({"endpoint_id": endpoint, "model": model, "when": when, "rows": rng.randint(1, 3),
                         "latency": rng.randrange(500, 5000), "id": f"{endpoint[:3]}-{len(rows)}"})
            busy = 20 <= (when - START) // MINUTE < 30  # a burst, so the windows differ
            when += rng.randrange(1000, 90_000 // (rate * (4 if busy else 1)))
    return pd.DataFrame(rows)


def _body(request: pd.Series) -> dict:
    when = pd.Timestamp(int(request["when"]), unit="ms", tz="UTC").isoformat(sep=" ", timespec="microseconds")
    inputs = [[float(request["latency"] % 7), float(i)] for i in range(int(request["rows"]))]
    return {"class": "M", "worker": 0, "model": request["model"], "host": "h", "function_uri": f"{PROJECT}/serving",
            "endpoint_id": request["endpoint_id"], "request": {"inputs": inputs, "id": request["id"]},
            "op": "infer", "resp": {"id": request["id"], "model_name": request["model"], "outputs": [1] * len(inputs)},
            "when": when, "microsec": int(request["latency"])}


@pytest.fixture(scope="module")
def ingested():
    requests = _requests()
    with running_servers() as (web, frames):
        backend = V3ioOpener(api=web.url, framesd=frames.address, port=web.port, project=PROJECT)()
        ingestor = Ingestor(backend, PROJECT)
        ingestor.setup()
        for sequence, (_, request) in enumerate(requests.sort_values("when").iterrows(), start=1):
            ingestor.process(RawRecord(_body(request), shard=0, sequence=sequence))
        # the writer's drift status of a window, with MLRun's drift measures (what general_drift's extra data has)
        EndpointStore(backend.kv, PATHS).update_drift_status(next(iter(ENDPOINTS)), 2, START + 70 * MINUTE,
                                                             {"drift_measures": DRIFT_MEASURES,
                                                              "current_stats": {"f0": {"mean": 3.0}}})
        backend.close()
        yield v3io_frames.Client(address=frames.address, container="users", token=ACCESS_KEY), requests


def expected(requests: pd.DataFrame, endpoint: str, at_ms: int) -> dict[str, float]:
    """MLRun's figures from the requests themselves, as of ``at_ms``."""
    mine = requests[(requests["endpoint_id"] == endpoint) & (requests["when"] <= at_ms)]
    minute = at_ms // MINUTE * MINUTE
    out = {}
    for suffix, width in (("5m", 5), ("1h", 60)):
        window = mine[mine["when"] // MINUTE * MINUTE > minute - width * MINUTE]
        out[f"predictions_count_{suffix}"] = float(window["rows"].sum())
        out[f"latency_avg_{suffix}"] = float(window["latency"].mean())
    out["predictions_per_second"] = out["predictions_count_5m"] / 300
    return out


def _kv(client, fields: list[str], filter: str = "") -> pd.DataFrame:
    return client.read(backend="kv", table=ENDPOINTS_TABLE, columns=fields, filter=filter)


def _tsdb(client, fields: list[str], filter: str) -> pd.DataFrame:
    return client.read(backend="tsdb", table=EVENTS, columns=fields, filter=filter, start="0", end="now")


def _generic(metrics: str) -> dict[str, float]:
    return json.loads(metrics)["generic"]


def _last(requests: pd.DataFrame, endpoint: str) -> int:
    return int(requests.loc[requests["endpoint_id"] == endpoint, "when"].max())


# ------------------------------------------------------------------------------------------------ overview

def test_overview_endpoints_counts_the_uids(ingested):
    client, _ = ingested
    assert sorted(_kv(client, ["uid"])["uid"]) == sorted(ENDPOINTS)


def test_overview_predictions_per_second_and_latency_read_the_metrics_json(ingested):
    client, requests = ingested
    frame = _kv(client, ["metrics"], "endpoint_type!='2'")  # the two stat panels' query
    got = sorted(_generic(m)["predictions_per_second"] for m in frame["metrics"])
    assert got == pytest.approx(sorted(expected(requests, e, _last(requests, e))["predictions_per_second"]
                                       for e in ENDPOINTS))
    for endpoint in ENDPOINTS:
        row = _kv(client, ["uid", "metrics"], f"uid=='{endpoint}'")
        assert _generic(row["metrics"].iloc[0]) == pytest.approx(expected(requests, endpoint,
                                                                          _last(requests, endpoint)))


def test_overview_errors_and_models_table(ingested):
    client, requests = ingested
    assert _kv(client, ["error_count"])["error_count"].tolist() == [0, 0]
    fields = ["uid", "model", "function_uri", "model_class", "first_request", "last_request", "error_count",
              "drift_status"]
    table = _kv(client, fields).set_index("uid").sort_index()
    assert table["function_uri"].tolist() == [f"{PROJECT}/serving"] * 2
    for endpoint in ENDPOINTS:
        times = requests.loc[requests["endpoint_id"] == endpoint, "when"]
        first, last = (pd.Timestamp(int(t), unit="ms", tz="UTC").isoformat(sep=" ", timespec="microseconds")
                       for t in (times.min(), times.max()))
        assert (table.loc[endpoint, "first_request"], table.loc[endpoint, "last_request"]) == (first, last)


@pytest.mark.parametrize("field", ["predictions_per_second", "latency_avg_1h"])
def test_overview_heatmaps_read_the_events_rows(ingested, field):
    client, requests = ingested
    frame = _tsdb(client, [field], "endpoint_type!='2'")
    assert set(frame["endpoint_id"]) == set(ENDPOINTS)
    for endpoint, rows in frame.groupby("endpoint_id", observed=True):
        for at, value in zip(rows.index, rows[field], strict=True):
            assert value == pytest.approx(expected(requests, endpoint, int(at.value // 1_000_000))[field])


# ------------------------------------------------------------------------------------------------- details

def test_details_endpoint_table(ingested):
    client, requests = ingested
    endpoint = next(iter(ENDPOINTS))
    fields = ["uid", "model", "function_uri", "model_class", "first_request", "metrics", "last_request"]
    row = _kv(client, fields, f'uid=="{endpoint}"')
    assert row["uid"].tolist() == [endpoint] and row["model"].tolist() == ["churn"]
    assert _generic(row["metrics"].iloc[0]) == pytest.approx(expected(requests, endpoint, _last(requests, endpoint)))


def test_details_overall_drift_analysis_reads_the_drift_measures(ingested):
    client, _ = ingested
    endpoint = next(iter(ENDPOINTS))
    frame = _kv(client, ["drift_measures"], f'uid=="{endpoint}"')
    measures = json.loads(frame["drift_measures"].iloc[0])  # the panel extracts the six sums and means
    names = ["tvd_sum", "tvd_mean", "hellinger_sum", "hellinger_mean", "kld_sum", "kld_mean"]
    assert {n: measures[n] for n in names} == {n: DRIFT_MEASURES[n] for n in names}
    statuses = _kv(client, ["uid", "drift_status"]).set_index("uid")["drift_status"].to_dict()
    assert statuses == {endpoint: 2, list(ENDPOINTS)[1]: -1}


def test_details_incoming_features_are_one_row_in_ten(ingested):
    client, requests = ingested
    endpoint = next(iter(ENDPOINTS))
    frame = _tsdb(client, [], f"endpoint_id=='{endpoint}'  AND record_type=='endpoint_features'")
    mine = requests[requests["endpoint_id"] == endpoint].sort_values("when")
    per_row = np.repeat(mine["when"].to_numpy(), mine["rows"].to_numpy())
    sampled = pd.unique(per_row[::FEATURE_SAMPLE])
    assert [int(t.value // 1_000_000) for t in frame.index] == sampled.tolist()
    assert {"f0", "f1", "p0"} <= set(frame.columns)
    latency = mine.set_index("when")["latency"]
    assert frame["f0"].tolist() == [float(latency[t] % 7) for t in sampled]


# --------------------------------------------------------------------------------------------- performance

@pytest.mark.parametrize("fields", [["latency_avg_5m", "latency_avg_1h"], ["predictions_per_second"],
                                    ["predictions_count_5m", "predictions_count_1h"]])
def test_performance_charts_equal_mlruns_definitions(ingested, fields):
    client, requests = ingested
    for endpoint in ENDPOINTS:
        frame = _tsdb(client, fields, f"endpoint_id=='{endpoint}'")
        sent = requests[requests["endpoint_id"] == endpoint]
        assert len(frame) == len(sent)  # a row per record (one request each here)
        for at, row in frame.iterrows():
            want = expected(requests, endpoint, int(at.value // 1_000_000))
            assert row[fields].tolist() == pytest.approx([want[f] for f in fields])
