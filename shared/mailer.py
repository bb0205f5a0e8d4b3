"""The mailer both apps send confirmations through, and the default one, which logs each message.

A mailer is any object with ``send(message: EmailMessage) -> None`` that raises on failure; it may block
(an SMTP client does), so the FastAPI app calls it in a worker thread. Pass your own to either app factory
(``create_app(mailer=...)`` in FastAPI, ``create_app({"MAILER": ...})`` in Flask). What a confirmation says
is :mod:`shared.domain.confirmation`.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Protocol

log = logging.getLogger("shop.mailer")


class Mailer(Protocol):
    """Sends one email; raises on failure (the outbox then keeps the message for a retry)."""

    def send(self, message: EmailMessage) -> None: ...


class LoggingMailer:
    """Default mailer: writes one log line per message instead of sending it."""

    def send(self, message: EmailMessage) -> None:
        log.info("mail to=%s subject=%r", message["To"], message["Subject"])
