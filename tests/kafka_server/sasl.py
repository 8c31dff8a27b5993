"""SASL on the test broker: SaslHandshake v1 and SaslAuthenticate v2 with the PLAIN mechanism (RFC 4616).

As on a Kafka ``SASL_*`` listener, a connection may send only ApiVersions, SaslHandshake and SaslAuthenticate
until it has authenticated; anything else closes it. A failed authentication is answered
SASL_AUTHENTICATION_FAILED with a message, then the connection is closed (Kafka does the same). The state
is per connection: ``ctx.current`` is the connection thread's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka_server import errors
from kafka_server.context import Context
from kafka_server.protocol import Reader, Writer

MECHANISMS = ("PLAIN",)
#: API keys served before authentication: ApiVersions, SaslHandshake, SaslAuthenticate.
BEFORE_AUTH = (18, 17, 36)


@dataclass
class SaslState:
    """One connection's progress: the mechanism it chose, whether it authenticated (as whom), or failed."""

    mechanism: str | None = None
    user: str | None = None
    failed: bool = False
    attempts: list[str] = field(default_factory=list)


def state(ctx: Context) -> SaslState:
    current = ctx.current
    if not hasattr(current, "sasl"):
        current.sasl = SaslState()
    found: SaslState = current.sasl
    return found


def reset(ctx: Context) -> None:
    """A new connection starts unauthenticated (a connection thread serves one connection)."""
    ctx.current.sasl = SaslState()


def allowed(ctx: Context, api_key: int) -> bool:
    """Whether the connection may send ``api_key`` now (always, on a broker without SASL)."""
    return ctx.sasl_users is None or state(ctx).user is not None or api_key in BEFORE_AUTH


def handshake(ctx: Context, r: Reader, w: Writer) -> None:
    mechanism = r.string()
    enabled = list(MECHANISMS) if ctx.sasl_users is not None else []
    if mechanism in enabled:
        state(ctx).mechanism = mechanism
        w.int16(errors.NONE)
    else:
        w.int16(errors.UNSUPPORTED_SASL_MECHANISM)
    w.array(enabled, w.string)


def authenticate(ctx: Context, r: Reader, w: Writer) -> None:
    auth_bytes = r.bytes()
    r.tags()
    current = state(ctx)
    if current.mechanism is None:
        _fail(w, current, errors.ILLEGAL_SASL_STATE, "SaslAuthenticate before a SaslHandshake")
        return
    parts = auth_bytes.split(b"\0")
    if len(parts) != 3:
        _fail(w, current, errors.SASL_AUTHENTICATION_FAILED, "Authentication failed: malformed PLAIN message")
        return
    user, password = parts[1].decode("utf-8", "replace"), parts[2].decode("utf-8", "replace")
    current.attempts.append(user)
    assert ctx.sasl_users is not None
    if ctx.sasl_users.get(user) != password:  # Kafka's own wording, naming neither the user nor the password
        _fail(w, current, errors.SASL_AUTHENTICATION_FAILED, "Authentication failed: Invalid username or password")
        return
    current.user = user
    w.int16(errors.NONE).string(None).bytes(b"").int64(0).tags()


def _fail(w: Writer, current: SaslState, code: int, message: str) -> None:
    current.failed = True
    w.int16(code).string(message).bytes(b"").int64(0).tags()
