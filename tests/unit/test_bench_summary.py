"""The summary table ``make bench`` ends with: each target's figure read from the stored results, judged."""

from __future__ import annotations

import json

from bench.summary import load_results, rows, table
from bench.targets import TARGETS, Target


def _row(results, bench, label):
    return next(r for r in rows(results, [bench]) if r[1] == label)


def test_figures_are_judged_against_their_targets(tmp_path):
    detect = {"endpoints": 1000, "apps": 3, "median_s": 1.2, "p99_s": 7.5}
    (tmp_path / "bench_detect.json").write_text(json.dumps(detect))
    (tmp_path / "bench_alerts.json").write_text(json.dumps({"alone_results_s": [12_000, 9_500, 11_000]}))
    (tmp_path / "bench_broken.json").write_text("{not json")
    results = load_results(tmp_path)
    assert sorted(results) == ["alerts", "detect"]
    assert _row(results, "detect", "time to detect, median (1k endpoints x 3 apps)")[2:5] == ("1.2 s", "<= 2 s", "met")
    assert _row(results, "detect", "time to detect, p99")[2:5] == ("7.5 s", "<= 5 s", "NOT MET")
    # a list of rounds is judged by its worst round
    assert _row(results, "alerts", "writer alone (alerts bench)")[2:5] == (
        "9,500 results/s", ">= 10,000 results/s", "NOT MET")


def test_a_missing_figure_or_benchmark_reads_not_measured(tmp_path):
    (tmp_path / "bench_drift.json").write_text(json.dumps({"large": {"warm_s": 0.2}}))
    results = load_results(tmp_path)
    assert _row(results, "drift", "drift 1M x 50, warm")[4] == "met"
    assert _row(results, "drift", "drift 10k x 20, warm")[2:5] == ("not measured", "<= 0.005 s", "not measured")
    assert _row(results, "writer", "writer, local backend, batched")[4] == "not measured"
    text = table(results)
    assert text.splitlines()[-1].startswith("1 of 1 targets met;")
    assert sum(line.startswith(("alerts", "detect", "writer", "ui")) for line in text.splitlines()) > 5


def test_a_target_relative_to_another_figure_of_the_same_run():
    cold = Target("drift", "large.cold_s", "cold vs warm", "<=", 1.5, other="large.warm_s")
    assert cold.bound({"large": {"cold_s": 0.7, "warm_s": 0.5}}) == 0.75
    assert cold.met({"large": {"cold_s": 0.7, "warm_s": 0.5}}) is True
    assert cold.met({"large": {"cold_s": 0.8, "warm_s": 0.5}}) is False
    assert cold.met({"large": {"cold_s": 0.8}}) is None


def test_every_target_is_well_formed_and_listed_once():
    keys = [(t.bench, t.key, t.label) for t in TARGETS]
    assert len(keys) == len(set(keys))
    assert all(t.label and t.bench and t.key for t in TARGETS)


def test_a_figure_measured_at_another_scale_is_not_judged(tmp_path):
    (tmp_path / "bench_detect.json").write_text(json.dumps({"endpoints": 100, "apps": 3, "median_s": 0.9}))
    assert _row(load_results(tmp_path), "detect", "time to detect, median (1k endpoints x 3 apps)")[4] == "not measured"
