"""The inputs of a batch inference: the dataset as a DataFrame and the model as a predict function.

Both are checked here, before :func:`modelmon.batch.inference.batch_infer` predicts or writes anything.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def load_dataset(dataset: pd.DataFrame | str | Path) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a parquet file or a CSV file; an empty one is an error."""
    if isinstance(dataset, pd.DataFrame):
        frame = dataset
    elif isinstance(dataset, str | Path):
        path = Path(dataset)
        if not path.is_file():
            raise FileNotFoundError(f"dataset {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        try:
            if suffix in (".parquet", ".pq"):
                frame = pd.read_parquet(path)
            elif suffix == ".csv":
                frame = pd.read_csv(path)
            else:
                raise ValueError(f"dataset {str(path)!r}: expected a .parquet, .pq or .csv file")
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            if isinstance(exc, ValueError) and "expected a .parquet" in str(exc):
                raise
            raise ValueError(f"dataset {str(path)!r} cannot be read: {exc}") from exc
    else:
        raise TypeError(f"dataset must be a DataFrame or a parquet/CSV path, got {type(dataset).__name__}")
    if frame.empty:
        raise ValueError("dataset is empty: there is nothing to predict")
    return frame.reset_index(drop=True)


def load_model(model: Any) -> Callable[[pd.DataFrame], Any]:
    """A predict function from a callable, an object with ``predict``, or a pickle/joblib file path."""
    if isinstance(model, str | Path):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"model file {str(path)!r} does not exist")
        try:
            model = _unpickle(path)
        except Exception as exc:
            raise ValueError(f"model file {str(path)!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    predict = getattr(model, "predict", None)
    if callable(predict):
        return predict
    if callable(model):
        return model
    raise TypeError(f"model must be callable or have a predict method, got {type(model).__name__}")


def _unpickle(path: Path) -> Any:
    try:
        import joblib
    except ImportError:  # joblib comes with scikit-learn; plain pickles load without it
        with path.open("rb") as handle:
            return pickle.load(handle)
    return joblib.load(path)
