"""``python -m kafka_server [--port P] [--data DIR] [--auto-create] [--clock-file F] ...``: a broker as its
own process.

It prints ``READY 127.0.0.1:PORT`` once it listens, and stops on SIGTERM or SIGINT. ``--clock-file`` makes
the epoch ms in that file its clock (see ``kafka_server.clock.FileClock``) instead of the wall clock.
"""

from __future__ import annotations

import argparse
import signal
import ssl
import threading

from kafka_server.broker import KafkaTestBroker
from kafka_server.clock import FileClock
from kafka_server.store import wall_clock_ms


def _config(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="kafka_server", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--data", default=None, help="folder keeping topics, logs and offsets across restarts")
    parser.add_argument("--auto-create", action="store_true", help="create unknown topics asked for in Metadata")
    parser.add_argument("--partitions", type=int, default=1, help="partitions of auto-created topics")
    parser.add_argument("--clock-file", default=None, help="file holding the broker's time in epoch ms")
    parser.add_argument("--retention-check-ms", type=int, default=None, help="retention pass interval (clock ms)")
    parser.add_argument("--config", type=_config, action="append", default=[], metavar="NAME=VALUE",
                        help="a topic config for the whole broker, e.g. segment.ms=60000 (repeatable; "
                        "none: a segment per batch)")
    parser.add_argument("--sasl-user", type=_config, action="append", default=[], metavar="USER=PASSWORD",
                        help="a SASL user (repeatable): the listener then requires SASL (PLAIN, SCRAM-SHA-256/512)")
    parser.add_argument("--tls-cert", default=None, help="PEM server certificate: the listener speaks TLS")
    parser.add_argument("--tls-key", default=None, help="PEM private key of --tls-cert")
    args = parser.parse_args(argv)
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    broker = KafkaTestBroker(
        args.data,
        args.port,
        args.auto_create,
        args.partitions,
        retention_check_ms=args.retention_check_ms,
        clock=FileClock(args.clock_file) if args.clock_file else wall_clock_ms,
        broker_configs=dict(args.config) if args.config else None,
        sasl_users=dict(args.sasl_user) if args.sasl_user else None,
        ssl_context=context,
    ).start()
    print(f"READY {broker.bootstrap}", flush=True)
    done.wait()
    broker.stop()


if __name__ == "__main__":
    main()
