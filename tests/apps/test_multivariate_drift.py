"""multivariate-drift: a correlation change the histogram app cannot see, no-drift windows, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelmon.apps.builtin import HistogramDataDriftApplication, MultivariateDriftApplication
from modelmon.apps.builtin.multivariate_drift import NO_REFERENCE, NOT_NUMERIC
from modelmon.apps.runner.loader import load_app
from modelmon.core.errors import ConfigError
from modelmon.stats import feature_stats

HOUR_MS = 3_600_000
CLASS_PATH = "modelmon.apps.builtin.multivariate_drift:MultivariateDriftApplication"


def _rows(rng: np.random.Generator, n: int, rho: float) -> pd.DataFrame:
    """x and y standard normal with correlation ``rho`` (the marginals do not depend on it), three
    independent features of other shapes, a categorical column and some missing values."""
    x = rng.normal(size=n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "y": y, "income": rng.lognormal(3.0, 0.5, n), "visits": rng.poisson(3, n),
                          "member": rng.random(n) < 0.3, "plan": rng.choice(["basic", "pro", "team"], n)})
    frame["income"] = frame["income"].where(rng.random(n) > 0.05)  # 5% missing
    return frame


def _hourly(rng: np.random.Generator, windows: int, rows: int, rho: float) -> pd.DataFrame:
    """``windows`` hours of ``rows`` rows each, with epoch-ms timestamps inside their hour."""
    frame = _rows(rng, windows * rows, rho)
    frame["timestamp"] = np.repeat(np.arange(windows) * HOUR_MS, rows) + np.tile(
        np.arange(rows) * (HOUR_MS // rows), windows)
    return frame


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _rows(np.random.default_rng(0), 5000, rho=0.8)


@pytest.fixture(scope="module")
def app(reference) -> MultivariateDriftApplication:
    return MultivariateDriftApplication(reference)


def _results(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["type"] == "result"].set_index(["start_infer_time", "name"])


def test_a_flipped_correlation_is_detected_here_and_not_by_the_histogram_app(app, reference):
    windows = _hourly(np.random.default_rng(1), windows=4, rows=1000, rho=-0.8)
    assert windows["y"].std() == pytest.approx(reference["y"].std(), abs=0.05)  # marginals as in the reference
    ours = app.evaluate(windows, base_period=60)
    errors = ours[ours["name"] == "reconstruction_error"]
    assert list(errors["status_name"]) == ["detected"] * 4
    extra = errors["extra_data"].iloc[0]
    assert extra["z"] > 20 and errors["value"].min() > extra["bounds"]["detected"][1]
    assert (extra["n_window"], extra["n_reference"], extra["columns_used"]) == (1000, 5000, 5)
    assert extra["left_out"] == {"plan": NOT_NUMERIC}
    assert list(ours.loc[ours["type"] == "metric", "name"].unique()) == ["reconstruction_error_z"]
    json.dumps(extra, allow_nan=False)

    histogram = _results(HistogramDataDriftApplication().evaluate(
        windows, reference_df=reference, base_period=60))
    assert len(histogram) == 8  # general_drift and drifted_features_share of the 4 windows
    assert set(histogram["status_name"]) == {"no_detection"}


def test_windows_without_drift_stay_no_detection(app):
    windows = _hourly(np.random.default_rng(2), windows=300, rows=100, rho=0.8)
    errors = app.evaluate(windows, base_period=60).query("name == 'reconstruction_error'")
    assert len(errors) == 300
    statuses = errors["status_name"].value_counts().to_dict()
    assert statuses.get("detected", 0) == 0
    assert statuses.get("potential_detection", 0) <= 3  # |z| > 3 is 0.3% of windows when z is normal
    z = np.array([e["z"] for e in errors["extra_data"]])
    assert abs(z.mean()) < 0.5 and 0.7 < z.std() < 1.3  # the spread is the windows' own


def test_the_fitted_numbers_of_two_correlated_features():
    rng = np.random.default_rng(3)
    reference = _rows(rng, 20_000, rho=0.8)[["x", "y"]]
    app = MultivariateDriftApplication(reference)
    same, flipped = _rows(rng, 5000, rho=0.8)[["x", "y"]], _rows(rng, 5000, rho=-0.8)[["x", "y"]]
    out = pd.concat([app.evaluate(same), app.evaluate(flipped)]).query("type == 'result'")
    extra = out["extra_data"].iloc[0]
    # one component keeps (1 + 0.8) / 2 of the variance; the error is |N(0, 0.2)| (mean sqrt(0.2 * 2 / pi)),
    # and with the correlation flipped |N(0, 1.8)|
    assert (extra["n_components"], extra["explained_variance"]) == (1, pytest.approx(0.9, abs=0.005))
    assert extra["reference_mean"] == pytest.approx(np.sqrt(0.4 / np.pi), abs=0.01)
    assert out["value"].iloc[0] == pytest.approx(np.sqrt(0.4 / np.pi), abs=0.02)
    assert out["value"].iloc[1] == pytest.approx(np.sqrt(3.6 / np.pi), abs=0.03)
    assert list(out["status_name"]) == ["no_detection", "detected"]


def test_mlruns_evaluate_form_takes_the_rows_in_class_arguments(reference):
    windows = _hourly(np.random.default_rng(6), windows=2, rows=500, rho=-0.8)
    got = MultivariateDriftApplication.evaluate(
        func_path=None, sample_data=windows, reference_data=reference, class_arguments={"reference_data": reference},
        base_period=60).query("type == 'result'")
    assert list(got["status_name"]) == ["detected", "detected"]
    assert {e["reference"] for e in got["extra_data"]} == {"reference_data"}
    # reference_data alone is the endpoint's reference: its rows reach the app as context.reference_rows
    alone = MultivariateDriftApplication.evaluate(func_path=None, sample_data=windows, reference_data=reference,
                                                  base_period=60).query("type == 'result'")
    assert list(alone["status_name"]) == ["detected", "detected"]
    assert list(alone["value"]) == list(got["value"]) and {e["reference"] for e in alone["extra_data"]} == {"endpoint"}
    # without rows (a reference given as feature_stats alone) the app says what it needs
    stats_only = MultivariateDriftApplication().evaluate(windows, feature_stats=feature_stats(reference))
    assert set(stats_only["status_name"]) == {"irrelevant"} and stats_only["extra_data"][0] == {
        "reason": NO_REFERENCE}


def test_a_deployed_app_reads_a_parquet_reference_and_names_the_columns_left_out(reference, tmp_path):
    path = tmp_path / "reference.parquet"
    reference.assign(region="eu", version=1.0).to_parquet(path)
    app = load_app(CLASS_PATH, {"reference_data": str(path), "n_components": 2})
    window = _rows(np.random.default_rng(4), 500, rho=0.8).drop(columns=["visits"])
    window.loc[:99, "x"] = np.nan
    [result] = app.evaluate(window).query("type == 'result'").to_dict("records")
    extra = result["extra_data"]
    assert extra["left_out"] == {"plan": NOT_NUMERIC, "region": NOT_NUMERIC, "version": "constant in the reference"}
    assert extra["absent"] == ["visits"] and extra["columns"] == ["x", "y", "income", "member"]
    assert extra["n_components"] == 2 and extra["missing_share"] == pytest.approx((100 + 0.05 * 500) / 2000, abs=0.01)
    assert result["status_name"] in ("no_detection", "potential_detection", "detected")


def test_windows_it_cannot_judge_are_irrelevant(app):
    assert load_app(CLASS_PATH, {}).evaluate(_rows(np.random.default_rng(5), 50, 0.8))["extra_data"][0] == {
        "reason": NO_REFERENCE}
    few = app.evaluate(_rows(np.random.default_rng(5), 10, 0.8))
    assert few["status_name"][0] == "irrelevant" and "10 rows; at least 20" in few["extra_data"][0]["reason"]
    one_column = app.evaluate(_rows(np.random.default_rng(5), 50, 0.8)[["x", "plan"]])
    assert one_column["status_name"][0] == "irrelevant"
    assert one_column["extra_data"][0]["reason"] == "the window has 1 of the reference's columns; at least 2 are needed"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"reference_data": "ref.json"}, "expected a .parquet or .csv file"),
    ({"n_components": 5}, "n_components=5 must be below the number of usable columns \\(5\\)"),
    ({"n_components": 1.5}, "share of variance must be in \\(0, 1\\)"),
    ({"columns": ["x", "nope"]}, "reference_data has no column\\(s\\) nope"),
    ({"clip": 0}, "clip must be a positive number of standard deviations or None, got 0"),
    ({"potential_sigmas": 6.0, "detected_sigmas": 5.0}, "sigmas: potential threshold 6.0 is above detected 5.0"),
])
def test_bad_arguments_are_refused_when_the_app_is_built(reference, kwargs, message):
    kwargs = {"reference_data": reference} | kwargs
    with pytest.raises(ValueError, match=message):
        MultivariateDriftApplication(**kwargs)


def test_a_reference_too_small_or_with_one_numeric_column_is_a_configuration_error(reference, tmp_path):
    small = tmp_path / "small.csv"
    reference.head(50).to_csv(small, index=False)
    with pytest.raises(ConfigError, match="the reference has 50 rows; PCA and its error's spread need at least 100"):
        load_app(CLASS_PATH, {"reference_data": str(small)})
    with pytest.raises(ValueError, match="at least 2 numeric, non-constant reference columns; usable: x "
                                         "\\(left out: plan: not numeric"):
        MultivariateDriftApplication(reference[["x", "plan"]])


def test_nullable_and_unnamed_columns_and_text_in_a_numeric_column():
    rng = np.random.default_rng(7)
    x = rng.normal(size=400)
    reference = pd.DataFrame({0: x, 1: 0.8 * x + 0.6 * rng.normal(size=400),
                              "count": pd.array(rng.integers(0, 5, 400), dtype="Int64"),
                              "flag": pd.array(rng.random(400) < 0.5, dtype="boolean"),
                              "seen": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(400), "s")})
    reference.loc[:9, "count"] = pd.NA
    app = MultivariateDriftApplication(reference)
    window = _rows(rng, 100, 0.8)[["x", "y"]].set_axis(["0", "1"], axis=1)
    window["count"] = pd.Series(rng.integers(0, 5, 100), dtype=object).where(np.arange(100) % 10 > 0, "n/a")
    window["flag"] = rng.random(100) < 0.5
    [extra] = app.evaluate(window).query("type == 'result'")["extra_data"]
    assert extra["columns"] == ["0", "1", "count", "flag"] and extra["left_out"] == {"seen": NOT_NUMERIC}
    assert extra["missing_share"] == 10 / 400  # the ten "n/a" of count, counted as the reference mean
