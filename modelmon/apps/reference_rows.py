"""An app's ``reference_data`` kwarg: the reference rows, given as a DataFrame or a parquet/CSV path.

``feature_stats`` (histograms) is enough for per-feature drift; what needs the rows themselves — a
feature's dependence with the prediction, the reference of one segment — reads them from here. A
deployed app gets a path (its kwargs are JSON); ``evaluate`` and notebooks may pass the DataFrame.
"""

from __future__ import annotations

import pathlib

import pandas as pd


def load_reference_rows(reference_data: pd.DataFrame | str | pathlib.Path | None) -> pd.DataFrame | None:
    """The reference rows, or ``None``; ``ValueError`` for anything but a DataFrame or a .parquet/.csv path."""
    if reference_data is None:
        return None
    if isinstance(reference_data, pd.DataFrame):
        return reference_data.reset_index(drop=True)
    if not isinstance(reference_data, str | pathlib.Path):
        raise ValueError(f"reference_data must be a DataFrame or a parquet/CSV path, "
                         f"got {type(reference_data).__name__}")
    path = str(reference_data)
    if path.endswith(".csv"):
        return pd.read_csv(path)
    if path.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    raise ValueError(f"reference_data {path!r}: expected a .parquet or .csv file")
