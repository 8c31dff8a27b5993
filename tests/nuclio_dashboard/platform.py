"""What Nuclio makes of a function's V3IO access key, from the deploy request to a running stream trigger.

Written from reading Nuclio's source (nothing copied):

- the ``kube`` platform gives the pod ``spec.env`` as it is; Kubernetes refuses to start a container whose
  ``secretKeyRef`` names a secret (or a key) missing from the namespace;
- the ``local`` (Docker) platform keeps each entry's plain ``value`` only
  (``pkg/platform/local/platform.go``, ``compileDeployFunctionEnvMap``): a ``valueFrom`` becomes empty;
- the processor's ``v3ioStream`` trigger (``pkg/processor/trigger/v3iostream/types.go``): a ``password``
  that parses as a UUID is the access key; ``$generate`` becomes the process's ``V3IO_ACCESS_KEY`` when
  that is non-empty and otherwise stays a literal password; the trigger's ``secret`` is the access key
  otherwise. The V3IO session then carries that access key, and V3IO answers 401 without a valid one.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Mapping
from typing import Any

PLATFORMS = ("kube", "local")
GENERATE = "$generate"
ACCESS_KEY_ENV = "V3IO_ACCESS_KEY"


@dataclasses.dataclass
class Namespace:
    """The cluster side: the platform kind, the namespace's secrets and the access keys V3IO accepts
    (``None``: any non-empty key)."""

    platform: str = "kube"
    secrets: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    access_keys: Collection[str] | None = None
    name: str = "nuclio"

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"platform {self.platform!r}: one of {PLATFORMS}")

    def container_env(self, config: Mapping[str, Any]) -> dict[str, str] | str:
        """The environment the function's processor starts with, or why its container cannot start."""
        env: dict[str, str] = {}
        for entry in (config.get("spec") or {}).get("env") or []:
            name = entry.get("name")
            if self.platform == "local" or "valueFrom" not in entry:
                env[name] = str(entry.get("value") or "")  # a later entry of the same name wins
                continue
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
            secret, key = ref.get("name"), ref.get("key")
            if secret not in self.secrets:
                return f'Error: secret "{secret}" not found'
            if key not in self.secrets[secret]:
                return f"Error: couldn't find key {key} in Secret {self.name}/{secret}"
            env[name] = self.secrets[secret][key]
        return env

    def start_failure(self, config: Mapping[str, Any]) -> str | None:
        """Why the function would not come up (its container, or a stream trigger V3IO refuses), else ``None``."""
        env = self.container_env(config)
        if isinstance(env, str):
            return env
        for name, trigger in ((config.get("spec") or {}).get("triggers") or {}).items():
            if trigger.get("kind") != "v3ioStream":
                continue
            key = trigger_access_key(trigger, env)
            if not key:
                return (f'trigger "{name}": V3IO answered 401 Unauthorized: no access key (password '
                        f'{trigger.get("password", "")!r}, {ACCESS_KEY_ENV} {env.get(ACCESS_KEY_ENV, "")!r})')
            if self.access_keys is not None and key not in self.access_keys:
                return f'trigger "{name}": V3IO answered 401 Unauthorized: the access key is not valid'
        return None


def trigger_access_key(trigger: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """The access key the processor's ``v3ioStream`` trigger connects with (``""``: none)."""
    password = str(trigger.get("password") or "")
    if _is_uuid(password):
        return password
    if password == GENERATE and env.get(ACCESS_KEY_ENV):
        return env[ACCESS_KEY_ENV]
    return str(trigger.get("secret") or "")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
