"""The stream ingestion function (root ``function.yaml``)."""

from __future__ import annotations
