"""The errors modelmon raises.

Every error a caller may want to catch derives from :class:`ModelmonError`::

    ModelmonError
    ├── InvalidEvent          a stream message that cannot be read (goes to the dead-letter stream)
    ├── ConfigError           bad configuration: environment, function.yaml, handler string
    ├── NotFound              an endpoint, stream, table or item that does not exist
    ├── BackendError          a storage backend failed
    │   ├── BackendUnavailable    transient: retry later (connection refused, 503, locked database)
    │   └── CorruptStore          the store exists but is not a modelmon store, or is damaged
    └── DeploymentFailed      a function did not reach ``ready`` on a Nuclio dashboard (or could not be deleted)

Invalid user arguments raise the built-in ``ValueError`` (or ``TypeError``) naming the argument.
Backends translate their client libraries' errors into these at their edge (``raise ... from exc``).
"""

from __future__ import annotations


class ModelmonError(Exception):
    """Root of every modelmon error."""


class InvalidEvent(ModelmonError, ValueError):
    """A stream message that cannot be read; ``reason`` says why."""

    def __init__(self, reason: str, *, kind: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class ConfigError(ModelmonError):
    """Configuration that cannot be used: a bad environment value, function.yaml or handler."""


class NotFound(ModelmonError, KeyError):
    """A named thing (endpoint, stream, table, item) does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0]) if self.args else ""


class BackendError(ModelmonError):
    """A storage backend failed."""


class BackendUnavailable(BackendError):
    """A transient backend failure: the same call may succeed later."""


class CorruptStore(BackendError):
    """The store exists but is not a modelmon store, or is damaged."""


class DeploymentFailed(ModelmonError):
    """A function did not reach ``ready``; ``function`` and ``message`` say which and why."""

    def __init__(self, function: str, message: str) -> None:
        super().__init__(f"deploying function {function!r} failed: {message}")
        self.function = function
        self.message = message
