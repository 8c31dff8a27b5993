from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from modelmon.stats import Reference, feature_stats, reference_for, sample_df_stats


@pytest.fixture
def reference_df() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "num": rng.normal(10, 2, 1000),
        "int": rng.integers(0, 5, 1000),
        "cat": rng.choice(["a", "b", "c"], 1000, p=[0.5, 0.3, 0.2]),
        "flag": rng.random(1000) < 0.3,
        "when": pd.date_range("2024-01-01", periods=1000, freq="min"),
    })


def test_numeric_stats_match_pandas_describe_and_np_histogram(reference_df):
    stats = feature_stats(reference_df)
    described = reference_df["num"].describe()
    entry = stats["num"]
    for key in ("count", "mean", "std", "min", "max", "25%", "50%", "75%"):
        assert entry[key] == pytest.approx(described[key], rel=1e-12), key
    counts, edges = np.histogram(reference_df["num"], bins=20)
    assert entry["hist"] == [counts.tolist(), edges.tolist()]
    assert entry["nan_count"] == 0


def test_categorical_stats_keep_categories_and_an_other_bucket(reference_df):
    entry = feature_stats(reference_df)["cat"]
    assert entry["categories"] == ["a", "b", "c"]  # most frequent first
    counts = reference_df["cat"].value_counts()
    assert entry["hist"][0] == [counts["a"], counts["b"], counts["c"], 0]
    assert entry["top"] == "a" and entry["unique"] == 3
    assert feature_stats(reference_df, max_categories=2)["cat"]["hist"][0] == [counts["a"], counts["b"], counts["c"]]


def test_booleans_are_categorical_and_datetimes_are_left_out(reference_df):
    stats = feature_stats(reference_df)
    assert stats["flag"]["categories"] == ["False", "True"]
    assert "when" not in stats
    assert set(stats) == {"num", "int", "cat", "flag"}


def test_stats_are_plain_json_even_for_empty_and_constant_columns():
    df = pd.DataFrame({"empty": [np.nan] * 4, "const": [3.0] * 4, "one": [1.0, np.nan, np.nan, np.nan]})
    stats = feature_stats(df)
    json.dumps(stats, allow_nan=False)
    assert stats["empty"]["count"] == 0 and stats["empty"]["mean"] is None and stats["empty"]["nan_count"] == 4
    assert stats["const"]["hist"][1][0] == 2.5 and stats["const"]["hist"][1][-1] == 3.5  # as np.histogram
    assert stats["one"]["std"] is None


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="DataFrame"):
        feature_stats([1, 2, 3])
    with pytest.raises(ValueError, match="bins"):
        feature_stats(pd.DataFrame({"x": [1.0]}), bins=0)
    with pytest.raises(ValueError, match="duplicate column"):
        feature_stats(pd.DataFrame([[1, 2]], columns=["x", "x"]))


def test_sample_df_stats_bins_the_window_over_the_reference_edges(reference_df):
    ref = feature_stats(reference_df)
    window = pd.DataFrame({"num": [-100.0, 10.0, np.nan, 100.0], "cat": ["a", "z", None, "c"],
                           "int": [0, 4, 4, 9]})
    stats = sample_df_stats(window, ref)
    num = stats["num"]
    assert num["hist"][1][0] == -np.inf and num["hist"][1][-1] == np.inf
    assert num["hist"][1][1:-1] == ref["num"]["hist"][1]
    assert num["hist"][0][0] == 1 and num["hist"][0][-1] == 1 and sum(num["hist"][0]) == 3
    assert num["nan_count"] == 1 and num["count"] == 3
    assert stats["cat"]["hist"][0] == [1, 0, 1, 1]  # a, b, c, other ("z")
    assert stats["cat"]["nan_count"] == 1
    assert stats["int"]["hist"][0][-1] == 1  # 9 is above the reference range
    assert set(stats) == {"num", "cat", "int"}  # "flag" is not in the window


def test_a_window_equal_to_the_reference_reproduces_its_histograms(reference_df):
    ref = feature_stats(reference_df)
    stats = sample_df_stats(reference_df, ref)
    for name in ("num", "int"):
        assert stats[name]["hist"][0] == [0, *ref[name]["hist"][0], 0]
    assert stats["cat"]["hist"][0] == ref["cat"]["hist"][0]


MAX = sys.float_info.max


