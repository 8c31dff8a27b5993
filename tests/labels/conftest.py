from __future__ import annotations

import pytest

from modelmon.backends.local import open_local_backend


@pytest.fixture
def backend(home):
    backend = open_local_backend(str(home))
    yield backend
    backend.close()
