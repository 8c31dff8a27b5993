"""The writer function: stores monitoring results (see ``modelmon.writer``)."""

from __future__ import annotations
