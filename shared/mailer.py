"""Order confirmation emails: the message both apps send, and the default mailer that logs it.

A mailer is any object with ``send(message: EmailMessage) -> None`` that raises on failure; it may block
(an SMTP client does), so the FastAPI app calls it in a worker thread. Pass your own to either app factory
(``create_app(mailer=...)`` in FastAPI, ``create_app({"MAILER": ...})`` in Flask).
"""

from __future__ import annotations

import logging
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any, Protocol

from shared import emails

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
    recipient = emails.parse(payload["email"])
    # an internationalized mailbox needs SMTPUTF8 (RFC 6531): raw UTF-8 headers, which smtplib announces
    message = EmailMessage(policy=policy.SMTPUTF8 if recipient.smtputf8 else policy.default)
    message["From"] = SENDER
    # an Address object, never a formatted string: it quotes and encodes each part, so no name or address
    # can add a recipient or a header; a name's line breaks become spaces (a header cannot hold them)
    message["To"] = Address(
        display_name=" ".join(payload["full_name"].split()),
        username=recipient.local_part,
        domain=recipient.domain if recipient.smtputf8 else recipient.ascii_domain,
    )
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