@pytest.mark.parametrize("low, high", [(-MAX, MAX), (-np.inf, np.inf), (-MAX, np.inf)])
def test_padded_histograms_are_read_with_open_ended_outer_bins(low, high):
    # MLRun's pad_features_hist pads with ±sys.float_info.max; sample_df_stats and others with ±inf.
    stats = {"x": {"count": 12, "hist": [[1, 5, 4, 2], [low, 0.0, 1.0, 2.0, high]]}}
    reference = Reference(stats)
    assert reference.edges[0].tolist() == [0.0, 1.0, 2.0]
    assert reference.counts[0].tolist() == [1, 5, 4, 2]  # under, two inner bins, over
    window = reference.histograms(pd.DataFrame({"x": [-1e308, -1.0, 0.0, 1.0, 2.0, 5.0, 1e308, np.nan]}))
    assert window.counts[0].tolist() == [2, 1, 2, 2] and window.nan_counts[0] == 1
    mlrun = reference.histograms(pd.DataFrame({"x": [0.0, 1.0, 2.0]}), last_closed=False)
    assert mlrun.counts[0].tolist() == [0, 1, 1, 1]  # MLRun: the maximum is above the range


def test_mlrun_padded_and_malformed_references_are_read_or_explained():
    padded = {"x": {"hist": [[0, 5, 5, 2], [-MAX, 0.0, 1.0, 2.0, MAX]]}}
    reference = Reference(padded | {
        "no_hist": {"count": 3},
        "bad_edges": {"hist": [[1, 2], [0.0, 1.0]]},
        "nan_only": {"count": 0, "hist": [[], []]},
    })
    assert reference.names == ["x"]
    assert reference.counts[0].tolist() == [0, 5, 5, 2]
    assert "no histogram" in reference.invalid["no_hist"]
    assert "2 counts need 3 edges" in reference.invalid["bad_edges"]
    assert reference.invalid["nan_only"] == "no values in the reference"
    with pytest.raises(ValueError, match="mapping"):
        Reference([1, 2])


def test_references_are_cached_by_content(reference_df):
    ref = feature_stats(reference_df)
    assert reference_for(ref) is reference_for(json.loads(json.dumps(ref)))
    assert reference_for(feature_stats(reference_df.head(10))) is not reference_for(ref)


def test_windows_of_other_types_are_binned_without_errors():
    ref = feature_stats(pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50}))
    window = pd.DataFrame({"x": pd.array([1, None, 50], dtype="Int64"), "c": pd.Categorical(["a", "b", None])})
    stats = sample_df_stats(window, ref)
    assert sum(stats["x"]["hist"][0]) == 2 and stats["x"]["nan_count"] == 1
    assert stats["c"]["hist"][0] == [1, 1, 0] and stats["c"]["nan_count"] == 1
    text = sample_df_stats(pd.DataFrame({"x": ["1", "oops", "3"]}), ref)["x"]
    assert sum(text["hist"][0]) == 2 and text["nan_count"] == 1


def test_columns_of_every_kind_and_layout_count_as_plain_float_columns():
    # Float columns are read straight from pandas' blocks; nullable, text and repeated columns through
    # df[name]: every window below must count as its plain float64 copy does.
    rng = np.random.default_rng(3)
    ref = reference_for(feature_stats(pd.DataFrame({"a": rng.normal(size=500), "b": rng.integers(0, 9, 500),
                                                    "c": rng.normal(size=500)})))
    a, b = rng.normal(size=300), rng.integers(-1, 11, 300)
    plain = pd.DataFrame({"a": a, "b": b.astype(float), "c": a[::-1].copy()})
    expected = ref.histograms(plain)
    windows = [
        pd.DataFrame({"c": a[::-1], "x": "text", "b": b, "a": a}),  # other order, other blocks
        pd.DataFrame({"a": a.astype(np.float32).astype(float), "b": pd.array(b, dtype="Int64"),
                      "c": pd.Series(a[::-1]).astype("Float64")}),
        pd.DataFrame({"a": a, "b": b.astype(str), "c": a[::-1]}).iloc[::-1].iloc[::-1],
        pd.DataFrame(np.column_stack([a, b, a[::-1]]), columns=["a", "b", "c"]),  # one 2-D block
    ]
    for window in windows:
        counted = ref.histograms(window)
        assert counted.counts.tolist() == expected.counts.tolist()
        assert counted.nan_counts.tolist() == [0, 0, 0] and counted.present.all()
    repeated = pd.concat([plain, plain[["a"]]], axis=1)  # "a" twice: not readable as one column
    with pytest.raises(ValueError, match="more than one column named 'a'"):
        ref.histograms(repeated)
    other_repeated = pd.concat([plain, pd.DataFrame({"x": np.ones(300)}), pd.DataFrame({"x": np.zeros(300)})], axis=1)
    assert ref.histograms(other_repeated).counts.tolist() == expected.counts.tolist()  # "x" twice: not a feature
    missing = ref.histograms(plain.drop(columns=["b"]))
    assert missing.present.tolist() == [True, False, True] and missing.nan_counts.tolist() == [0, 300, 0]
