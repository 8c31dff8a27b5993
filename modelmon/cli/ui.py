"""``modelmon ui``: serve the web UI, its JSON API and ``/metrics`` for one project of a home.

It binds 127.0.0.1 by default. Any other address is reachable from other machines, so it needs an access
token (``--token`` or ``$MODELMON_UI_TOKEN``) and refuses to start without one (exit code 1). Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from typing import Any

from modelmon.cli.demo import whole_number
from modelmon.cli.endpoints import open_home
from modelmon.core.config import ENV_UI_TOKEN

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8600
LOCAL_HOSTS = ("localhost",)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ui", help="serve the web UI (overview, endpoint pages, apps, alerts), its JSON API and /metrics",
        description="Serve one project of a home over HTTP: pages, the JSON API under /api (docs/ui.md) and a "
                    "Prometheus /metrics. Binds 127.0.0.1 unless --host says otherwise; any address other "
                    "than localhost needs an access token (--token or $MODELMON_UI_TOKEN). Ctrl-C stops it.",
    )
    parser.add_argument("--home", help="modelmon home of the local backend (default: $MODELMON_HOME or .modelmon)")
    parser.add_argument("--project", help="project name (default: $MODELMON_PROJECT, else the home's only project, "
                                          "else 'default')")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST})")
    parser.add_argument("--port", type=whole_number(0, 65535), default=DEFAULT_PORT,
                        help=f"port to bind (default: {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--token", help=f"access token every request must carry (default: ${ENV_UI_TOKEN}); "
                                        "required to bind an address other than localhost")
    parser.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (``localhost``, ``127.x.x.x``, ``::1``).

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0"), is_loopback("example.org")
    (True, True, False, False)
    """
    if host.lower() in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get(ENV_UI_TOKEN) or None
    if not is_loopback(args.host) and not token:
        raise ValueError(f"--host {args.host} is reachable from other machines: set an access token with --token "
                         f"or ${ENV_UI_TOKEN} (or bind {DEFAULT_HOST})")
    import uvicorn  # the server and the app are only loaded to serve

    from modelmon.ui.app import create_app
    from modelmon.ui.context import UIContext

    settings, backend = open_home(args)
    try:
        sock = bind(args.host, args.port)
        app = create_app(UIContext(settings, backend, settings.project, token=token))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        port = sock.getsockname()[1]
        shown = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
        print(f"modelmon ui: project {settings.project!r} of {settings.home} at {url}  (Ctrl-C stops)", flush=True)
        with sock:
            server.run(sockets=[sock])  # uvicorn stops on Ctrl-C and raises it again: exit code 130
    finally:
        backend.close()
    return 0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``; ``ValueError`` saying why it cannot be bound."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ValueError(f"--host {host}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock
