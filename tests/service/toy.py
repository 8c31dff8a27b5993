"""A tiny function the service tests run: a line per cron tick; crashes at start while ``TOY_CRASHES`` says so.

It is shipped next to each test function's ``function.yaml`` (an app file), as a user's app module is.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def init_context(context):
    name = os.environ["TOY_NAME"]
    starts = Path(os.environ["TOY_STATE"]) / f"{name}.starts"
    count = int(starts.read_text()) + 1 if starts.exists() else 1
    starts.write_text(str(count))
    if count <= int(os.environ.get("TOY_CRASHES", "0")):
        print(f"toy {name}: crash number {count}", flush=True)
        raise RuntimeError(f"{name} crash number {count}")
    print(f"toy {name} ready in pid {os.getpid()}: {os.environ.get('TOY_GREETING', 'hello')}", flush=True)


def handler(context, event):
    context.logger.info(f"tick from {os.environ['TOY_NAME']}")
    time.sleep(float(os.environ.get("TOY_TICK_SLEEP_S", "0")))  # a slow handler delays the function's stop
