"""What a Nuclio deploy on Kafka + PostgreSQL must hold, for ``modelmon deploy`` and the SDK's nuclio target alike.

Each function runs in its own container, so the ``postgres`` backend is coherent on Nuclio only with every role
shared: KV and TSDB in the database, streams on Kafka, samples under one fsspec URL; a role left to the home
would be a private folder in each container and no function would see what another writes. The DSN travels as
plain env, so it must hold no password: ``PGPASSWORD`` comes from a Kubernetes secret
(:mod:`modelmon.deploy.postgres_password`). Nothing is on V3IO, so an access key is refused rather than ignored.

The CLI names its options in the errors, the SDK its environment variables and parameters (:class:`StoreNames`);
the checks and the messages are the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from modelmon.core.config import ENV_BACKEND, ENV_KAFKA_BROKERS, ENV_POSTGRES_DSN, ENV_SAMPLES_URL
from modelmon.core.kafka_security import KafkaSecurity
from modelmon.deploy.kafka_topics import create_topics, trigger_topics
from modelmon.deploy.postgres_password import DEFAULT_SECRET, DEFAULT_SECRET_KEY, PostgresPassword, check_dsn
from modelmon.deploy.render import RenderedFunction

#: The ``postgres_password_secret`` / ``--postgres-password-secret`` value that sets no ``PGPASSWORD``.
NO_PASSWORD = "none"

POSTGRES_NEEDS = (
    "{backend} on Nuclio needs {missing}: each function runs in its own container, so without {it} the {what} "
    "would be a private folder in each of them and no function would see what another writes"
)


@dataclasses.dataclass(frozen=True)
class StoreNames:
    """How the caller names each setting in its errors (what the user typed, so they know what to change)."""

    backend: str  # the postgres backend as chosen
    postgres: str  # the DSN
    kafka: str
    samples: str
    access_key: str
    password_secret: str


CLI_NAMES = StoreNames(backend="--postgres", postgres="--postgres", kafka="--kafka BROKERS",
                       samples="--samples-url URL", access_key="--access-key",
                       password_secret="--postgres-password-secret")
SDK_NAMES = StoreNames(backend=f"{ENV_BACKEND}=postgres", postgres=ENV_POSTGRES_DSN, kafka=ENV_KAFKA_BROKERS,
                       samples=ENV_SAMPLES_URL, access_key="access_key", password_secret="postgres_password_secret")


def check_postgres_stores(dsn: str | None, kafka: object, samples_url: str | None, names: StoreNames) -> str:
    """``dsn``, once the deploy is coherent: a DSN without a password, Kafka brokers and a samples URL
    (``ValueError`` naming what is missing or wrong)."""
    if not dsn:
        raise ValueError(f"the postgres backend needs {names.postgres} (libpq's DSN, without a password)")
    missing = [(name, what) for name, what, value in ((names.kafka, "streams", kafka),
                                                      (names.samples, "samples and objects", samples_url)) if not value]
    if missing:
        raise ValueError(POSTGRES_NEEDS.format(backend=names.backend, missing=" and ".join(n for n, _ in missing),
                                               it="them" if len(missing) > 1 else "it",
                                               what=" and ".join(w for _, w in missing)))
    return check_dsn(dsn, names.postgres)


def refuse_access_key(given: bool, names: StoreNames) -> None:
    """An access key named for a postgres deploy is a mistake to report, not a setting to drop silently."""
    if given:
        raise ValueError(f"{names.access_key}: the postgres backend reads and writes nothing on V3IO; leave it out")


def password_secret(text: str | None, backend: str, names: StoreNames) -> PostgresPassword | None:
    """Where the functions' ``PGPASSWORD`` comes from: ``"NAME[/KEY]"`` (default
    ``modelmon-credentials/postgres-password``) or ``"none"``; ``None`` for a backend other than postgres."""
    if backend != "postgres":
        if text is not None:
            raise ValueError(f"{names.password_secret}: only with the postgres backend")
        return None
    text = text or f"{DEFAULT_SECRET}/{DEFAULT_SECRET_KEY}"
    return PostgresPassword.none() if text == NO_PASSWORD else PostgresPassword.parse(text)


def ensure_topics(rendered: Iterable[RenderedFunction], brokers: Sequence[str],
                  security: KafkaSecurity | None = None) -> list[tuple[str, bool]]:
    """Create the topics the ``kafka-cluster`` triggers of ``rendered`` read (Nuclio's trigger creates none, so a
    consumer deployed before its producer's first record would find no topic): ``(topic, created)`` pairs."""
    return create_topics(trigger_topics(rendered), brokers, security)
