"""``python -m modelmon.service --home H``: the local service process (:func:`modelmon.service.start_service`).

With ``--detach`` the process forks once and the parent exits at once, so the service is adopted by
init (or the nearest subreaper) and never becomes a zombie of the notebook or script that started it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from modelmon.service.daemon import serve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelmon.service",
                                     description="Run the functions of every project of a modelmon home.")
    parser.add_argument("--home", required=True, help="the modelmon home (absolute path)")
    parser.add_argument("--notify-fd", type=int, help="write 'ready <pid>' (or 'busy') to this pipe, then close it")
    parser.add_argument("--detach", action="store_true", help="fork; the parent exits at once")
    parser.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                        help="how often to read the desired state")
    parser.add_argument("--stop-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="how long a function may take to stop before it is killed")
    args = parser.parse_args(argv)
    if args.detach and os.fork() > 0:
        os._exit(0)  # the starter waits for this exit; the child goes on as the service
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # stderr stays: the starter points it at the service log for errors before logging starts
    os.close(devnull)
    return serve(args.home, args.notify_fd, poll_s=args.poll, stop_timeout_s=args.stop_timeout)


if __name__ == "__main__":
    sys.exit(main())
