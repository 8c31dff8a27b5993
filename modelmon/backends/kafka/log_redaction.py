"""Keeping the SASL password out of kafka-python's logs.

At DEBUG, kafka-python logs every request it sends, bytes included: the SASL/PLAIN ``SaslAuthenticate``
request carries ``user\\0user\\0password`` in the clear (``kafka.protocol.parser``, ``kafka.net.connection``).
The password's repr is already hidden (:class:`~modelmon.core.kafka_security.Redacted`); this filter masks the
characters themselves, as text or as they appear in a bytes repr, in any record of a ``kafka.*`` logger. A
logger's filters run only for records it emits, so nothing is spent while DEBUG is off.
"""

from __future__ import annotations

import logging
import threading

_MASK = "***"


class _Redactor(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.forms: set[str] = set()
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        forms = self.forms
        if not forms:
            return True
        message = record.getMessage()
        if any(form in message for form in forms):
            for form in sorted(forms, key=len, reverse=True):
                message = message.replace(form, _MASK)
            record.msg, record.args = message, None
        return True


_REDACTOR = _Redactor()


def redact_in_kafka_logs(secret: str) -> None:
    """Mask ``secret`` in every record of kafka-python's loggers from now on (those that exist once its
    modules are imported, which making a client does)."""
    text = str.__str__(secret)  # the characters, whatever str subclass hides its printed form
    forms = {text, repr(text.encode("utf-8"))[2:-1]} - {""}
    with _REDACTOR.lock:
        _REDACTOR.forms = _REDACTOR.forms | forms
        names = [n for n in logging.Logger.manager.loggerDict if n == "kafka" or n.startswith("kafka.")]
        for name in names:
            logging.getLogger(name).addFilter(_REDACTOR)  # a filter already there is not added twice
