"""NannyML's CBPE on the files ``bench_estimation`` writes, run by the interpreter of a separate venv.

Usage: ``<venv>/bin/python bench/nannyml_cbpe.py DIR WINDOW_ROWS REPEAT``. ``DIR`` holds ``reference.parquet`` and
``analysis.parquet`` (columns ``score``, ``prediction``, ``label``; the analysis is the windows one after
another, each ``WINDOW_ROWS`` rows). Prints JSON: per window the estimated accuracy and its band, and the
seconds of ``fit`` + ``estimate``, the best of ``REPEAT`` runs (the import of nannyml is not counted).
Imports nothing from modelmon.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import pandas as pd


def main(directory: str, window_rows: int, repeat: int) -> dict[str, object]:
    warnings.filterwarnings("ignore")
    import nannyml

    reference = pd.read_parquet(f"{directory}/reference.parquet")
    analysis = pd.read_parquet(f"{directory}/analysis.parquet").drop(columns=["label"])
    seconds = []
    for _ in range(repeat):  # the best of a few runs: the machine may be shared
        start = time.perf_counter()
        estimator = nannyml.CBPE(y_pred_proba="score", y_pred="prediction", y_true="label",
                                 problem_type="classification_binary", chunk_size=window_rows,
                                 metrics=["roc_auc", "f1", "precision", "recall", "accuracy"])
        estimator.fit(reference)
        results = estimator.estimate(analysis).filter(period="analysis").to_df()
        seconds.append(time.perf_counter() - start)
    accuracy = results["accuracy"]
    return {"version": nannyml.__version__, "seconds": min(seconds),
            "estimate": accuracy["value"].tolist(),
            "lower": accuracy["lower_confidence_boundary"].tolist(),
            "upper": accuracy["upper_confidence_boundary"].tolist()}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
