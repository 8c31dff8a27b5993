"""NannyML's CBPE (or DLE) on the files ``bench_estimation`` writes, run by the interpreter of a separate venv.

Usage: ``<venv>/bin/python bench/nannyml_estimators.py DIR WINDOW_ROWS REPEAT [FEATURES]``. ``DIR`` holds
``reference.parquet`` and ``analysis.parquet``: for CBPE the columns ``score``, ``prediction``, ``label``;
with ``FEATURES`` (comma-separated input columns) DLE of a regressor's ``prediction`` against ``label``. The
analysis is the windows one after another, each ``WINDOW_ROWS`` rows. Prints JSON: per window the estimate
(accuracy, or MAE for DLE) and its band, and the seconds of ``fit`` + ``estimate``, the best of ``REPEAT``
runs (the import of nannyml is not counted). Imports nothing from modelmon.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import pandas as pd


def main(directory: str, window_rows: int, repeat: int, features: list[str]) -> dict[str, object]:
    warnings.filterwarnings("ignore")
    import nannyml

    reference = pd.read_parquet(f"{directory}/reference.parquet")
    analysis = pd.read_parquet(f"{directory}/analysis.parquet").drop(columns=["label"])
    seconds = []
    for _ in range(repeat):  # the best of a few runs: the machine may be shared
        start = time.perf_counter()
        if features:
            estimator = nannyml.DLE(feature_column_names=features, y_pred="prediction", y_true="label",
                                    chunk_size=window_rows, metrics=["mae", "rmse"])
        else:
            estimator = nannyml.CBPE(y_pred_proba="score", y_pred="prediction", y_true="label",
                                     problem_type="classification_binary", chunk_size=window_rows,
                                     metrics=["roc_auc", "f1", "precision", "recall", "accuracy"])
        estimator.fit(reference)
        results = estimator.estimate(analysis).filter(period="analysis").to_df()
        seconds.append(time.perf_counter() - start)
    metric = results["mae" if features else "accuracy"]
    return {"version": nannyml.__version__, "seconds": min(seconds),
            "estimate": metric["value"].tolist(),
            "lower": metric["lower_confidence_boundary"].tolist(),
            "upper": metric["upper_confidence_boundary"].tolist()}


if __name__ == "__main__":
    names = [n for n in (sys.argv[4] if len(sys.argv) > 4 else "").split(",") if n]
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), names)))
