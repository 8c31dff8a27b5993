"""Run every benchmark module ``bench/bench_*.py`` (or those named on the command line).

Each module defines ``main() -> dict`` that measures, prints its report and returns the figures,
which are also written to ``bench/results/<name>.json``. Run without names, every benchmark gets a
fresh interpreter, so one benchmark's memory and caches do not slow down the next, and the run ends
with one table of every figure that has a target (``bench/targets.py``), met or not (named benchmarks
end with their own rows). ``--summary`` prints the table from the stored results without running anything.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import subprocess
import sys

from bench.summary import load_results, table

HERE = pathlib.Path(__file__).parent
RESULTS = HERE / "results"


def run_one(name: str) -> None:
    module = importlib.import_module(f"bench.{name if name.startswith('bench_') else 'bench_' + name}")
    print(f"== {module.__name__}", flush=True)
    figures = module.main()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{module.__name__.split('.')[-1]}.json").write_text(json.dumps(figures, indent=2, default=str))


def _summary(benches: list[str] | None = None) -> None:
    """The targets table (of ``benches`` only, when given), with the machine's load now."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n== summary (bench/results/*.json; load average now {load})")
    print(table(load_results(RESULTS), benches))


def main(argv: list[str]) -> int:
    if argv == ["--summary"]:
        _summary()
        return 0
    if argv:
        for name in argv:
            run_one(name)
        _summary([name.removeprefix("bench_") for name in argv])
        return 0
    failed = [p.stem for p in sorted(HERE.glob("bench_*.py"))
              if subprocess.run([sys.executable, "-m", "bench", p.stem], check=False).returncode != 0]
    _summary()
    if failed:
        print(f"benchmarks that failed to run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
