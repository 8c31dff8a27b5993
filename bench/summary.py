"""The one table ``make bench`` ends with: every figure with a target (:mod:`bench.targets`), met or not.

Figures are read from ``bench/results/<bench>.json`` (what each benchmark's ``main()`` returned), so the
table is the same whether the benchmarks ran just now or earlier (``python -m bench --summary``).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

from bench.targets import NOT_MEASURED, TARGETS, Target, format_number


def load_results(directory: pathlib.Path) -> dict[str, dict[str, Any]]:
    """Each benchmark's stored figures by short name (``bench_writer.json`` -> ``writer``); unreadable
    files are left out (their targets read "not measured")."""
    results = {}
    for path in sorted(directory.glob("bench_*.json")):
        try:
            figures = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(figures, dict):
            results[path.stem.removeprefix("bench_")] = figures
    return results


def rows(results: Mapping[str, Mapping[str, Any]], benches: Iterable[str] | None = None) -> list[tuple[str, ...]]:
    """One row per target (of ``benches`` only, when given): bench, figure, value, target, verdict, key."""
    wanted = None if benches is None else {b.removeprefix("bench_") for b in benches}
    out = []
    for target in TARGETS:
        if wanted is not None and target.bench not in wanted:
            continue
        figures = results.get(target.bench)
        value = target.value(figures)
        shown = NOT_MEASURED if value is None else format_number(value) + (f" {target.unit}" if target.unit else "")
        out.append((target.bench, target.label, shown, _target_text(target, figures), _verdict(target, figures),
                    target.key))
    return out


def _target_text(target: Target, figures: Mapping[str, Any] | None) -> str:
    bound = target.bound(figures)
    if target.other is not None and bound is not None:
        return f"{target.describe()} = {format_number(bound)}"
    return target.describe()


def _verdict(target: Target, figures: Mapping[str, Any] | None) -> str:
    met = target.met(figures)
    if target.target is None:
        return "info" if target.value(figures) is not None else NOT_MEASURED
    if met is None:
        return NOT_MEASURED
    return "met" if met else "NOT MET"


def table(results: Mapping[str, Mapping[str, Any]], benches: Iterable[str] | None = None) -> str:
    """The summary as aligned text, with a count of targets met."""
    body = rows(results, benches)
    header = ("bench", "figure", "value", "target", "", "key")
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    judged = [r for r in body if r[4] in ("met", "NOT MET")]
    missing = sum(r[4] == NOT_MEASURED for r in body)
    lines.append(f"{sum(r[4] == 'met' for r in judged)} of {len(judged)} targets met"
                 + (f"; {missing} figures not measured" if missing else ""))
    return "\n".join(lines)
