"""Why a kafka-python client could not bootstrap, when the reason is a wrong credential or certificate.

kafka-python retries a failed bootstrap connection until its timeout and then raises a bare
``KafkaTimeoutError("Unable to bootstrap ...")``: a wrong SASL password or an untrusted broker certificate
look like a broker that is down. The real cause is only logged (``kafka.net.manager``'s "Bootstrap
connection to ... failed: <exc>" warning), so :class:`BootstrapCauses` listens to that logger while a client
is made and keeps the failures that retrying cannot fix. Those are configuration errors, reported as a
``BackendError`` naming the cause and the settings to check, never the password.
"""

from __future__ import annotations

import logging
import ssl
from types import TracebackType

from kafka import errors as kafka_errors

from modelmon.core.errors import BackendError
from modelmon.core.kafka_security import ENV_KAFKA_CA_FILE, ENV_KAFKA_SASL_PASSWORD, ENV_KAFKA_SASL_USERNAME

_LOGGER = "kafka.net.manager"


def _diagnose(exc: BaseException) -> str | None:
    """What to tell the user about a connection failure that retrying will not fix (None: maybe transient)."""
    if isinstance(exc, kafka_errors.SaslAuthenticationFailedError):
        return (f"SASL authentication failed ({type(exc).__name__}: {exc}); check {ENV_KAFKA_SASL_USERNAME}, "
                f"{ENV_KAFKA_SASL_PASSWORD} and the mechanism")
    if isinstance(exc, kafka_errors.UnsupportedSaslMechanismError):
        return f"the brokers do not offer this SASL mechanism ({exc})"
    text = str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return (f"the brokers' TLS certificate is not trusted ({text}); check {ENV_KAFKA_CA_FILE} (the CA bundle "
                "their certificate chains to) and that the broker address is a name the certificate holds")
    if isinstance(exc, ssl.SSLError) or ("SSL" in text and "Handshake failed" in text):
        return f"the TLS handshake with the brokers failed ({text}); is their listener TLS (SSL, SASL_SSL)?"
    return None


class BootstrapCauses(logging.Handler):
    """``with BootstrapCauses() as causes: make a client``; then :meth:`error` explains a bootstrap timeout."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

        self.found: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:  # runs inside kafka-python's bootstrap loop: nothing may escape into it
            if not str(record.msg).startswith("Bootstrap connection to"):
                return
            for arg in record.args if isinstance(record.args, tuple) else ():
                if isinstance(arg, BaseException):
                    self.found = _diagnose(arg) or self.found
        except Exception:
            self.handleError(record)

    def __enter__(self) -> BootstrapCauses:
        logging.getLogger(_LOGGER).addHandler(self)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        logging.getLogger(_LOGGER).removeHandler(self)

    def error(self, what: str) -> BackendError | None:
        """The error for ``what`` (e.g. "connecting a producer to [...]") if a fatal cause was seen."""
        if self.found is None:
            return None
        return BackendError(f"Kafka {what}: {self.found}")
