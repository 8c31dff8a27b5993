"""Webhook channel: the notification's JSON POSTed to a URL read from the environment.

Headers: ``Idempotency-Key`` (the notification key: a receiver drops a repeat, see
:mod:`modelmon.alerts.delivery` for the at-least-once contract) and, when ``secret_env`` is set,
``X-Modelmon-Signature: sha256=<hex HMAC-SHA256 of the body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from modelmon.alerts.channels.base import DEFAULT_TIMEOUT_S, DeliveryError, env_secret

SIGNATURE_HEADER = "X-Modelmon-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=<hex HMAC>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float, kind: str) -> None:
    """POST ``body``; :class:`DeliveryError` (naming only the host) unless the answer is 2xx."""
    host = urllib.parse.urlsplit(url).netloc or "?"
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{kind} to {host}: HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:  # refused, timed out, reset, bad URL
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{kind} to {host}: {type(exc).__name__}: {reason}") from None


class WebhookChannel:
    kind = "webhook"

    def __init__(self, spec: Mapping[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.spec = dict(spec)
        self.timeout_s = timeout_s

    def describe(self) -> str:
        try:
            url = env_secret(self.spec, "url_env")
        except DeliveryError:
            return f"{self.kind} (url not set)"
        return f"{self.kind} {urllib.parse.urlsplit(url or '').netloc}"

    def send(self, key: str, payload: Mapping[str, Any]) -> None:
        url = env_secret(self.spec, "url_env")
        assert url is not None
        body = self.body(payload)
        headers = {"Idempotency-Key": key}
        secret = env_secret(self.spec, "secret_env", required=False)
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        post_json(url, body, headers, self.timeout_s, self.kind)

    def body(self, payload: Mapping[str, Any]) -> bytes:
        """What is POSTed: the notification's JSON."""
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
