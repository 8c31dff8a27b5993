"""The production backend on Iguazio: V3IO streams and KV (``v3io`` web API), TSDB (``v3io-frames``),
samples and objects (V3IO objects). Every path is "<container>/<path>" from :mod:`modelmon.core.paths`.

Credentials come from :class:`~modelmon.core.config.Settings` (``V3IO_API``, ``V3IO_ACCESS_KEY``,
``V3IO_FRAMESD``, ``V3IO_USERNAME``) and are never logged.
"""

from __future__ import annotations

from modelmon.backends.retry import RetryPolicy
from modelmon.backends.v3io.backend import open_v3io_backend

__all__ = ["RetryPolicy", "open_v3io_backend"]
