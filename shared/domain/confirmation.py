"""The order confirmation: the outbox topic it travels under, and the email both apps send for it."""

from __future__ import annotations

from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from shared.domain import emails

CONFIRMATION_TOPIC = "order.confirmation"
SENDER = "orders@shop.example"


def confirmation_email(payload: dict[str, Any]) -> EmailMessage:
    """Build the confirmation email from an outbox payload, as
    ``shared.db.models.OutboxMessage.order_confirmation`` writes it: ``{order_id, email, full_name,
    total_cents, currency, lines: [{sku, name, quantity, line_total_cents}]}``.
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
