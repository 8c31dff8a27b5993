from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelmon import (
    ModelMonitoringApplicationBase,
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.apps.sdk import PartialWindowsWarning
from modelmon.apps.sdk.evaluate import RESULT_COLUMNS

MINUTE = 60_000


class MeanAbove(ModelMonitoringApplicationBase):
    """Flags windows whose mean of ``x`` is above a threshold given to the constructor."""

    NAME = "mean-above"

    def __init__(self, threshold: float = 10.0) -> None:
        self.threshold = threshold

    def do_tracking(self, monitoring_context):
        mean = float(monitoring_context.sample_df["x"].mean()) if len(monitoring_context.sample_df) else 0.0
        status = ResultStatusApp.detected if mean > self.threshold else ResultStatusApp.no_detection
        return [
            ModelMonitoringApplicationResult("x_mean", mean, ResultKindApp.data_drift, status,
                                             {"features": monitoring_context.feature_names}),
            ModelMonitoringApplicationMetric("rows", len(monitoring_context.sample_df)),
        ]


class NeedsArgument(MeanAbove):
    def __init__(self, threshold: float) -> None:
        super().__init__(threshold)


def _sample() -> pd.DataFrame:
    # minute 0: x = 1, 3; minute 1: nothing; minute 2: x = 20
    return pd.DataFrame({"timestamp": [0, 30_000, 2 * MINUTE + 5], "x": [1.0, 3.0, 20.0], "latency_us": [1, 2, 3]})


def test_one_window_by_default_on_the_class_and_on_an_instance():
    on_class = MeanAbove.evaluate(_sample())
    assert list(on_class.columns) == RESULT_COLUMNS
    assert list(on_class["name"]) == ["x_mean", "rows"]
    assert on_class["value"].tolist() == pytest.approx([8.0, 3.0])
    assert on_class.loc[0, "status"] == ResultStatusApp.no_detection
    assert on_class.loc[0, "kind"] == ResultKindApp.data_drift
    assert on_class.loc[0, ["status_name", "kind_name"]].tolist() == ["no_detection", "data_drift"]
    assert type(on_class.loc[0, "status"]) is int and type(on_class.loc[0, "kind"]) is int
    assert on_class.attrs["rows_left_out"] == 0
    assert on_class.loc[0, "start_infer_time"] == pd.Timestamp(0, tz="UTC")
    assert on_class.loc[0, "end_infer_time"] == pd.Timestamp(2 * MINUTE + 6, unit="ms", tz="UTC")
    assert on_class.loc[0, "application_name"] == "mean-above"
    assert on_class.loc[1, "type"] == "metric"
    assert on_class.loc[1, ["status", "status_name", "kind", "kind_name"]].tolist() == [None] * 4
    on_instance = MeanAbove(threshold=5.0).evaluate(_sample())
    assert on_instance.loc[0, "status"] == ResultStatusApp.detected
    assert on_instance.loc[0, "status_name"] == "detected"


def test_feature_names_exclude_bookkeeping_columns():
    got = MeanAbove.evaluate(_sample())
    assert got.loc[0, "extra_data"] == {"features": ["x"]}
    got = MeanAbove.evaluate(_sample(), feature_stats={"x": {"min": 0.0, "max": 1.0}, "y": {}})
    assert got.loc[0, "extra_data"] == {"features": ["x", "y"]}


def test_windows_of_base_period_minutes_including_empty_ones():
    got = MeanAbove(threshold=5.0).evaluate(_sample(), base_period=1)
    means = got[got["name"] == "x_mean"]
    assert means["value"].tolist() == pytest.approx([2.0, 0.0, 20.0])
    assert means["status"].tolist() == [ResultStatusApp.no_detection, ResultStatusApp.no_detection,
                                        ResultStatusApp.detected]
    assert [t.value // 1_000_000 for t in means["start_infer_time"]] == [0, MINUTE, 2 * MINUTE]
    assert got[got["name"] == "rows"]["value"].tolist() == [2, 0, 1]


def test_datetime_timestamps_and_explicit_bounds():
    df = _sample().assign(timestamp=pd.to_datetime(_sample()["timestamp"], unit="ms"))  # naive = UTC
    with pytest.warns(PartialWindowsWarning, match=r"left out 1 of 3 rows \(1 from 1970-01-01T00:02:00\+00:00\)"):
        got = MeanAbove.evaluate(df, start="1970-01-01 00:00:00", end="1970-01-01 00:02:00", base_period=1)
    assert got[got["name"] == "rows"]["value"].tolist() == [2, 0]  # the row at 2 min is outside [start, end)
    assert got.attrs["rows_left_out"] == 1


def _traffic(first: str, minutes: float, every_ms: int = 1_000) -> pd.DataFrame:
    """A row every ``every_ms`` from ``first`` (UTC) for ``minutes``, with ``x`` = the minute it falls in."""
    times = pd.Timestamp(first, tz="UTC") + pd.to_timedelta(np.arange(int(minutes * MINUTE / every_ms)) * every_ms,
                                                            unit="ms")
    return pd.DataFrame({"timestamp": times, "x": [float(t.minute) for t in times]})


def test_windows_are_aligned_to_the_epoch_as_the_controller_cuts_them_and_only_full_ones_are_analysed():
    df = _traffic("2024-05-01 10:00:30", minutes=3)  # 10:00:30 .. 10:03:29, a row per second
    with pytest.warns(PartialWindowsWarning) as caught:
        got = MeanAbove.evaluate(df, base_period=1)
    rows = got[got["name"] == "rows"]
    assert rows["start_infer_time"].dt.strftime("%H:%M:%S").tolist() == ["10:01:00", "10:02:00"]
    assert rows["end_infer_time"].dt.strftime("%H:%M:%S").tolist() == ["10:02:00", "10:03:00"]
    assert rows["value"].tolist() == [60, 60]
    assert got[got["name"] == "x_mean"]["value"].tolist() == [1.0, 2.0]
    # the half minutes at either end fall in windows the data does not cover: left out, and said so
    assert got.attrs["rows_left_out"] == 60
    [warning] = caught
    assert str(warning.message) == (
        "evaluate left out 60 of 180 rows (30 before 2024-05-01T10:01:00+00:00 and 30 from "
        "2024-05-01T10:03:00+00:00): only windows the data covers in full are analysed, as the controller "
        "analyses only closed windows; pass start=/end= to say where the data is complete")
    assert warning.filename == __file__  # points at the caller's line


def test_rows_within_one_spacing_of_the_edges_cover_their_window():
    # a row every 10 s from 10:00:04 to 10:01:54: the first and last windows' edges are 4 and 6 s away
    got = MeanAbove.evaluate(_traffic("2024-05-01 10:00:04", minutes=2, every_ms=10_000), base_period=1)
    assert got[got["name"] == "rows"]["value"].tolist() == [6, 6]
    assert got.attrs["rows_left_out"] == 0


def test_explicit_bounds_say_where_the_data_is_complete():
    df = _traffic("2024-05-01 10:00:30", minutes=3)
    # end at 10:04: the data is complete until then, so [10:03, 10:04) is analysed with its 30 rows
    with pytest.warns(PartialWindowsWarning, match=r"left out 30 of 180 rows \(30 before 2024-05-01T10:01:00"):
        got = MeanAbove.evaluate(df, base_period=1, end="2024-05-01 10:04")
    assert got[got["name"] == "rows"]["value"].tolist() == [60, 60, 30]
    # an unaligned start cuts into its window: the next one is the first analysed
    with pytest.warns(PartialWindowsWarning, match="left out 60 of 180 rows"):
        got = MeanAbove.evaluate(df, base_period=1, start="2024-05-01 10:00:10", end="2024-05-01 10:03:00")
    assert got["start_infer_time"].dt.strftime("%H:%M").unique().tolist() == ["10:01", "10:02"]
    assert got.attrs["rows_left_out"] == 60  # 10:00:30-59 and 10:03:00-29


def test_without_a_full_window_nothing_is_analysed_and_every_row_is_left_out():
    df = _traffic("2024-05-01 10:00:00", minutes=0.5)
    with pytest.warns(PartialWindowsWarning, match=r"left out 30 of 30 rows \(no window is covered in full\)"):
        got = MeanAbove.evaluate(df, base_period=1)
    assert got.empty and list(got.columns) == RESULT_COLUMNS and got.attrs["rows_left_out"] == 30
    # without base_period the data is one window, whatever its length
    assert MeanAbove.evaluate(df).set_index("name").loc["rows", "value"] == 30


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="base_period must be a whole number of minutes"):
        MeanAbove.evaluate(_sample(), base_period=0)
    with pytest.raises(ValueError, match="base_period needs a 'timestamp' column"):
        MeanAbove.evaluate(_sample().drop(columns="timestamp"), base_period=1)
    with pytest.raises(ValueError, match="not both"):
        MeanAbove.evaluate(_sample(), reference_df=_sample(), feature_stats={})
    with pytest.raises(ValueError, match="sample_df must be a pandas DataFrame"):
        MeanAbove.evaluate([1, 2])
    with pytest.raises(ValueError, match=r"end .* is before start"):
        MeanAbove.evaluate(_sample(), start=10, end=5)
    with pytest.raises(ValueError, match="missing values"):
        MeanAbove.evaluate(pd.DataFrame({"timestamp": [1.0, None], "x": [1, 2]}))
    with pytest.raises(TypeError, match=r"NeedsArgument\(\.\.\.\)\.evaluate"):
        NeedsArgument.evaluate(_sample())


def test_what_do_tracking_returns_is_validated():
    class Bad(ModelMonitoringApplicationBase):
        def do_tracking(self, monitoring_context):
            return "oops"

    with pytest.raises(ValueError, match="do_tracking returned str"):
        Bad.evaluate(_sample())


def test_error_count_and_labels_defaults_come_from_the_rows():
    class Peek(ModelMonitoringApplicationBase):
        def do_tracking(self, monitoring_context):
            return {"errors": monitoring_context.error_count, "labels": len(monitoring_context.labels_df)}

    df = _sample().assign(error=[None, "boom", None])
    got = Peek.evaluate(df).set_index("name")["value"]
    assert got.to_dict() == {"errors": 1, "labels": 3}
    got = Peek.evaluate(_sample(), error_count=7, labels_df=pd.DataFrame({"request_id": ["a"]}))
    assert got.set_index("name")["value"].to_dict() == {"errors": 7, "labels": 1}
    with pytest.raises(ValueError, match="error_count must be a non-negative whole number"):
        Peek.evaluate(_sample(), error_count=-1)
    with pytest.raises(ValueError, match="with base_period put an 'error' column"):
        Peek.evaluate(_sample(), error_count=1, base_period=1)


def test_context_loaders_are_called_once_and_only_when_used():
    from modelmon import MonitoringApplicationContext

    calls = []

    def load_errors() -> int:
        calls.append("errors")
        return 4

    context = MonitoringApplicationContext(
        application_name="a", project_name="p", endpoint_id="e",
        start_infer_time=pd.Timestamp(0, tz="UTC"), end_infer_time=pd.Timestamp(1, tz="UTC"),
        sample_df=lambda: calls.append("rows") or _sample(), error_count=load_errors,
        labels_df=lambda: calls.append("labels") or pd.DataFrame(),
    )
    assert calls == []
    assert context.error_count == 4 and context.error_count == 4
    assert calls == ["errors"]
    assert len(context.sample_df) == 3 and context.labels_df.empty
    assert calls == ["errors", "rows", "labels"]
