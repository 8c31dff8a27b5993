"""The demo's traffic generator and home handling, without processes (fast)."""

from __future__ import annotations

import numpy as np
import pytest

from modelmon.core.errors import ConfigError
from modelmon.demo.dataset import train_demo_model
from modelmon.demo.session import prepare_home
from modelmon.demo.traffic import TrafficGenerator, TrafficPlan, default_scenarios
from modelmon.events import endpoint_uid
from modelmon.stream import RawRecord
from modelmon.stream.parsing import parse_record

PERIOD = 60_000
NOW = 1_800_000_123_456


@pytest.fixture(scope="module")
def generator():
    model = train_demo_model()
    return TrafficGenerator(model, "demo", TrafficPlan.ending_at(NOW, windows=4, rows_per_window=250), seed=3)


def test_plan_ends_at_the_last_whole_window_and_fills_each_window_up_to_its_end():
    plan = TrafficPlan.ending_at(NOW, windows=4, rows_per_window=250)
    assert plan.first_start_ms == NOW // PERIOD * PERIOD - 4 * PERIOD
    for window, start in enumerate(plan.window_starts):
        times = plan.times(window)
        assert len(times) == 250 and (np.diff(times) > 0).all()
        assert times[0] >= start and times[-1] == start + PERIOD - 1  # watermark = end: the window closes
    with pytest.raises(ValueError, match="aligned"):
        TrafficPlan(first_start_ms=1, windows=1, rows_per_window=1)


def test_records_are_mlrun_batched_tracking_events_holding_exactly_the_window_rows(generator):
    scenario = default_scenarios(generator.model.feature_names)[1]
    frame = generator.window_frame(scenario, 2)
    records = generator.records(scenario, 2)
    assert len(records) == 3  # 250 requests, 100 per record
    parsed = [parse_record(RawRecord(body=r.data), "demo") for r in records]
    assert all(not p.rejections for p in parsed)
    expected_id = endpoint_uid("demo", "demo/serving", "cancer-gradual", "1")
    assert {p.event.endpoint_id for p in parsed} == {expected_id} == {r.partition_key for r in records}
    assert np.concatenate([p.when_ms for p in parsed]).astype(np.int64).tolist() == frame["timestamp"].tolist()
    features = np.concatenate([p.features for p in parsed])
    np.testing.assert_array_equal(features, frame[generator.model.feature_names].to_numpy())
    assert [i for p in parsed for i in p.event.request_ids] == frame["request_id"].tolist()


def test_scenarios_move_only_their_drifted_features_by_the_planned_shift(generator):
    stable, gradual, shift = default_scenarios(generator.model.feature_names)
    reference = generator.model.reference
    std = reference.std(ddof=0)
    known = {tuple(row) for row in reference.to_numpy()}
    assert all(tuple(row) in known for row in generator.window_rows(stable, 3))  # drawn from the reference
    assert [gradual.shift(w, 4) for w in range(4)] == [0.0, 0.5, 1.0, 1.5]
    assert [shift.shift(w, 4) for w in range(4)] == [0.0, 0.0, 2.5, 2.5]
    rows = generator.window_rows(shift, 3).copy()
    columns = [generator.model.feature_names.index(f) for f in shift.drifted]
    rows[:, columns] -= 2.5 * std.iloc[columns].to_numpy()
    assert all(tuple(np.round(row, 9)) in {tuple(np.round(r, 9)) for r in known} for row in rows[:20])
    np.testing.assert_array_equal(generator.window_rows(shift, 3), generator.window_rows(shift, 3))  # seeded


def test_prepare_home_wipes_a_demo_home_and_refuses_anything_else(tmp_path):
    home = tmp_path / "demo"
    prepare_home(home)
    (home / "modelmon.db").write_bytes(b"old")
    prepare_home(home)
    assert not (home / "modelmon.db").exists() and (home / ".modelmon-demo").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a demo home"):
        prepare_home(other)
    assert (other / "keep.txt").exists()
