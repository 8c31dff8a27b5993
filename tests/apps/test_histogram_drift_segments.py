from __future__ import annotations

import json

import pandas as pd
import pytest

from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.runner.loader import load_app
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats import feature_stats
from tests.apps.segment_traffic import FEATURES, run, traffic

APP_CLASS = "modelmon.apps.builtin.histogram_drift:HistogramDataDriftApplication"


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return traffic(0, 10_000)


@pytest.fixture(scope="module")
def stats(reference: pd.DataFrame) -> dict:
    return feature_stats(reference[FEATURES])


@pytest.fixture(scope="module")
def app(reference: pd.DataFrame) -> HistogramDataDriftApplication:
    return HistogramDataDriftApplication(reference_data=reference, segment_by=["region"])


def test_drift_confined_to_one_segment_of_five_is_found_and_named_while_the_whole_is_not_detected(app, stats):
    results = run(app, traffic(1, 5000, shifted_region="e"), stats)
    general, share, segment = results["general_drift"], results["drifted_features_share"], results["segment_drift"]
    # the whole window: one fifth of the rows moved by one sigma dilutes below every per-feature threshold
    assert general.status == Status.no_detection and general.value < 0.1
    assert share.value == 0.0 and share.extra_data["drifted_features"] == []
    # ... so only the segment tells, and it raises the whole to a look, not to an alarm
    assert share.status == Status.potential_detection
    assert share.extra_data["escalated_by_segment"] == "region=e"
    assert segment.status == Status.detected and segment.value == 0.5  # f0 and f1 of f0..f3
    assert segment.extra_data["worst_segment"] == "region=e" and segment.extra_data["segments"] == 5
    worst = segment.extra_data["worst_segments"]
    assert [w["segment"] for w in worst] == ["region=e", "region=a", "region=b", "region=c", "region=d"]
    assert [w["status"] for w in worst] == [2, 0, 0, 0, 0]
    assert worst[0]["top_culprit"] == "f0"  # f0 drives the prediction; f1 drifted as much but matters little
    assert [r["feature"] for r in worst[0]["impact_ranking"]] == ["f0", "f1"]
    assert 1000 < worst[0]["n_window"] < 1100 and 1900 < worst[0]["n_reference"] < 2100
    json.dumps(segment.extra_data, allow_nan=False)


def test_windows_without_drift_flag_no_segment(app, stats):
    for seed in range(10, 25):
        results = run(app, traffic(seed, 1000), stats)
        assert results["segment_drift"].status == Status.no_detection, seed
        assert results["drifted_features_share"].status == Status.no_detection, seed
        assert "escalated_by_segment" not in results["drifted_features_share"].extra_data


def test_a_change_of_mix_drifts_the_whole_but_no_segment(app, stats):
    """Only regions d and e: the whole window moves, yet each segment looks like its own reference
    (a segment compared with the whole reference would be flagged for being itself)."""
    results = run(app, traffic(2, 4000, regions=["d", "e"]), stats)
    assert results["drifted_features_share"].status == Status.detected
    segment = results["segment_drift"]
    assert segment.status == Status.irrelevant or segment.status == Status.no_detection
    by_segment = {w["segment"]: w for w in segment.extra_data["worst_segments"]}
    assert by_segment["region=d"]["status"] == 0 and by_segment["region=e"]["status"] == 0
    assert by_segment["region=a"]["status"] == -1 and by_segment["region=a"]["n_window"] == 0


def test_small_segments_and_a_window_without_the_segment_column(app, stats):
    window = traffic(3, 2000, shifted_region="e")
    small = pd.concat([window[window["region"] != "e"], window[window["region"] == "e"].head(10)])
    worst = run(app, small, stats)["segment_drift"].extra_data["worst_segments"]
    assert {"segment": "region=e", "status": -1, "value": None, "n_window": 10, "n_reference": 2048,
            "note": "fewer than 30 rows in the window or the reference"} in worst
    results = run(app, window.drop(columns=["region"]), stats)
    assert results["segment_drift"].status == Status.irrelevant
    assert "['region'] not in the data" in results["segment_drift"].extra_data["reason"]
    assert results["drifted_features_share"].status == Status.no_detection  # nothing escalated


def test_max_segments_bounds_the_segments_and_the_rest_is_other(reference, stats):
    app = HistogramDataDriftApplication(reference_data=reference, segment_by="region", max_segments=2,
                                        max_segments_in_extra_data=2)
    segment = run(app, traffic(4, 5000, shifted_region="b"), stats)["segment_drift"]
    assert segment.extra_data["segments"] == 3  # the two largest regions (a, e), and "other" (b, c, d)
    assert segment.extra_data["worst_segment"] == "other"  # b's drift, diluted in b+c+d, still shows
    assert [w["segment"] for w in segment.extra_data["worst_segments"]] == ["other", "region=a"]


def test_a_deployed_app_reads_its_reference_rows_from_a_path(tmp_path, reference, stats):
    path = tmp_path / "reference.parquet"
    reference.to_parquet(path)
    kwargs = json.loads(json.dumps({"reference_data": str(path), "segment_by": ["region"]}))  # as registered
    app = load_app(APP_CLASS, kwargs)
    assert run(app, traffic(1, 5000, shifted_region="e"), stats)["segment_drift"].extra_data["worst_segment"] \
        == "region=e"


def test_evaluate_reports_the_segment(reference):
    app = HistogramDataDriftApplication(reference_data=reference, segment_by=["region"])
    window = traffic(1, 5000, shifted_region="e").assign(timestamp=pd.Timestamp("2024-01-01", tz="UTC"))
    out = app.evaluate(window, reference_df=reference[FEATURES], label_names=["prediction"])
    row = out[out["name"] == "segment_drift"].iloc[0]
    assert row["status_name"] == "detected" and row["extra_data"]["worst_segment"] == "region=e"


def test_segment_options_are_checked():
    with pytest.raises(ValueError, match="segment_by must be a non-empty list"):
        HistogramDataDriftApplication(segment_by=[], reference_data=pd.DataFrame({"region": ["a"]}))
    with pytest.raises(ValueError, match=r"\['zone'\] not in the data"):
        HistogramDataDriftApplication(segment_by=["zone"], reference_data=pd.DataFrame({"region": ["a"]}))
    with pytest.raises(ValueError, match="max_segments must be an integer of at least 1"):
        HistogramDataDriftApplication(segment_by=["region"], reference_data=pd.DataFrame({"region": ["a"]}),
                                      max_segments=0)
    with pytest.raises(ValueError, match=r"expected a \.parquet or \.csv file"):
        HistogramDataDriftApplication(reference_data="reference.txt")


def test_listing_no_segment_still_names_the_worst_and_escalates(reference, stats):
    app = HistogramDataDriftApplication(reference_data=reference, segment_by=["region"], max_segments_in_extra_data=0)
    results = run(app, traffic(1, 5000, shifted_region="e"), stats)
    assert results["segment_drift"].extra_data["worst_segments"] == []
    assert results["segment_drift"].extra_data["worst_segment"] == "region=e"
    assert results["drifted_features_share"].extra_data["escalated_by_segment"] == "region=e"
