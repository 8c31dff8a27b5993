"""A throwaway S3 server for the tests: moto's server (``python -m moto.server``) on 127.0.0.1, a free port.

s3fs talks real S3 HTTP to it (signed requests, XML answers, paged listings). ``shared_moto()`` starts one
per test process on first use and stops it at exit; :meth:`MotoS3.bucket` gives each test a fresh bucket.
``env`` reaches the server's environment: ``INITIAL_NO_AUTH_ACTION_COUNT`` makes it check credentials
after that many requests (moto's IAM), which a test of refused credentials needs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any

import boto3
from per_process import PerProcess

#: Any credentials do while the server does not check them (moto's default).
KEY, SECRET = "testing-key", "testing-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoS3:
    """One running moto server; :attr:`endpoint_url` is its address."""

    def __init__(self, port: int | None = None, env: Mapping[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start the server (again, on the same port, after :meth:`stop`: its buckets are then gone)."""
        self._process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                                          str(self.port)], env=self._env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto's S3 server did not start on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def client(self, key: str = KEY, secret: str = SECRET) -> Any:
        """A boto3 S3 client on this server (for setting up and checking, beside the code under test)."""
        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=key,
                            aws_secret_access_key=secret, region_name="us-east-1")

    def options(self, **extra: Any) -> dict[str, Any]:
        """``storage_options`` for the stores: this server and credentials it accepts."""
        return {"endpoint_url": self.endpoint_url, "key": KEY, "secret": SECRET, **extra}

    def new_bucket(self) -> str:
        """A fresh empty bucket's name."""
        name = f"mm-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name


_shared = PerProcess(MotoS3)


def shared_moto() -> MotoS3:
    """This process's server, started on first use and stopped at exit."""
    return _shared.get()
