"""Every benchmark target in one place: which figure of which benchmark, the comparison, the number.

A figure is named by its benchmark (``bench_<name>.py``) and the dotted path of the key in what that
benchmark's ``main()`` returns (``"large.warm_s"``: ``figures["large"]["warm_s"]``). A figure that is a list
(one value per round) is judged by its worst value unless :attr:`Target.agg` says otherwise. A target may be
another figure of the same benchmark times a factor (``ratio of``): the ingest rate against the decode rate of
the same run. ``target is None`` lists a figure reported for information only.

Add a target here when a benchmark gets one; a key the benchmark does not (yet) return reads "not measured".
"""

from __future__ import annotations

import dataclasses
import operator
import statistics
from collections.abc import Callable, Mapping
from typing import Any

_OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le, "<": operator.lt,
                                                    ">": operator.gt}
_AGGS: dict[str, Callable[[list[float]], float]] = {"min": min, "max": max, "median": statistics.median}
NOT_MEASURED = "not measured"


@dataclasses.dataclass(frozen=True)
class Target:
    """``figure <op> target`` (or ``figure <op> factor x other``) for one figure of one benchmark."""

    bench: str
    key: str
    label: str
    op: str = ">="
    target: float | None = None  # None: reported for information
    unit: str = ""
    other: str | None = None  # the target is ``target`` x this figure of the same benchmark
    agg: str | None = None  # how a list of values is judged; default the worst one for ``op``
    issue: int | None = None
    requires: tuple[tuple[str, Any], ...] = ()  # figures that must hold these values (the run's scale)

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"{self.bench}.{self.key}: op {self.op!r} is not one of {', '.join(_OPS)}")
        if self.agg is not None and self.agg not in _AGGS:
            raise ValueError(f"{self.bench}.{self.key}: agg {self.agg!r} is not one of {', '.join(_AGGS)}")

    def value(self, figures: Mapping[str, Any] | None) -> float | None:
        """This target's figure in ``figures`` (a benchmark's returned dict), or ``None`` when missing or
        measured at another scale than :attr:`requires` names."""
        if any(figures is None or figures.get(key) != value for key, value in self.requires):
            return None
        return figure(figures, self.key, self.agg or ("min" if self.op in (">=", ">") else "max"))

    def bound(self, figures: Mapping[str, Any] | None) -> float | None:
        """The number the figure is compared with (``None``: information only, or its other figure is missing)."""
        if self.target is None or self.other is None:
            return self.target
        base = figure(figures, self.other, "median")
        return None if base is None else self.target * base

    def met(self, figures: Mapping[str, Any] | None) -> bool | None:
        """Whether the figure meets the target; ``None`` when not measured or information only."""
        value, bound = self.value(figures), self.bound(figures)
        if value is None or bound is None:
            return None
        return _OPS[self.op](value, bound)

    def describe(self) -> str:
        """The target as text: ``>= 20,000 results/s``, ``>= 0.5 x decode_rows_per_s``, ``(info)``."""
        if self.target is None:
            return "(info)"
        if self.other is not None:
            return f"{self.op} {self.target:g} x {self.other}"
        return f"{self.op} {format_number(self.target)}{' ' + self.unit if self.unit else ''}"


