"""Where a deployed function's V3IO access key comes from, and whether its stream triggers get one.

Nuclio resolves a ``v3ioStream`` trigger's key itself, with no MLRun involved
(``pkg/processor/trigger/v3iostream/types.go``): a ``password`` shaped like a UUID is the access key;
``password: $generate`` is replaced, inside the function's processor, by the value of the function's own
``V3IO_ACCESS_KEY`` environment variable — when that is empty, ``$generate`` stays a literal password and
the stream rejects the trigger. So the bundle's files keep ``$generate`` and what matters is where
``V3IO_ACCESS_KEY`` comes from:

- a Kubernetes secret (``valueFrom.secretKeyRef``, the committed default ``modelmon-credentials`` /
  ``access-key``): Nuclio's ``kube`` platform copies ``spec.env`` into the pod as it is, so the secret
  must exist in the functions' namespace. Nuclio's ``local`` (Docker) platform keeps only plain values
  and drops the reference;
- a plain value (the deploying user's ``$V3IO_ACCESS_KEY``), sent to a dashboard and never written;
- ``nuctl deploy --env V3IO_ACCESS_KEY=...``: nuctl appends the entry to ``spec.env``, so the written
  file carries none (``pkg/nuctl/command/deploy.go``).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from modelmon.core.config import ENV_V3IO_ACCESS_KEY
from modelmon.deploy.env_entries import replace_env, secret_entry

#: The ``password`` Nuclio's processor replaces with its ``V3IO_ACCESS_KEY``.
GENERATE = "$generate"
DEFAULT_SECRET = "modelmon-credentials"
DEFAULT_SECRET_KEY = "access-key"

Source = Literal["secret", "value", "nuctl-env"]


@dataclasses.dataclass(frozen=True)
class AccessKey:
    """How rendering sets ``V3IO_ACCESS_KEY`` (``repr`` never shows a value)."""

    source: Source
    secret: str = DEFAULT_SECRET
    key: str = DEFAULT_SECRET_KEY
    value: str | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.source == "value" and not (isinstance(self.value, str) and self.value.strip()):
            raise ValueError(f"access key: ${ENV_V3IO_ACCESS_KEY} is not set (the functions need a V3IO access key)")
        if self.source == "secret":
            for what, name in (("secret name", self.secret), ("secret key", self.key)):
                if not re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", name or ""):
                    raise ValueError(f"access key: {what} {name!r} is not a Kubernetes name")

    @classmethod
    def from_secret(cls, name: str = DEFAULT_SECRET, key: str = DEFAULT_SECRET_KEY) -> AccessKey:
        """``V3IO_ACCESS_KEY`` from key ``key`` of the Kubernetes secret ``name`` (Nuclio's kube platform)."""
        return cls("secret", name, key)

    @classmethod
    def parse_secret(cls, text: str) -> AccessKey:
        """``"NAME/KEY"`` (or ``"NAME"``: key ``access-key``) as a secret reference."""
        name, _, key = text.partition("/")
        return cls.from_secret(name, key or DEFAULT_SECRET_KEY)

    @classmethod
    def from_value(cls, value: str | None) -> AccessKey:
        """``V3IO_ACCESS_KEY`` as a plain value (for a dashboard; never written to a file)."""
        return cls("value", value=value)

    @classmethod
    def nuctl_env(cls) -> AccessKey:
        """No ``V3IO_ACCESS_KEY`` in the config: ``nuctl deploy --env V3IO_ACCESS_KEY=...`` adds it."""
        return cls("nuctl-env")

    def env_entry(self) -> dict[str, Any] | None:
        """The ``spec.env`` entry for ``V3IO_ACCESS_KEY`` (``None``: nuctl's ``--env`` adds it)."""
        if self.source == "secret":
            return secret_entry(ENV_V3IO_ACCESS_KEY, self.secret, self.key)
        if self.source == "value":
            return {"name": ENV_V3IO_ACCESS_KEY, "value": self.value}
        return None

    def apply(self, spec: dict[str, Any]) -> None:
        """Replace ``spec.env``'s ``V3IO_ACCESS_KEY`` entry (or drop it, for nuctl's ``--env``)."""
        replace_env(spec, ENV_V3IO_ACCESS_KEY, self.env_entry())


def stream_key_problems(doc: Mapping[str, Any]) -> list[str]:
    """Each ``v3ioStream`` trigger of ``doc`` that Nuclio would start without an access key.

    >>> trigger = {"kind": "v3ioStream", "password": "$generate", "attributes": {}}
    >>> stream_key_problems({"spec": {"triggers": {"t": trigger}}})  # doctest: +ELLIPSIS
    ["spec.triggers.t.password: '$generate' is replaced by the function's V3IO_ACCESS_KEY, which spec.env ...
    >>> stream_key_problems({"spec": {"env": [{"name": "V3IO_ACCESS_KEY", "value": "k"}],
    ...                               "triggers": {"t": trigger}}})
    []
    """
    spec = doc.get("spec")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("triggers"), Mapping):
        return []
    problems = []
    for name, trigger in spec["triggers"].items():
        if not isinstance(trigger, Mapping) or trigger.get("kind") != "v3ioStream":
            continue
        password, secret = trigger.get("password"), trigger.get("secret")
        where = f"spec.triggers.{name}.password"
        if password == GENERATE:
            if not _env_sets_key(spec.get("env")):
                problems.append(f"{where}: {GENERATE!r} is replaced by the function's {ENV_V3IO_ACCESS_KEY}, which "
                                "spec.env does not set (give it a value or a secretKeyRef)")
        elif not password and not secret:
            problems.append(f"{where}: missing; set {GENERATE!r} (Nuclio reads the function's {ENV_V3IO_ACCESS_KEY})")
    return problems


