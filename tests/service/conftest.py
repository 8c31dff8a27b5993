from __future__ import annotations

import contextlib
import os
import signal

import pytest
from service_helpers import home_processes

from modelmon.service import stop_service


@pytest.fixture
def service_home(tmp_path):
    """A home for a service; afterwards its service is stopped and no process naming the home may be left."""
    home = tmp_path / "home"
    yield home
    stop_service(home, timeout=30)
    left = home_processes(home)
    for pid, _ in left:  # never let one outlive the test, even when the service's clean-up failed
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of {home} outlived the test: {left}"
