"""How an app's exception is stored: one line, its type, the app's own file:line and a capped traceback."""

from __future__ import annotations

import json
import os

import pytest

from modelmon.apps.runner.failure import MAX_TRACEBACK_CHARS, AppFailure, app_location, cap_traceback


def _raised(func, *args):
    try:
        func(*args)
    except Exception as exc:  # the test's own exception to inspect
        return exc
    raise AssertionError("nothing raised")


def test_the_innermost_frame_of_the_apps_code_is_the_location():
    def app_code():
        return json.loads("{not json")  # raised inside the standard library

    exc = _raised(app_code)
    failure = AppFailure.from_exception(exc)
    assert failure.error_type == "JSONDecodeError"
    assert failure.error.startswith("JSONDecodeError: Expecting property name")
    line = app_code.__code__.co_firstlineno + 1
    assert failure.location == f"{__file__}:{line}"
    assert f'File "{__file__}", line {line}, in app_code' in failure.traceback


def test_without_a_frame_of_the_app_the_innermost_frame_is_the_location():
    exc = _raised(json.loads, "{not json")  # every frame after this test's own is the standard library's
    exc.__traceback__ = exc.__traceback__.tb_next  # drop this test's frame: only library frames remain
    location = app_location(exc)
    assert location is not None and location.startswith(os.path.dirname(json.__file__))
    assert app_location(ValueError("never raised")) is None


def test_the_apps_own_file_counts_even_inside_an_installed_package():
    exc = _raised(json.loads, "{not json")
    exc.__traceback__ = exc.__traceback__.tb_next
    decoder = json.decoder.__file__
    assert app_location(exc, decoder).startswith(f"{decoder}:")


def test_a_long_traceback_keeps_its_start_and_end():
    text = "Traceback (most recent call last):\n" + "".join(f"  frame {i}\n" for i in range(5_000)) + "E: end\n"
    cut = cap_traceback(text)
    assert len(cut) <= MAX_TRACEBACK_CHARS
    assert cut.startswith("Traceback (most recent call last):\n  frame 0\n") and cut.endswith("frame 4999\nE: end\n")
    head, note, tail = cut.split("\n... ", 1)[0], *cut.split("\n... ", 1)[1].split(" ...\n", 1)
    assert note.endswith("characters of the traceback cut")
    assert text == head + text[len(head):len(text) - len(tail)] + tail  # start and end kept verbatim
    assert int(note.split()[0]) == len(text) - len(head) - len(tail)
    assert cap_traceback("short\n") == "short\n"


@pytest.mark.parametrize("message", ["x" * 100, "é" * 100_000])
def test_the_error_line_is_capped(message):
    failure = AppFailure.from_exception(_raised(_raise, message))
    assert len(failure.error) <= 2_000 and failure.error.startswith("RuntimeError: ")


def _raise(message: str) -> None:
    raise RuntimeError(message)


def test_the_copy_that_runs_is_named_as_the_file_its_author_edits(tmp_path):
    # the local service runs a copy of the user's app file; failures name the original
    copy = tmp_path / "copy" / "mean_shift.py"
    copy.parent.mkdir()
    copy.write_text("def do_tracking():\n    return {}['no_such_column']\n")
    namespace: dict = {}
    exec(compile(copy.read_text(), str(copy), "exec"), namespace)
    exc = _raised(namespace["do_tracking"])
    failure = AppFailure.from_exception(exc, str(copy), shown_as="/home/ana/apps/mean_shift.py")
    assert failure.location == "/home/ana/apps/mean_shift.py:2"
    assert app_location(exc, str(copy)) == f"{copy}:2"  # without shown_as: the file that ran