def figure(figures: Mapping[str, Any] | None, key: str, agg: str = "min") -> float | None:
    """The number at dotted ``key`` of ``figures`` (a list reduced with ``agg``; ``"a|b"``: ``a``, else ``b``);
    ``None`` when absent or not a number.

    >>> figure({"large": {"warm_s": 0.4}, "rates": [3, 1, 2]}, "large.warm_s"), figure({"rates": [3, 1]}, "rates")
    (0.4, 1)
    >>> figure({"a": "n/a"}, "a") is None, figure(None, "a") is None, figure({"b": 2}, "a|b")
    (True, True, 2)
    """
    if "|" in key:  # alternatives, for a figure a benchmark renamed: the first one present
        found = (figure(figures, one, agg) for one in key.split("|"))
        return next((value for value in found if value is not None), None)
    value: Any = figures
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, list):
        numbers = [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
        return _AGGS[agg](numbers) if numbers else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def format_number(value: float) -> str:
    """A figure as the table prints it: thousands separated, at most three significant decimals.

    >>> format_number(20000.4), format_number(0.004512), format_number(1.5), format_number(float("inf"))
    ('20,000', '0.00451', '1.5', 'inf')
    """
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


#: "Not above the peer's": the same estimator agrees to ~1e-16, which a bare ``<=`` would call a coin toss.
_TIE = 1 + 1e-9
def _estimation(data: str) -> tuple[Target, ...]:
    """Issue 16's targets for one data set of ``bench_estimation``: error, band coverage, against NannyML."""
    return (
        Target("estimation", f"{data}.ours.mae", f"estimation MAE, {data}", "<=", 0.02, issue=16),
        Target("estimation", f"{data}.ours.mae", f"estimation MAE vs nannyml's, {data}", "<=", _TIE,
               other=f"{data}.nannyml.mae", issue=16),
        Target("estimation", f"{data}.ours.coverage", f"estimation band coverage, {data}", ">=", 0.9, issue=16),
        Target("estimation", f"{data}.speedup", f"estimation vs nannyml time, {data}", ">=", 5, "x", issue=16),
    )


#: Every target, in the order the summary lists them (benchmarks alphabetically, as ``make bench`` runs them).
TARGETS: tuple[Target, ...] = (
    Target("alerts", "alone_results_s", "writer alone (alerts bench)", ">=", 10_000, "results/s", issue=14),
    Target("alerts", "ratio", "writer with alerts / alone", ">=", 0.95, issue=14),
    Target("batch", "first_run_rows_per_s", "batch inference, first run", ">=", 200_000, "rows/s", issue=5),
    Target("batch", "second_run_rows_per_s", "batch inference, second run", ">=", 200_000, "rows/s", issue=5),
    Target("calibration", "false_positive.1000.ours", "false positives, 1,000 rows", "<", 0.02, issue=8),
    Target("calibration", "detection_0.5sigma.1000.ours", "0.5 sigma detected, 1,000 rows", ">=", 0.95, issue=8),
    Target("controller", "controller_10k_s", "controller 10k endpoints x 3 apps", "<=", 10, "s", issue=3),
    Target("controller", "skew_time_ratio", "year-9999 watermark, time ratio", "<=", 1.1, issue=11),
    Target("controller", "skew_memory_ratio", "year-9999 watermark, memory ratio", "<=", 1.1, issue=11),
    Target("controller", "controller_100k_s", "controller 100k endpoints x 3 apps", "<=", 60, "s", issue=17),
    Target("controller", "controller_100k_peak_mb", "controller 100k, peak memory", "<=", 1024, "MB", issue=17),
    Target("decisions", "calibrated_small_window_false_positive", "calibrated small-window false positives", "<",
           0.02, issue=8),
    Target("detect", "median_s", "time to detect, median (1k endpoints x 3 apps)", "<=", 2, "s", issue=17,
           requires=(("endpoints", 1000), ("apps", 3))),
    Target("detect", "p99_s", "time to detect, p99", "<=", 5, "s", issue=17, requires=(("endpoints", 1000),)),
    Target("drift", "large.warm_s", "drift 1M x 50, warm", "<=", 0.5, "s", issue=7),
    Target("drift", "large.cold_s", "drift 1M x 50, cold vs warm", "<=", 1.5, other="large.warm_s", issue=17),
    Target("drift", "small.warm_s", "drift 10k x 20, warm", "<=", 0.005, "s", issue=7),
    # MLRun's way, measured two ways: MLRun's own HistogramDataDriftApplication.do_tracking (mlrun 1.12.1 in
    # its own venv, bench/mlrun_drift.py) and the bench's bare re-implementation of its statistics (per-feature
    # np.histogram, which numpy's AVX-512 sort makes ~10x faster on CPUs that have it), kept for information.
    Target("drift", "large.speedup_vs_mlrun_app", "drift 1M x 50 vs MLRun's app", ">=", 5, "x", issue=7),
    Target("drift", "small.speedup_vs_mlrun_app", "drift 10k x 20 vs MLRun's app", ">=", 5, "x", issue=17),
    Target("drift", "large.speedup_vs_mlrun", "drift 1M x 50 vs MLRun's statistics re-implemented", unit="x"),
    Target("drift", "small.speedup_vs_mlrun", "drift 10k x 20 vs MLRun's statistics re-implemented", unit="x"),
    Target("drift", "memory.peak_ratio", "drift peak memory / window data", "<=", 2, "x", issue=7),
    *(t for data in ("synthetic", "breast_cancer", "digits") for t in _estimation(data)),
    Target("ingest", "rows_per_s|stream_function_rows_per_s", "stream function", ">=", 50_000, "rows/s", issue=4),
    Target("ingest", "ratio_to_decode_floor", "stream function / decode-only floor, same run", ">=", 0.5, issue=17),
    Target("ingest", "ratio_to_storey|speedup", "stream function vs per-event storey", ">=", 25, "x", issue=17),
    Target("kafka", "put_records_per_s", "kafka stream put, test broker", unit="records/s", issue=18),
    Target("kafka", "consume_records_per_s", "kafka stream consume, test broker", unit="records/s", issue=18),
    Target("scaling", "scaling_2_workers", "stream function, 2 processes vs 1", ">=", 1.7, "x", issue=17),
    Target("scaling", "scaling_4_workers", "stream function, 4 processes vs 1", unit="x", issue=17),
    Target("stream_local", "put_records_per_s", "local stream put", ">=", 100_000, "records/s", issue=2),
    Target("stream_local", "consume_1_process_records_per_s", "local stream, one consumer", ">=", 50_000,
           "records/s", issue=2),
    Target("tracking", "handler_added_median_us", "tracking overhead per request", "<=", 50, "us", issue=5),
    Target("ui", "overview_s", "UI overview of 10k endpoints", "<=", 1, "s", issue=13),
    Target("ui", "endpoint_30d_s", "UI endpoint, 30 days x 12 results", "<=", 0.5, "s", issue=13),
    Target("ui", "report_s", "one-file report", "<=", 3, "s", issue=13),
    Target("ui", "report_bytes", "one-file report size", "<=", 5_000_000, "bytes", issue=13),
    Target("writer", "local_results_s", "writer, local backend, batched", ">=", 20_000, "results/s", agg="median",
           issue=17),
    Target("writer", "local_one_event_results_s", "writer, local backend, one event per call", unit="results/s",
           agg="median", issue=17),
    Target("writer", "v3io_results_s", "writer, v3io client on the test servers", unit="results/s", agg="median",
           issue=17),
)
