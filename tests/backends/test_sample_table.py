"""The arrow table a batch of samples is stored as: read from the frame's arrays, the same as through pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelmon.backends.local import open_local_backend
from modelmon.backends.sample_layout import arrow_table, nested_as_json, sample_table, timestamps_ms

T0 = 1_714_557_600_000  # 2024-05-01 10:00 UTC


def _through_pandas(frame: pd.DataFrame) -> pa.Table:
    """What the store wrote before: the frame copied, its objects as JSON, its timestamp set, then converted."""
    frame = nested_as_json(frame.copy(deep=False))
    frame["timestamp"] = timestamps_ms("ep", frame["timestamp"])
    return arrow_table(frame)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "timestamp": np.arange(4, dtype=np.int64) * 1000 + T0,
        "request_id": ["a", "b", None, "d"],
        "latency_us": [1.0, np.nan, 3.0, 4.0],
        "f0": np.array([[1.5, 2.5, 3.5, 4.5]]).T[:, 0],  # a strided view, as a matrix's column is
        "count": np.array([1, 2, 3, 4], dtype=np.int32),
        "flag": [True, False, True, True],
        "usage": [{"tokens": 3}, None, [1, "x"], "text"],  # objects and lists: JSON on disk
        "city": ["x", "y", "z", "w"],
    })


def test_a_frame_of_numpy_columns_becomes_the_table_pandas_gave():
    frame = _frame()
    table = sample_table("ep", frame)
    assert table.equals(_through_pandas(frame))
    assert table.column("latency_us").null_count == 1 and table.column("usage").type == pa.binary()


def test_datetimes_and_other_integer_timestamps_become_epoch_milliseconds():
    frame = _frame().assign(timestamp=pd.to_datetime(T0 + np.arange(4) * 1000, unit="ms"))
    assert sample_table("ep", frame).column("timestamp").to_pylist() == [T0, T0 + 1000, T0 + 2000, T0 + 3000]
    narrow = _frame().assign(timestamp=np.arange(4, dtype=np.uint32))
    assert sample_table("ep", narrow).column("timestamp").type == pa.int64()


def test_pandas_own_types_and_empty_frames_go_through_pandas():
    frame = _frame().assign(count=pd.array([1, None, 3, 4], dtype="Int64"),
                            city=pd.Categorical(["x", "y", "x", "y"]))
    assert sample_table("ep", frame).equals(_through_pandas(frame))
    assert sample_table("ep", pd.DataFrame({"timestamp": [], "f": []})).num_rows == 0


@pytest.mark.parametrize("timestamp", [[1.5, 2.5], ["a", "b"], [T0, None]])
def test_a_timestamp_that_is_no_epoch_milliseconds_is_refused_naming_the_endpoint(timestamp):
    with pytest.raises(ValueError, match="samples of 'ep'"):
        sample_table("ep", pd.DataFrame({"timestamp": timestamp, "f": [1.0, 2.0]}))


def test_a_batch_read_back_has_its_values(tmp_path):
    backend = open_local_backend(tmp_path)
    frame = _frame()
    backend.samples.append("ep", frame, "b1")
    got = backend.samples.read("ep", T0, T0 + 4000)
    assert got["usage"].tolist() == [{"tokens": 3}, None, [1, "x"], "text"]
    assert got["f0"].tolist() == [1.5, 2.5, 3.5, 4.5] and got["request_id"].tolist() == ["a", "b", None, "d"]
    assert got["latency_us"].isna().tolist() == [False, True, False, False]
    backend.close()
