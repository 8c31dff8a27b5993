"""MLRun's app logger: ``logger.info("message", key=value)``, the keyword fields rendered into the line.

MLRun's logger takes structured fields as keyword arguments and prints them after the message
(``Counted events: {'count': 3}``). A standard :class:`logging.Logger` raises ``TypeError`` on them,
so apps get an :class:`AppLogger`, which renders the fields itself (only when the level is enabled, so a
``debug(..., sample_df=df)`` costs nothing at INFO) and also hands them to handlers as
``record.fields``. ``%``-style arguments still work.

>>> import io, logging
>>> stream = io.StringIO()
>>> log = logging.getLogger("doctest.app")
>>> log.addHandler(logging.StreamHandler(stream)); log.setLevel(logging.INFO); log.propagate = False
>>> AppLogger(log).info("Counted events", count=3, model="churn")
>>> stream.getvalue()
"Counted events: {'count': 3, 'model': 'churn'}\\n"
"""

from __future__ import annotations

import logging
import sys
from typing import Any

#: A field's rendering is cut to this many characters (a DataFrame's repr can be long).
MAX_FIELD_CHARS = 2000
_RESERVED = ("exc_info", "stack_info", "stacklevel")
_FORMAT = "%(asctime)s [%(levelname)s] %(name)s: %(message)s"


class AppLogger:
    """A logger taking MLRun's keyword fields; wraps a standard logger (see the module docstring)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    @property
    def name(self) -> str:
        return self.logger.name

    def debug(self, message: object, *args: Any, **fields: Any) -> None:
        self._log(logging.DEBUG, message, args, fields)

    def info(self, message: object, *args: Any, **fields: Any) -> None:
        self._log(logging.INFO, message, args, fields)

    def warning(self, message: object, *args: Any, **fields: Any) -> None:
        self._log(logging.WARNING, message, args, fields)

    warn = warning

    def error(self, message: object, *args: Any, **fields: Any) -> None:
        self._log(logging.ERROR, message, args, fields)

    def exception(self, message: object, *args: Any, **fields: Any) -> None:
        fields.setdefault("exc_info", True)
        self._log(logging.ERROR, message, args, fields)

    def critical(self, message: object, *args: Any, **fields: Any) -> None:
        self._log(logging.CRITICAL, message, args, fields)

    # Nuclio's logger spells the keyword form ``info_with``; apps written against it work here too.
    def debug_with(self, message: object, *args: Any, **fields: Any) -> None:
        self._log(logging.DEBUG, message, args, fields)

    def info_with(self, message: object, *args: Any, **fields: Any) -> None:
        self._log(logging.INFO, message, args, fields)

    def warn_with(self, message: object, *args: Any, **fields: Any) -> None:
        self._log(logging.WARNING, message, args, fields)

    def error_with(self, message: object, *args: Any, **fields: Any) -> None:
        self._log(logging.ERROR, message, args, fields)

    def set_logger_level(self, level: int | str) -> None:
        """MLRun's name for ``setLevel`` ("debug", "INFO" or a number)."""
        self.logger.setLevel(level.upper() if isinstance(level, str) else level)

    def isEnabledFor(self, level: int) -> bool:  # the logging module's name
        return self.logger.isEnabledFor(level)

    def _log(self, level: int, message: object, args: tuple[Any, ...], fields: dict[str, Any]) -> None:
        if not self.logger.isEnabledFor(level):
            return
        options = {key: fields.pop(key) for key in _RESERVED if key in fields}
        text = str(message) % args if args else str(message)
        if fields:
            text = f"{text}: {render_fields(fields)}"
        stacklevel = int(options.pop("stacklevel", 1)) + 2  # name the app's line, not this module's
        self.logger.log(level, "%s", text, extra={"fields": fields}, stacklevel=stacklevel, **options)


def render_fields(fields: dict[str, Any]) -> str:
    """``{'key': value, …}`` as MLRun prints fields, each value's repr cut to :data:`MAX_FIELD_CHARS`."""
    parts = []
    for key, value in fields.items():
        shown = repr(value)
        if len(shown) > MAX_FIELD_CHARS:
            shown = f"{shown[:MAX_FIELD_CHARS]}… ({len(shown)} chars)"
        parts.append(f"{key!r}: {shown}")
    return "{" + ", ".join(parts) + "}"


def app_logger(application_name: str, logger: logging.Logger | AppLogger | Any = None) -> AppLogger | Any:
    """The ``logger`` an app's context gets.

    A standard logger is wrapped; an :class:`AppLogger` or any other object (e.g. a test's recorder) is
    used as it is. Without one: logger ``modelmon.app.<name>``, at INFO (as MLRun's is) and printing to
    stdout when logging is not configured at all, so the lines show in the function's logs.
    """
    if isinstance(logger, logging.Logger):
        return AppLogger(logger)
    if logger is not None:
        return logger
    base = logging.getLogger("modelmon.app")
    if base.level == logging.NOTSET:
        base.setLevel(logging.INFO)
        if not logging.getLogger().handlers and not base.handlers:
            handler = logging.StreamHandler(sys.stdout)
            handler.setFormatter(logging.Formatter(_FORMAT))
            base.addHandler(handler)
    return AppLogger(logging.getLogger(f"modelmon.app.{application_name}"))
