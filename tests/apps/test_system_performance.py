from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelmon import ResultKindApp, ResultStatusApp
from modelmon.apps.builtin.system_performance import SystemPerformanceApplication

MINUTE = 60_000


def _window() -> pd.DataFrame:
    """10 served rows with latencies 100..1000 µs and 2 failed requests, in the first 5 minutes."""
    ok = pd.DataFrame({"timestamp": np.arange(10) * 20_000, "latency_us": np.arange(1, 11) * 100.0})
    failed = pd.DataFrame({"timestamp": [5_000, 6_000], "latency_us": [np.nan, np.nan], "error": ["boom", "x"]})
    return pd.concat([ok, failed], ignore_index=True)


def _by_name(results: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["name"]: row for _, row in results.iterrows()}


def test_percentiles_error_rate_and_throughput_match_hand_computed_values():
    app = SystemPerformanceApplication(latency_p99_slo_us=1000.0, latency_p50_slo_us=600.0, error_rate_slo=0.1,
                                       min_throughput_per_minute=1.0)
    got = _by_name(app.evaluate(_window(), start=0, end=5 * MINUTE))
    # linear interpolation over 100..1000: p50 = 550, p95 = 900 + 0.55*100, p99 = 900 + 0.91*100
    assert got["latency_p50_us"]["value"] == pytest.approx(550.0)
    assert got["latency_p95_us"]["value"] == pytest.approx(955.0)
    assert got["latency_p99_us"]["value"] == pytest.approx(991.0)
    assert got["error_rate"]["value"] == pytest.approx(2 / 12)
    assert got["throughput_per_minute"]["value"] == pytest.approx(10 / 5)
    assert got["request_count"]["value"] == 12
    assert got["error_count"]["value"] == 2
    assert got["latency_p50_us"]["status"] == ResultStatusApp.potential_detection  # 550 > 0.8 * 600
    assert got["latency_p95_us"]["status"] == ResultStatusApp.irrelevant  # no SLO given
    assert got["latency_p99_us"]["status"] == ResultStatusApp.potential_detection  # 991 in (800, 1000]
    assert got["error_rate"]["status"] == ResultStatusApp.detected  # 0.167 > 0.1
    assert got["throughput_per_minute"]["status"] == ResultStatusApp.no_detection  # 2 > 1 / 0.8
    assert got["latency_p99_us"]["kind"] == ResultKindApp.system_performance


def test_error_count_loader_overrides_the_error_column():
    df = _window().drop(columns="error").dropna()
    got = _by_name(SystemPerformanceApplication().evaluate(df, start=0, end=5 * MINUTE, error_count=30))
    assert got["error_rate"]["value"] == pytest.approx(30 / 40)
    assert got["error_rate"]["status"] == ResultStatusApp.detected


def test_low_throughput_is_detected_below_the_minimum():
    df = _window().iloc[:3]
    got = _by_name(SystemPerformanceApplication(min_throughput_per_minute=1.0).evaluate(df, start=0, end=10 * MINUTE))
    assert got["throughput_per_minute"]["value"] == pytest.approx(0.3)
    assert got["throughput_per_minute"]["status"] == ResultStatusApp.detected


def test_empty_window_gives_irrelevant_results_not_an_exception():
    empty = pd.DataFrame({"timestamp": pd.Series([], dtype="int64"), "latency_us": pd.Series([], dtype=float)})
    got = _by_name(SystemPerformanceApplication().evaluate(empty, start=0, end=MINUTE))
    for name in ("latency_p50_us", "latency_p99_us", "error_rate"):
        assert got[name]["status"] == ResultStatusApp.irrelevant
        assert got[name]["extra_data"]["reason"] == "no data in the window"
    assert got["throughput_per_minute"]["value"] == 0.0


def test_windows_by_base_period():
    results = SystemPerformanceApplication().evaluate(_window(), start=0, end=4 * MINUTE, base_period=2)
    throughput = results[results["name"] == "throughput_per_minute"]
    # served rows every 20 s: 0..100 s (6 rows) in [0, 2 min), 120..180 s (4 rows) in [2, 4 min)
    assert list(throughput["value"]) == pytest.approx([6 / 2, 4 / 2])
    assert list(throughput["start_infer_time"]) == [pd.Timestamp(0, tz="UTC"), pd.Timestamp(2 * MINUTE, unit="ms",
                                                                                              tz="UTC")]


def test_bad_warning_fraction_is_rejected():
    with pytest.raises(ValueError, match="warning_fraction"):
        SystemPerformanceApplication(warning_fraction=0)
