"""Deployable Nuclio functions of the modelmon bundle (thin glue around the ``modelmon`` library)."""

from __future__ import annotations
