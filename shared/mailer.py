"""Order confirmation emails: the message both apps send, and the default mailer that logs it.

A mailer is any object with ``send(message: EmailMessage) -> None`` that raises on failure; it may block
(an SMTP client does), so the FastAPI app calls it in a worker thread. Pass your own to either app factory
(``create_app(mailer=...)`` in FastAPI, ``create_app({"MAILER": ...})`` in Flask).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any, Protocol

CONFIRMATION_TOPIC = "order.confirmation"
SENDER = "orders@shop.example"

log = logging.getLogger("shop.mailer")


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class LoggingMailer:
    """Default mailer: writes one log line per message instead of sending it."""

    def send(self, message: EmailMessage) -> None:
        log.info("mail to=%s subject=%r", message["To"], message["Subject"])


def confirmation_email(payload: dict[str, Any]) -> EmailMessage:
    """Build the confirmation email from an outbox payload, as ``OutboxMessage.order_confirmation`` writes it:
    ``{order_id, email, full_name, total_cents, currency, lines: [{sku, name, quantity, line_total_cents}]}``.
    """
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = payload["email"]
    message["Subject"] = f"Your order #{payload['order_id']} is confirmed"
    rows = [
        f"  {line['quantity']} x {line['name']} ({line['sku']}): {_money(line['line_total_cents'])}"
        for line in payload["lines"]
    ]
    message.set_content(
        f"Hello {payload['full_name']},\n\nthank you for your order #{payload['order_id']}:\n\n"
        + "\n".join(rows)
        + f"\n\nTotal: {_money(payload['total_cents'])} {payload['currency']}\n"
    )
    return message


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
