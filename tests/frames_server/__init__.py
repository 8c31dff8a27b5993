"""A v3io-frames gRPC server for tests: the real ``v3io_frames`` client talks to it on 127.0.0.1."""

from __future__ import annotations

from frames_server.server import FramesTestServer

__all__ = ["FramesTestServer"]
