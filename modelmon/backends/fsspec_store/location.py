"""Where the fsspec stores live: a URL turned into a file system, a root folder and how to publish a file.

A URL names the file system by its protocol (``file://``, ``s3://``, ``memory://``, any fsspec knows) and
the root below which ``samples/`` and ``objects/`` are kept, the local backend's layout. S3 gets defaults
that suit a store many processes share: no listing cache (another process's new file must show up), no
instance cache, short timeouts and no retries inside botocore or s3fs, since :class:`FsCalls` retries with
its own bounded policy. ``storage_options`` override any of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import fsspec

from modelmon.core.errors import ConfigError

#: Protocols whose writes publish a whole file at once (an object PUT; a dict entry in memory): a reader
#: never sees a part of one, so a file is written in place. Other file systems write a hidden temp file and
#: move it over the target.
WHOLE_OBJECT_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss", "memory"})
S3_PROTOCOLS = frozenset({"s3", "s3a"})
#: botocore settings for S3: fail fast (FsCalls retries) rather than botocore's own retries with backoff,
#: which took about 10 s to report a server that is down.
S3_CONFIG: dict[str, Any] = {"connect_timeout": 5, "read_timeout": 60, "retries": {"total_max_attempts": 1}}


class Location:
    """An opened file system and the root path the stores live under (no protocol, no trailing '/').

    :attr:`fs` is opened again in a forked child: an async file system (s3fs) runs its requests on an event
    loop thread that a fork does not copy, and refuses to be used there ("not fork-safe").
    """

    def __init__(self, url: str, options: Mapping[str, Any], protocol: str) -> None:
        self._url, self._options = url, dict(options)
        self.protocol = protocol
        self._pid = os.getpid()
        self._fs, path = fsspec.core.url_to_fs(url, **self._options)
        self._tune(self._fs)
        self.root = str(path).rstrip("/")
        #: the URL without credentials, for messages
        self.where = f"{'file' if self.is_local else protocol}://{self.root}"

    @property
    def fs(self) -> Any:
        if self._pid != os.getpid():
            self._fs, _ = fsspec.core.url_to_fs(self._url, **self._options)
            self._tune(self._fs)
            self._pid = os.getpid()
        return self._fs

    def _tune(self, fs: Any) -> None:
        if self.protocol in S3_PROTOCOLS:
            fs.retries = 1  # s3fs's own retry loop (5 tries, up to 15 s apart): FsCalls retries instead

    @property
    def whole_writes(self) -> bool:
        """Whether a write is published whole (see :data:`WHOLE_OBJECT_PROTOCOLS`)."""
        return self.protocol in WHOLE_OBJECT_PROTOCOLS

    @property
    def is_local(self) -> bool:
        return self.protocol in ("file", "local")


def open_location(url: str, storage_options: Mapping[str, Any] | None = None) -> Location:
    """The file system and root for ``url``; ``ValueError`` for a malformed URL, ``ConfigError`` when the
    protocol's package is not installed (``s3://`` needs ``s3fs``: ``pip install 'modelmon[s3]'``)."""
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"store URL {url!r} must name a file system, e.g. file:///data/mm or s3://bucket/prefix")
    if storage_options is not None and not isinstance(storage_options, Mapping):
        raise TypeError(f"storage_options must be a mapping, not {type(storage_options).__name__}")
    protocol = url.split("://", 1)[0].lower()
    try:
        fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise ValueError(f"store URL {url!r}: fsspec knows no protocol {protocol!r}") from None
    except ImportError as exc:
        raise ConfigError(f"store URL {url!r}: the {protocol}:// file system is not installed ({exc}); for S3 "
                          "install modelmon's 's3' extra") from exc
    options = dict(storage_options or {})
    if protocol in S3_PROTOCOLS:
        options = _s3_options(options)
    options.setdefault("skip_instance_cache", True)
    location = Location(url, options, protocol)
    if protocol in S3_PROTOCOLS and not location.root:
        raise ValueError(f"store URL {url!r} names no bucket: use s3://bucket or s3://bucket/prefix")
    return location


def _s3_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with this module's S3 defaults under what the caller set (``config_kwargs`` merged)."""
    options.setdefault("use_listings_cache", False)
    config = dict(S3_CONFIG)
    config.update(options.get("config_kwargs") or {})
    options["config_kwargs"] = config
    return options
