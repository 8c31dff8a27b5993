"""Fixtures the browser tests share: one headless Chromium per module and a folder for its screenshots."""

from __future__ import annotations

import pytest
from ui_browser import chromium


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots: {folder}")
    return folder
