"""``python -m kafka_server [--port P] [--data DIR] [--auto-create]``: a broker as its own process.

It prints ``READY 127.0.0.1:PORT`` once it listens, and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import threading

from kafka_server.broker import KafkaTestBroker


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="kafka_server", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--data", default=None, help="folder keeping topics, logs and offsets across restarts")
    parser.add_argument("--auto-create", action="store_true", help="create unknown topics asked for in Metadata")
    parser.add_argument("--partitions", type=int, default=1, help="partitions of auto-created topics")
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    broker = KafkaTestBroker(args.data, args.port, args.auto_create, args.partitions).start()
    print(f"READY {broker.bootstrap}", flush=True)
    done.wait()
    broker.stop()


if __name__ == "__main__":
    main()
