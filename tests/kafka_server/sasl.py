"""SASL on the test broker: SaslHandshake v1 and SaslAuthenticate v2, with the PLAIN (RFC 4616) and
SCRAM-SHA-256/512 (RFC 5802, 7677) mechanisms.

As on a Kafka ``SASL_*`` listener, a connection may send only ApiVersions, SaslHandshake and SaslAuthenticate
until it has authenticated; anything else closes it. A failed authentication is answered
SASL_AUTHENTICATION_FAILED with a message, then the connection is closed (Kafka does the same). The state
is per connection: ``ctx.current`` is the connection thread's own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from kafka_server import errors
from kafka_server.context import Context
from kafka_server.protocol import Reader, Writer

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_SCRAM_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
_SCRAM_ITERATIONS = 4096  # Kafka's minimum
#: API keys served before authentication: ApiVersions, SaslHandshake, SaslAuthenticate.
BEFORE_AUTH = (18, 17, 36)


@dataclass
class SaslState:
    """One connection's progress: the mechanism it chose, whether it authenticated (as whom), or failed."""

    mechanism: str | None = None
    user: str | None = None
    failed: bool = False
    attempts: list[str] = field(default_factory=list)
    scram: dict[str, str] | None = None  # between SCRAM's two rounds: user, nonce, salt, first messages


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
    if current.mechanism in _SCRAM_HASHES:
        _scram(ctx, current, auth_bytes.decode("utf-8", "replace"), w)
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


def _scram(ctx: Context, current: SaslState, message: str, w: Writer) -> None:
    """One round of SCRAM: the client-first message gets the salt and nonce, the client-final one is checked
    (its proof, recomputed from the user's password) and answered with the server's signature."""
    assert ctx.sasl_users is not None and current.mechanism is not None
    digest = _SCRAM_HASHES[current.mechanism]
    if current.scram is None:
        bare = message.split(",", 2)[2] if message.startswith(("n,", "y,")) else ""
        fields = dict(item.split("=", 1) for item in bare.split(",") if "=" in item)
        if "n" not in fields or "r" not in fields:
            _fail(w, current, errors.SASL_AUTHENTICATION_FAILED, "Authentication failed: malformed SCRAM message")
            return
        user = fields["n"].replace("=2C", ",").replace("=3D", "=")
        current.attempts.append(user)
        salt = base64.b64encode(hashlib.sha256(user.encode()).digest()[:16]).decode()  # fixed per user, as stored
        nonce = fields["r"] + base64.b64encode(os.urandom(18)).decode()
        server_first = f"r={nonce},s={salt},i={_SCRAM_ITERATIONS}"
        current.scram = {"user": user, "nonce": nonce, "salt": salt, "client_first_bare": bare,
                         "server_first": server_first}
        w.int16(errors.NONE).string(None).bytes(server_first.encode()).int64(0).tags()
        return
    state_ = current.scram
    without_proof, _, proof = message.rpartition(",p=")
    fields = dict(item.split("=", 1) for item in without_proof.split(",") if "=" in item)
    password = ctx.sasl_users.get(state_["user"])
    if fields.get("r") != state_["nonce"] or password is None or not proof:
        _fail(w, current, errors.SASL_AUTHENTICATION_FAILED, _scram_failure(current.mechanism))
        return
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), base64.b64decode(state_["salt"]), _SCRAM_ITERATIONS)
    auth_message = f"{state_['client_first_bare']},{state_['server_first']},{without_proof}".encode()
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    client_signature = hmac.new(hashlib.new(digest, client_key).digest(), auth_message, digest).digest()
    given = base64.b64decode(proof)
    if not hmac.compare_digest(bytes(a ^ b for a, b in zip(given, client_signature, strict=False)), client_key):
        _fail(w, current, errors.SASL_AUTHENTICATION_FAILED, _scram_failure(current.mechanism))
        return
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    server_signature = base64.b64encode(hmac.new(server_key, auth_message, digest).digest()).decode()
    current.user = state_["user"]
    w.int16(errors.NONE).string(None).bytes(f"v={server_signature}".encode()).int64(0).tags()


def _scram_failure(mechanism: str) -> str:
    return f"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"
