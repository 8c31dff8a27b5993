"""``bench ingest``'s per-stage profile: every stage it wraps exists and the stages add up to the whole."""

from __future__ import annotations

import pytest

from bench.bench_ingest import _records
from bench.ingest_stages import stage_profile


def test_every_stage_is_timed_and_the_stages_add_up(tmp_path, monkeypatch):
    for name in ("MODELMON_HOME", "MODELMON_BACKEND"):  # the profile sets them: put back after the test
        monkeypatch.setenv(name, "")
    profile = stage_profile(_records(4, 50), str(tmp_path / "stages"), passes=1)
    stages = profile["stages_cpu_ms_per_record"]
    for label in ("decode (orjson.loads)", "samples: parquet encode", "samples: file write and rename",
                  "TSDB write (SQLite)", "the rest (glue, checks, totals)"):
        assert stages.get(label, 0) > 0, f"{label} was not timed: {stages}"
    # each stage's own time (its inner stages taken out) partitions the record's time
    assert sum(stages.values()) == pytest.approx(profile["cpu_ms_per_record"], rel=0.05)
    assert 0 < profile["decode_floor_cpu_ms_per_record"] < profile["cpu_ms_per_record"]
