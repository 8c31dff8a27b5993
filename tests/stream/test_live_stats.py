"""The endpoint's live ``metrics`` (MLRun's rolling figures): counted once per record, also across a restart."""

from __future__ import annotations

import json

import pandas as pd

from modelmon.stream import Ingestor, RawRecord
from modelmon.stream.live_stats import LiveStats

PROJECT = "test"  # the project of the ``backend`` fixture's settings
EP = "4c1f9e2a7d3b4a6e8f0c1d2e3f4a5b6c"
MINUTE = 1_714_557_600_000  # 2024-05-01 10:00 UTC


def _body(request_id: str, rows: int, second: int, latency: int) -> dict:
    when = pd.Timestamp(MINUTE + second * 1000, unit="ms", tz="UTC").isoformat(sep=" ", timespec="microseconds")
    return {"class": "M", "worker": 0, "model": "churn", "host": "h", "function_uri": f"{PROJECT}/serving",
            "endpoint_id": EP, "request": {"inputs": [[1.0, 2.0]] * rows, "id": request_id}, "op": "infer",
            "resp": {"id": request_id, "model_name": "churn", "outputs": [0] * rows}, "when": when,
            "microsec": latency}


def _metrics(backend) -> dict[str, float]:
    return json.loads(backend.kv.get(f"users/pipelines/{PROJECT}/model-endpoints/endpoints", EP)["metrics"])["generic"]


def test_the_figures_count_each_record_once_across_redelivery_and_restarts(backend):
    bodies = [_body("a", 2, 10, 1000), _body("b", 1, 200, 3000), _body("c", 3, 400, 2000),
              _body("d", 1, 3000, 4000)]
    first = Ingestor(backend, PROJECT)
    first.setup()
    for sequence, body in enumerate(bodies[:3], start=1):
        first.process(RawRecord(body, shard=0, sequence=sequence))
    # minute of t = 10:06; the 5 minutes are 10:02..10:06 (b at 10:03:20 and c at 10:06:40), the hour all three
    assert _metrics(backend) == {"predictions_per_second": 4 / 300, "predictions_count_5m": 4.0,
                                 "predictions_count_1h": 6.0, "latency_avg_5m": 2500.0, "latency_avg_1h": 2000.0}
    first.process(RawRecord(bodies[2], shard=0, sequence=3))  # delivered again: nothing added
    restarted = Ingestor(backend, PROJECT)  # another process: the last hour is read back from the TSDB
    restarted.process(RawRecord(bodies[2], shard=0, sequence=3))
    restarted.process(RawRecord(bodies[3], shard=0, sequence=4))  # 10:50: a, b, c are in its hour
    assert _metrics(backend) == {"predictions_per_second": 1 / 300, "predictions_count_5m": 1.0,
                                 "predictions_count_1h": 7.0, "latency_avg_5m": 4000.0, "latency_avg_1h": 2500.0}


def test_feature_rows_are_one_in_ten_numeric_columns_named_for_the_tsdb(backend):
    live = LiveStats(backend.tsdb, "users/pipelines/test/model-endpoints/predictions", "users/e")
    samples = pd.DataFrame({"timestamp": range(1000, 1013), "request_id": "r", "latency_us": 1.0,
                            "1st-feature": [float(i) for i in range(13)], "text": "a", "x": 0.5, "y": 1})
    samples.columns = [*samples.columns[:-2], "x", "x"]  # registered names may repeat a name
    first = live._sampled("ep", samples, ["1st-feature", "text", "x"])
    assert first.to_dict("list") == {"time": [1000, 1010], "_1st_feature": [0.0, 10.0]}
    second = live._sampled("ep", samples.iloc[:9], ["1st-feature"])  # the count goes on across records: 13..21
    assert second["time"].tolist() == [1007]


def test_minutes_past_the_hour_leave_the_figures_as_later_records_of_a_minute_arrive(backend):
    ingestor = Ingestor(backend, PROJECT)
    ingestor.setup()
    seconds = [10, 20, 30, 3610, 3620, 3650]  # three records at 10:00, three at 11:00 (the same minute each)
    for sequence, second in enumerate(seconds, start=1):
        ingestor.process(RawRecord(_body(f"r{sequence}", sequence, second, 1000 * sequence), shard=0,
                                   sequence=sequence))
    # 11:00's hour is 10:01..11:00: the 10:00 minute has left it; 4 + 5 + 6 rows at 11:00
    assert _metrics(backend) == {"predictions_per_second": 15 / 300, "predictions_count_5m": 15.0,
                                 "predictions_count_1h": 15.0, "latency_avg_5m": 5000.0, "latency_avg_1h": 5000.0}
    state = ingestor.live._endpoints[EP]
    assert sorted(state.minutes) == [MINUTE + 60 * 60_000] and len(state.batches) == 3
