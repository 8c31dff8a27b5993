"""Moving a V3IO project's results off the paths modelmon used before its tables left MLRun's paths.

Before, modelmon kept its latest results as KV items in ``monitoring-apps/app-results`` (MLRun's results
TSDB) and its metric history in TSDB ``monitoring-apps/metrics`` under its own labels and columns
(``app_name``, ``value``; MLRun's metrics TSDB). The local backend renames them when a home is opened
(``modelmon.backends.local.schema``); on V3IO, run ``python -m modelmon.writer.old_layout`` once (with the
``MODELMON_*`` settings of the project) after deploying the new writer. It

- copies each old latest-results item to ``app-results-latest`` unless that table has the result already
  (a window the new writer stored is newer), then deletes the old item;
- copies the old metric rows (those with an ``app_name`` label) to ``metrics-history``, whose labels and
  columns they already have.

Both steps can run again (copies are create-if-missing, and a TSDB keeps the first sample of a series and
time). The old metric rows stay in MLRun's metrics TSDB (v3io-tsdb deletes whole tables or time ranges, not
series): MLRun's readers filter on ``application_name`` and ``metric_name``, which those rows lack.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from modelmon.backends.base import Backend, Cond, Update, scan_all
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.writer.history import METRIC_LABELS, WRITE_LABEL

#: Far enough in the future for any window end.
_END = 2**62


@dataclasses.dataclass(frozen=True)
class Moved:
    results: int  # old latest-results items copied (the rest were older than what is stored)
    deleted: int  # old latest-results items removed
    metric_rows: int  # old metric history rows copied


def old_results_table(paths: ProjectPaths) -> str:
    return paths.mlrun_results_tsdb  # the same folder: the latest-results KV items were kept there


def move_old_layout(backend: Backend, paths: ProjectPaths) -> Moved:
    """Move what modelmon stored at its old paths of ``paths``' project to the current ones."""
    old = old_results_table(paths)
    items = [(key, item) for key, item in scan_all(backend.kv, old)
             if "result_name" in item and "endpoint_id" in item]  # not the TSDB files that share the folder
    copied = backend.kv.update_many(paths.app_results_table, [Update(key, item, (Cond.not_exists("end_ms"),))
                                                              for key, item in items])
    for key, _ in items:
        backend.kv.delete(old, key)
    try:
        rows = backend.tsdb.read(paths.mlrun_metrics_tsdb, 0, _END)
    except NotFound:
        rows = pd.DataFrame()
    rows = rows[rows["app_name"].astype(str) != ""] if "app_name" in rows.columns else rows.iloc[0:0]
    if not rows.empty:
        backend.tsdb.create_table(paths.metrics_tsdb)
        values = [c for c in ("value", "start_ms") if c in rows.columns]
        stamped = rows[WRITE_LABEL].astype(str) != "" if WRITE_LABEL in rows.columns else rows["app_name"] == ""
        for part, labels in ((rows[stamped], list(METRIC_LABELS)), (rows[~stamped], list(METRIC_LABELS[:-1]))):
            if not part.empty:  # rows written before the stamp label have none: an empty label is no label
                backend.tsdb.write(paths.metrics_tsdb, part[["time", *labels, *values]].reset_index(drop=True),
                                   labels)
    return Moved(sum(copied), len(items), len(rows))


def main() -> None:
    """Move the configured project's old layout (``MODELMON_BACKEND=v3io``, ``MODELMON_PROJECT``, ...)."""
    from modelmon.backends.factory import make_backend
    from modelmon.core.config import Settings

    settings = Settings.from_env()
    backend = make_backend(settings)
    try:
        moved = move_old_layout(backend, ProjectPaths(settings.project))
    finally:
        backend.close()
    print(f"project {settings.project}: {moved.results} latest results copied ({moved.deleted} old items "
          f"removed), {moved.metric_rows} metric history rows copied")


if __name__ == "__main__":
    main()
