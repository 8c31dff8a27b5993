"""A function config's ``spec.env`` entries for credentials: secret references, replaced one name at a time."""

from __future__ import annotations

from typing import Any


def secret_entry(env_name: str, secret: str, key: str) -> dict[str, Any]:
    """The ``spec.env`` entry that sets ``env_name`` from key ``key`` of the Kubernetes secret ``secret``."""
    return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def replace_env(spec: dict[str, Any], env_name: str, entry: dict[str, Any] | None) -> None:
    """Replace ``spec.env``'s ``env_name`` entry with ``entry``, or drop it (``None``)."""
    entries = [e for e in spec.get("env") or [] if e.get("name") != env_name]
    if entry is not None:
        entries.append(entry)
    spec["env"] = entries
