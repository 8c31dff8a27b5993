"""What an app's exception becomes in the writer event and the app-failures table.

A failing window stores one line (``error``), the exception's type, where in the app's own code it
was raised (``location``, "file:line") and the formatted traceback. The traceback is cut to
:data:`MAX_TRACEBACK_CHARS` (its start and its end, where the innermost frames are), so the writer
event stays a small stream record whatever the app raised: even fully escaped as ``\\uXXXX`` the
text is well under 1 MB.
"""

from __future__ import annotations

import dataclasses
import os
import sysconfig
import traceback
from pathlib import Path

import modelmon

#: The most characters of a traceback stored; longer ones keep their first and last frames.
MAX_TRACEBACK_CHARS = 16_000
#: The most characters of the one-line ``error``.
MAX_ERROR_CHARS = 2_000
_HEAD_CHARS = 2_000

# code that is not the app's: the standard library, installed packages, modelmon itself
_LIBRARY_ROOTS = tuple(
    str(Path(p).resolve()) for p in {
        *(sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")),
        str(Path(modelmon.__file__).parent),
    } if p
)


@dataclasses.dataclass(frozen=True)
class AppFailure:
    """An app's exception as stored: ``error`` ("KeyError: 'x'"), ``error_type``, ``location``, ``traceback``."""

    error: str
    error_type: str
    location: str | None
    traceback: str

    @classmethod
    def from_exception(cls, exc: BaseException, app_file: str | None = None,
                       shown_as: str | None = None) -> AppFailure:
        """The failure ``exc`` describes; ``app_file`` (the app class's file) always counts as the app's code,
        also for a built-in app that lives inside modelmon. ``shown_as`` names ``app_file`` in the location
        (the file the author edits, of which ``app_file`` is the copy the function runs)."""
        return cls(
            error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS],
            error_type=type(exc).__name__,
            location=app_location(exc, app_file, shown_as),
            traceback=cap_traceback("".join(traceback.format_exception(exc))),
        )


def app_location(exc: BaseException, app_file: str | None = None, shown_as: str | None = None) -> str | None:
    """``"<file>:<line>"`` of the innermost frame in the app's own code, else of the innermost frame;
    ``app_file`` is called ``shown_as`` when that is given."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return None
    own = Path(app_file).resolve() if app_file else None
    for frame in reversed(frames):
        if _is_app_code(frame.filename, own):
            shown = shown_as if shown_as and own is not None and Path(frame.filename).resolve() == own \
                else frame.filename
            return f"{shown}:{frame.lineno}"
    return f"{frames[-1].filename}:{frames[-1].lineno}"


def _is_app_code(filename: str, app_file: Path | None) -> bool:
    if not os.path.isabs(filename):  # <frozen ...>, <string>, or a compiled extension's "pandas/_libs/x.pyx"
        return False
    path = Path(filename).resolve()
    if app_file is not None and path == app_file:
        return True
    text = str(path)
    return not any(text == root or text.startswith(root + os.sep) for root in _LIBRARY_ROOTS)


def cap_traceback(text: str, limit: int = MAX_TRACEBACK_CHARS) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and end around a note of what was cut."""
    if len(text) <= limit:
        return text
    tail = limit - _HEAD_CHARS - 60
    cut = len(text) - _HEAD_CHARS - tail
    return f"{text[:_HEAD_CHARS]}\n... {cut} characters of the traceback cut ...\n{text[-tail:]}"
