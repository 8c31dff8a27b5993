"""Run every benchmark module ``bench/bench_*.py`` (or those named on the command line).

Each module defines ``main() -> dict`` that measures, prints its report and returns the figures,
which are also written to ``bench/results/<name>.json``. Run without names, every benchmark gets a
fresh interpreter, so one benchmark's memory and caches do not slow down the next.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).parent


def run_one(name: str) -> None:
    module = importlib.import_module(f"bench.{name if name.startswith('bench_') else 'bench_' + name}")
    print(f"== {module.__name__}", flush=True)
    figures = module.main()
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{module.__name__.split('.')[-1]}.json").write_text(json.dumps(figures, indent=2, default=str))


def main(argv: list[str]) -> int:
    if argv:
        for name in argv:
            run_one(name)
        return 0
    failed = [p.stem for p in sorted(HERE.glob("bench_*.py"))
              if subprocess.run([sys.executable, "-m", "bench", p.stem], check=False).returncode != 0]
    if failed:
        print(f"benchmarks that failed to run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
