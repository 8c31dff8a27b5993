"""Run every benchmark module ``bench/bench_*.py`` (or those named on the command line).

Each module defines ``main() -> dict`` that measures, prints its report and returns the figures.
Results are also written to ``bench/results/<name>.json``.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import sys


def main(argv: list[str]) -> int:
    here = pathlib.Path(__file__).parent
    names = argv or sorted(p.stem for p in here.glob("bench_*.py"))
    out = here / "results"
    out.mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.{name if name.startswith('bench_') else 'bench_' + name}")
        print(f"== {module.__name__}", flush=True)
        figures = module.main()
        (out / f"{module.__name__.split('.')[-1]}.json").write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
