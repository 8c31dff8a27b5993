"""Where a deployed function's PostgreSQL password comes from: a Kubernetes secret, never the config.

The DSN (``MODELMON_POSTGRES_DSN``) travels as plain env, so it must hold no password; libpq reads the
password from ``PGPASSWORD``, which rendering sets from a secret (``valueFrom.secretKeyRef``, by default
``modelmon-credentials`` / ``postgres-password``). Nuclio's ``kube`` platform hands ``spec.env`` to the pod as
it is, so Kubernetes resolves the reference; a missing secret or key keeps the function from starting.
``none``: no ``PGPASSWORD`` at all (trust or certificate authentication, or a ``.pgpass`` in the image).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from modelmon.core.config import ENV_POSTGRES_DSN, dsn_has_password
from modelmon.deploy.env_entries import replace_env, secret_entry

ENV_PGPASSWORD = "PGPASSWORD"  # libpq's own name
DEFAULT_SECRET = "modelmon-credentials"
DEFAULT_SECRET_KEY = "postgres-password"
_K8S_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


@dataclasses.dataclass(frozen=True)
class PostgresPassword:
    """``PGPASSWORD`` from key ``key`` of secret ``secret``, or (``secret=None``) not set at all."""

    secret: str | None = DEFAULT_SECRET
    key: str = DEFAULT_SECRET_KEY

    def __post_init__(self) -> None:
        if self.secret is None:
            return
        for what, name in (("secret name", self.secret), ("secret key", self.key)):
            if not _K8S_NAME.fullmatch(name or ""):
                raise ValueError(f"postgres password: {what} {name!r} is not a Kubernetes name")

    @classmethod
    def parse(cls, text: str) -> PostgresPassword:
        """``"NAME/KEY"`` (or ``"NAME"``: key ``postgres-password``) as a secret reference.

        >>> PostgresPassword.parse("db-creds").env_entry()
        {'name': 'PGPASSWORD', 'valueFrom': {'secretKeyRef': {'name': 'db-creds', 'key': 'postgres-password'}}}
        """
        name, _, key = text.partition("/")
        return cls(name, key or DEFAULT_SECRET_KEY)

    @classmethod
    def none(cls) -> PostgresPassword:
        return cls(None)

    def env_entry(self) -> dict[str, Any] | None:
        if self.secret is None:
            return None
        return secret_entry(ENV_PGPASSWORD, self.secret, self.key)

    def apply(self, spec: dict[str, Any]) -> None:
        """Replace ``spec.env``'s ``PGPASSWORD`` entry with this one (or drop it)."""
        replace_env(spec, ENV_PGPASSWORD, self.env_entry())

    def describe(self) -> str:
        """What the user must create, for the CLI's closing lines."""
        if self.secret is None:
            return "no PGPASSWORD is set: the database must accept the DSN's user without a password"
        return (f"the secret {self.secret!r} with key {self.key!r} must hold the PostgreSQL password (PGPASSWORD) "
                "in the functions' namespace")


def check_dsn(dsn: str, option: str) -> str:
    """``dsn`` if it holds no password (it is written into every function's config in plain text).

    >>> check_dsn("postgresql://mm:hunter2@db/mm", "--postgres")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: --postgres: the DSN holds a password, which would be written into every function's config; ...
    """
    if dsn_has_password(dsn):
        raise ValueError(f"{option}: the DSN holds a password, which would be written into every function's config; "
                         f"give it without one: the functions read {ENV_PGPASSWORD} from a Kubernetes secret "
                         f"(default {DEFAULT_SECRET}/{DEFAULT_SECRET_KEY}: kubectl create secret generic "
                         f"{DEFAULT_SECRET} --from-literal={DEFAULT_SECRET_KEY}=...)")
    return dsn


def plain_secret_problems(spec: Any) -> list[str]:
    """``spec.env`` entries that would put a PostgreSQL password in plain text (a ``PGPASSWORD`` value, or a
    ``MODELMON_POSTGRES_DSN`` holding one)."""
    problems = []
    for entry in (spec or {}).get("env") or []:
        value = entry.get("value")
        if not isinstance(value, str) or not value:
            continue
        if entry.get("name") == ENV_PGPASSWORD:
            problems.append(f"a plain {ENV_PGPASSWORD}")
        elif entry.get("name") == ENV_POSTGRES_DSN and dsn_has_password(value):
            problems.append(f"a {ENV_POSTGRES_DSN} holding a password")
    return problems
