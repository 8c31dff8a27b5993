from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelmon import ResultKindApp, ResultStatusApp
from modelmon.apps.builtin.data_quality import DataQualityApplication, reference_categories

REFERENCE = {
    "x": {"count": 100, "min": 0.0, "max": 10.0, "hist": [[50, 50], [0.0, 5.0, 10.0]]},
    "y": {"count": 100, "min": 0.0, "max": 100.0, "hist": [[100], [0.0, 100.0]]},
    "color": {"count": 100, "hist": [[60, 40, 0], ["red", "blue", "other"]]},
    "gone": {"count": 100, "min": 0.0, "max": 1.0, "hist": [[100], [0.0, 1.0]]},
}


def _window() -> pd.DataFrame:
    return pd.DataFrame({
        "timestamp": np.arange(10) * 1000,
        "request_id": [f"r{i}" for i in range(10)],
        "x": [1, 5, 11, -1, np.nan, 3, 4, 2, 8, 9],
        "y": ["1", "2", "n/a", "4", "5", "6", "7", "8", "oops", None],
        "color": ["red", "blue", "green", None, "red", "red", "blue", "red", "blue", "red"],
        "z": np.ones(10),
        "label": np.zeros(10),
    })


@pytest.fixture
def results() -> dict[str, pd.Series]:
    got = DataQualityApplication().evaluate(_window(), feature_stats=REFERENCE)
    return {row["name"]: row for _, row in got.iterrows()}


def test_missing_value_rate_is_the_worst_features(results):
    row = results["missing_value_rate"]
    # x: 1/10, y: 1/10, color: 1/10, z: 0 -> worst 0.1, above the 0.05 potential threshold
    assert row["value"] == pytest.approx(0.1)
    assert row["status"] == ResultStatusApp.potential_detection
    assert row["kind"] == ResultKindApp.mm_app_anomaly
    assert row["extra_data"]["features"] == {"color": 0.1, "x": 0.1, "y": 0.1, "z": 0.0}


def test_out_of_range_share_uses_reference_min_max(results):
    row = results["out_of_range_share"]
    # x: 11 and -1 out of 9 present values; y: parsed numbers 1..8 all inside [0, 100]
    assert row["value"] == pytest.approx(2 / 9)
    assert row["status"] == ResultStatusApp.detected
    assert row["extra_data"]["worst_feature"] == "x"
    assert row["extra_data"]["flagged_features"] == ["x"]


def test_unseen_categories(results):
    row = results["unseen_category_share"]
    # "green" among 9 non-missing colours
    assert row["value"] == pytest.approx(1 / 9)
    assert row["status"] == ResultStatusApp.detected


def test_type_errors_in_a_numeric_feature(results):
    row = results["type_error_share"]
    # y: "n/a" and "oops" among 9 non-missing values
    assert row["value"] == pytest.approx(2 / 9)
    assert row["status"] == ResultStatusApp.detected
    assert row["extra_data"]["features"]["x"] == 0.0


def test_schema_drift_lists_missing_and_added_features(results):
    row = results["schema_drift"]
    assert row["value"] == 2
    assert row["status"] == ResultStatusApp.detected
    assert row["extra_data"] == {"missing_features": ["gone"], "added_features": ["z"]}
    assert results["rows"]["value"] == 10


def test_only_added_features_is_a_potential_detection():
    df = _window().assign(gone=0.5)
    got = DataQualityApplication().evaluate(df, feature_stats=REFERENCE)
    row = got.set_index("name").loc["schema_drift"]
    assert row["status"] == ResultStatusApp.potential_detection
    assert row["extra_data"]["added_features"] == ["z"]


def test_clean_window_has_no_detection():
    df = pd.DataFrame({"x": [1.0, 2.0, 9.0], "y": [3, 4, 5], "color": ["red", "blue", "red"], "gone": [0, 1, 0]})
    got = DataQualityApplication().evaluate(df, feature_stats=REFERENCE).set_index("name")
    for name in ("missing_value_rate", "out_of_range_share", "unseen_category_share", "type_error_share",
                 "schema_drift"):
        assert got.loc[name, "status"] == ResultStatusApp.no_detection, name
        assert got.loc[name, "value"] == 0.0


def test_no_reference_and_empty_window_are_irrelevant_not_errors():
    empty = _window().iloc[:0]
    got = DataQualityApplication().evaluate(empty).set_index("name")
    assert set(got.loc[got["type"] == "result", "status"]) == {ResultStatusApp.irrelevant}
    assert got.loc["schema_drift", "extra_data"] == {"reason": "no reference feature_stats"}


def test_thresholds_are_constructor_arguments():
    got = DataQualityApplication(missing_thresholds=(0.2, 0.5)).evaluate(_window(), feature_stats=REFERENCE)
    assert got.set_index("name").loc["missing_value_rate", "status"] == ResultStatusApp.no_detection
    with pytest.raises(ValueError, match=r"potential threshold 0\.5 is above detected 0\.1"):
        DataQualityApplication(missing_thresholds=(0.5, 0.1))
    with pytest.raises(ValueError, match="pair"):
        DataQualityApplication(missing_thresholds=0.5)


def test_reference_categories_drop_the_catch_all_bucket():
    assert reference_categories(REFERENCE["color"]) == ["red", "blue"]
    assert reference_categories({"categories": ["a", 1]}) == ["a", "1"]
    assert reference_categories({"count": 3}) is None


def test_numbers_stored_as_numbers_or_as_objects_give_the_same_results():
    window = _window().assign(y=[1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, 8.0, 150.0, np.nan],
                              x=pd.array([1, 5, 11, -1, None, 3, 4, 2, 8, 9], dtype="Int64"))
    as_numbers = DataQualityApplication().evaluate(window, feature_stats=REFERENCE)
    as_objects = DataQualityApplication().evaluate(
        window.astype({"x": object, "y": object, "z": object}).replace({np.nan: None}), feature_stats=REFERENCE)
    pd.testing.assert_frame_equal(as_numbers, as_objects)
    assert as_numbers.set_index("name").loc["missing_value_rate", "value"] == 0.2