def _env_sets_key(env: Any) -> bool:
    for entry in env if isinstance(env, list) else []:
        if not isinstance(entry, Mapping) or entry.get("name") != ENV_V3IO_ACCESS_KEY:
            continue
        source = entry.get("valueFrom")
        ref = source.get("secretKeyRef") if isinstance(source, Mapping) else None
        if isinstance(ref, Mapping) and ref.get("name") and ref.get("key"):
            return True
        value = entry.get("value")
        if isinstance(value, str) and value.strip():
            return True
    return False


#: What ``get_or_create_project(target="nuclio", access_key=...)`` accepts.
CHOICES = ("secret", "env", "credentials")


def choose_access_key(choice: str | None, secret: str | None, *,
                      stored: Callable[[], str | None]) -> Callable[[], AccessKey]:
    """Where the SDK's deployed functions get ``V3IO_ACCESS_KEY`` (as ``modelmon deploy --access-key``): the
    ``"secret"`` ``secret`` (``"NAME[/KEY]"``, default ``modelmon-credentials/access-key``), ``"env"`` (this
    process's ``$V3IO_ACCESS_KEY``) or ``"credentials"`` (the key ``set_model_monitoring_credentials`` stored,
    read by ``stored``). Returns what is read at each deployment, so a key stored later is the one sent;
    a bad choice is a ``ValueError`` now, a missing key one at deployment."""
    choice = choice or "secret"
    if choice not in CHOICES:
        raise ValueError(f"access_key {choice!r}: expected one of {', '.join(CHOICES)}")
    if secret is not None and choice != "secret":
        raise ValueError("access_key_secret: only with access_key='secret'")
    if choice == "secret":
        key = AccessKey.parse_secret(secret) if secret is not None else AccessKey.from_secret()
        return lambda: key
    if choice == "env":
        if not os.environ.get(ENV_V3IO_ACCESS_KEY, "").strip():
            raise ValueError(f"access_key 'env': ${ENV_V3IO_ACCESS_KEY} is not set in this process")
        return lambda: AccessKey.from_value(os.environ.get(ENV_V3IO_ACCESS_KEY))

    def from_credentials() -> AccessKey:
        value = stored()
        if not value:
            raise ValueError("access_key 'credentials': no access key is stored; call "
                             "project.set_model_monitoring_credentials(access_key=...) first")
        return AccessKey.from_value(value)

    return from_credentials
