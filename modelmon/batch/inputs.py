"""The inputs of a batch inference: the dataset as a DataFrame and the model as a predict function.

Both are checked here, before :func:`modelmon.batch.inference.batch_infer` predicts or writes anything.
Paths given by an untrusted caller (the HTTP function) are first confined to a :class:`BatchRoot`.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

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
        if not callable(getattr(model, "predict", None)) and not callable(model):
            raise ValueError(f"model file {str(path)!r} holds a {type(model).__name__}, not a model "
                             "(an object with predict, or a callable)")
    predict = getattr(model, "predict", None)
    if callable(predict):
        return cast(Callable[[pd.DataFrame], Any], predict)
    if callable(model):
        return cast(Callable[[pd.DataFrame], Any], model)
    raise TypeError(f"model must be callable or have a predict method, got {type(model).__name__}")


def _unpickle(path: Path) -> Any:
    try:
        import joblib
    except ImportError:  # joblib comes with scikit-learn; plain pickles load without it
        with path.open("rb") as handle:
            return pickle.load(handle)
    return joblib.load(path)


@dataclasses.dataclass(frozen=True)
class BatchRoot:
    """The one folder a caller's paths may name: datasets under ``data/``, models under ``models/``,
    outputs under ``outputs/``.

    The batch-inference HTTP function takes paths from whoever can reach its trigger, and a model file is
    unpickled (which runs code): so a relative path is taken inside its folder, and any path that resolves
    (symbolic links followed) outside it is refused. ``setting`` names where the root comes from.
    """

    root: Path
    setting: str = "MODELMON_BATCH_ROOT"

    def dataset(self, path: str | Path, what: str = "dataset") -> Path:
        return self._inside("data", path, what)

    def model(self, path: str | Path) -> Path:
        return self._inside("models", path, "model")

    def output(self, path: str | Path) -> Path:
        return self._inside("outputs", path, "output_path")

    def _inside(self, folder: str, path: str | Path, what: str) -> Path:
        if not isinstance(path, str | Path) or not str(path):
            raise ValueError(f"{what} must be a path, got {type(path).__name__}")
        base = (Path(self.root) / folder).resolve()
        resolved = (base / path).resolve()  # an absolute ``path`` replaces ``base``
        if not resolved.is_relative_to(base):
            raise ValueError(f"{what} {str(path)!r} is outside {base} ({self.setting}): the batch-inference "
                             f"function uses no path outside it")
        return resolved
