from __future__ import annotations

import math

import numpy as np
import pytest

from modelmon import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)


def test_enum_values_match_mlrun():
    assert {k.name: k.value for k in ResultKindApp} == {
        "data_drift": 0,
        "concept_drift": 1,
        "model_performance": 2,
        "system_performance": 3,
        "mm_app_anomaly": 4,
    }
    assert {s.name: s.value for s in ResultStatusApp} == {
        "irrelevant": -1,
        "no_detection": 0,
        "potential_detection": 1,
        "detected": 2,
    }
    assert ResultStatusApp.detected > ResultStatusApp.potential_detection > ResultStatusApp.no_detection


def test_result_accepts_ints_and_numpy_and_normalises_types():
    r = ModelMonitoringApplicationResult("drift_1", np.float32(0.25), 0, 2, {"a": [1, 2]})
    assert r.kind is ResultKindApp.data_drift
    assert r.status is ResultStatusApp.detected
    assert isinstance(r.value, float) and r.value == 0.25
    assert r.to_dict() == {"name": "drift_1", "value": 0.25, "kind": 0, "status": 2, "extra_data": {"a": [1, 2]}}


@pytest.mark.parametrize("name", ["", "1abc", "has space", "dash-name", "é", None, 5])
def test_bad_result_names_are_rejected(name):
    with pytest.raises(ValueError, match="invalid result name"):
        ModelMonitoringApplicationResult(name, 1.0, ResultKindApp.data_drift, ResultStatusApp.no_detection)


@pytest.mark.parametrize("value", [math.inf, -math.inf, np.inf])
def test_infinite_values_are_rejected(value):
    with pytest.raises(ValueError, match="finite"):
        ModelMonitoringApplicationResult("x", value, ResultKindApp.data_drift, ResultStatusApp.no_detection)
    with pytest.raises(ValueError, match="finite"):
        ModelMonitoringApplicationMetric("x", value)


@pytest.mark.parametrize("value", [math.nan, np.nan, None])
def test_a_missing_value_is_kept_as_nan_as_mlrun_accepts_it(value):
    result = ModelMonitoringApplicationResult("x", value, ResultKindApp.data_drift, ResultStatusApp.no_detection)
    assert math.isnan(result.value) and math.isnan(ModelMonitoringApplicationMetric("x", value).value)


def test_numeric_text_is_read_as_a_number_as_mlrun_does():
    assert ModelMonitoringApplicationMetric("x", "0.5").value == 0.5


@pytest.mark.parametrize("value", ["abc", True, [1.0]])
def test_non_numeric_values_are_rejected(value):
    with pytest.raises(ValueError, match="number"):
        ModelMonitoringApplicationMetric("x", value)


def test_unknown_kind_and_status_are_rejected():
    with pytest.raises(ValueError, match="unknown kind"):
        ModelMonitoringApplicationResult("x", 1.0, 9, ResultStatusApp.no_detection)
    with pytest.raises(ValueError, match="unknown status"):
        ModelMonitoringApplicationResult("x", 1.0, ResultKindApp.data_drift, 3)


@pytest.mark.parametrize("extra", [{"when": object()}, {1: {2: {3}}}])
def test_extra_data_must_be_json(extra):
    with pytest.raises(ValueError, match="JSON"):
        ModelMonitoringApplicationResult("x", 1.0, ResultKindApp.data_drift, ResultStatusApp.no_detection, extra)


def test_non_finite_numbers_in_extra_data_become_null():
    result = ModelMonitoringApplicationResult("x", 1.0, ResultKindApp.data_drift, ResultStatusApp.no_detection,
                                              {"v": math.nan, "w": [math.inf, 1.0]})
    assert result.extra_data == {"v": None, "w": [None, 1.0]}

