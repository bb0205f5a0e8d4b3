"""Email addresses (:mod:`shared.domain.emails`) and the confirmation's headers (:mod:`shared.mailer`)."""

from __future__ import annotations

import pytest

from shared.domain import emails
from shared.domain.confirmation import confirmation_email

CAPITAL_SIGMA, SMALL_SIGMA, FINAL_SIGMA = "\u03a3", "\u03c3", "\u03c2"
CAPITAL_ALPHA, SMALL_ALPHA = "\u0391", "\u03b1"
DOTTED_CAPITAL_I = "\u0130"


@pytest.mark.parametrize(
    "address",
    [
        "x,victim@example.com",  # a comma would separate two mailboxes in a header
        "semi;x@example.com",
        '"quoted local"@example.com',
        "Eve <eve@example.com>",
        "eve@[192.0.2.1]",
        "no-at-sign.example.com",
        "two@@example.com",
        "eve@localhost",
        "eve@example.com\r\nBcc: victim@example.com",
    ],
)
def test_addresses_that_are_not_one_plain_mailbox_are_refused(address: str) -> None:
    with pytest.raises(emails.EmailNotValidError):
        emails.normalize(address)


def test_the_domain_is_normalized_and_the_local_part_kept() -> None:
    assert emails.normalize("Ada.Lovelace@Example.COM") == "Ada.Lovelace@example.com"


@pytest.mark.parametrize(
    ("first", "second", "same_account"),
    [
        ("Ada@example.com", "ada@EXAMPLE.com", True),
        (f"{CAPITAL_ALPHA}{CAPITAL_SIGMA}1@example.com", f"{SMALL_ALPHA}{FINAL_SIGMA}1@example.com", True),
        (f"{SMALL_ALPHA}{SMALL_SIGMA}1@example.com", f"{SMALL_ALPHA}{FINAL_SIGMA}1@example.com", True),
        ("stra\u00dfe@example.com", "STRASSE@example.com", True),  # sharp s folds to "ss"
        (f"{DOTTED_CAPITAL_I}1@example.com", "i1@example.com", False),  # folds to "i" + U+0307
        ("e\u0301@example.com", "\u00e9@example.com", True),  # decomposed and precomposed e-acute
        ("ada@stra\u00dfe.de", "ada@strasse.de", False),  # two domains under IDNA 2008
    ],
)
def test_addresses_name_one_account_when_their_keys_are_equal(
    first: str, second: str, same_account: bool
) -> None:
    keys = {emails.account_key(emails.normalize(address)) for address in (first, second)}
    assert (len(keys) == 1) is same_account


def _payload(email: str, full_name: str = "Ada Lovelace") -> dict[str, object]:
    line = {"sku": "SKU-1", "name": "Widget", "quantity": 2, "line_total_cents": 2500}
    return {
        "order_id": 7,
        "email": email,
        "full_name": full_name,
        "total_cents": 2500,
        "currency": "USD",
        "lines": [line],
    }


def test_a_name_cannot_add_a_header_or_a_recipient_to_the_confirmation() -> None:
    message = confirmation_email(_payload("ada@example.com", "Eve\r\nBcc: victim@example.com, x@y.example"))
    (recipient,) = message["To"].addresses
    assert recipient.addr_spec == "ada@example.com"
    assert recipient.display_name == "Eve Bcc: victim@example.com, x@y.example"
    assert message["Bcc"] is None
    headers, _, _ = message.as_bytes().partition(b"\n\n")
    assert b"\nBcc:" not in headers


def test_an_internationalized_mailbox_is_sent_as_utf8_and_an_ascii_one_with_an_ascii_domain() -> None:
    local = f"{SMALL_ALPHA}{SMALL_SIGMA}"
    utf8 = confirmation_email(_payload(f"{local}@example.com")).as_bytes()
    assert f"To: Ada Lovelace <{local}@example.com>".encode() in utf8  # RFC 6531: raw UTF-8, not RFC 2047
    ascii_only = confirmation_email(_payload("ada@stra\u00dfe.de")).as_bytes()
    assert b"To: Ada Lovelace <ada@xn--strae-oqa.de>" in ascii_only
