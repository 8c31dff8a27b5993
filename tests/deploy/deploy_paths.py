"""Paths the deploy tests share (kept out of conftest.py: `from conftest import` is ambiguous)."""

from __future__ import annotations

from pathlib import Path

BUNDLE = Path(__file__).parent / "bundle"
REPO = Path(__file__).resolve().parents[2]
#: Where the test dashboard's builder would download the bundle (the test dashboard downloads nothing).
SOURCE = "https://files.example/modelmon/modelmon-bundle.tar.gz"
