"""Email channel over SMTP (stdlib ``smtplib``): STARTTLS, implicit TLS (``ssl``) or plain (``none``).

``ca_file`` names a CA bundle to trust (a private relay). Logs in when ``user_env``/``password_env``
name variables. The ``Message-ID`` is derived from the notification key, so a receiver (or a human)
recognises a re-sent notification as the same message.
"""

from __future__ import annotations

import email.message
import email.utils
import hashlib
import json
import smtplib
import ssl
from collections.abc import Mapping
from typing import Any

from modelmon.alerts.channels.base import DEFAULT_TIMEOUT_S, DeliveryError, env_secret
from modelmon.core.errors import ConfigError

TLS_MODES = ("starttls", "ssl", "none")


def message_id(key: str) -> str:
    """A stable Message-ID for a notification key."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@modelmon.alerts>"


class EmailChannel:
    kind = "email"

    def __init__(self, spec: Mapping[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.spec = dict(spec)
        self.timeout_s = timeout_s
        self.host = str(spec.get("host") or "")
        self.tls = str(spec.get("tls", "starttls"))
        if not self.host:
            raise ConfigError("email channel: 'host' is required")
        if self.tls not in TLS_MODES:
            raise ConfigError(f"email channel: tls must be one of {', '.join(TLS_MODES)}, not {self.tls!r}")
        self.port = int(spec.get("port") or (465 if self.tls == "ssl" else 587 if self.tls == "starttls" else 25))
        to = spec.get("to") or []
        self.to = [to] if isinstance(to, str) else [str(a) for a in to]
        self.sender = str(spec.get("from") or "modelmon@localhost")
        if not self.to:
            raise ConfigError("email channel: 'to' needs at least one address")
        # ``ca_file``: a CA bundle (path) to trust besides the system's, e.g. a private relay's certificate
        self.ssl_context = ssl_context or ssl.create_default_context(cafile=spec.get("ca_file") or None)

    def describe(self) -> str:
        return f"email {self.host}:{self.port}"

    def message(self, key: str, payload: Mapping[str, Any]) -> email.message.EmailMessage:
        msg = email.message.EmailMessage()
        severity = payload.get("severity")
        msg["Subject"] = f"[modelmon{' ' + str(severity) if severity else ''}] {payload.get('summary') or key}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["Message-ID"] = message_id(key)
        msg["X-Modelmon-Key"] = key
        msg["Date"] = email.utils.formatdate(usegmt=True)
        msg.set_content(f"{payload.get('summary') or key}\n\n{json.dumps(payload, indent=2, sort_keys=True)}\n")
        return msg

    def send(self, key: str, payload: Mapping[str, Any]) -> None:
        user = env_secret(self.spec, "user_env", required=False)
        password = env_secret(self.spec, "password_env", required=False) if user is not None else None
        where = f"email to {self.host}:{self.port}"
        try:
            smtp: smtplib.SMTP
            if self.tls == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=self.ssl_context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with smtp:
                if self.tls == "starttls":
                    smtp.starttls(context=self.ssl_context)
                if user is not None:
                    smtp.login(user, password or "")
                smtp.send_message(self.message(key, payload))
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{where}: SMTP {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}") from None
