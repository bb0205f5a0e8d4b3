"""Unit tests for what the API accepts (shared.http.inputs), the bearer credentials and escaped log lines."""

from __future__ import annotations

import json
import logging

import pytest

from shared.http.authorization import bearer_token
from shared.http.inputs import (
    check_decimal_digits,
    check_text,
    is_db_id,
    local_redirect,
    parse_json_body,
    urlencoded_fault,
)
from shared.observability.logs import EscapingFormatter


def test_i_json_is_parsed() -> None:
    assert parse_json_body(b'{"a": [1, "\\ud83d\\ude00", null], "b": -1.5}') == {
        "a": [1, "😀", None],
        "b": -1.5,
    }


@pytest.mark.parametrize(
    "body",
    [
        b"\xef\xbb\xbf{}",  # a byte order mark
        '{"a": 1}'.encode("utf-16"),
        b'{"a": "\xff"}',  # not UTF-8
        b'{"a": 1, "a": 2}',
        b'{"a": NaN}',
        b"[Infinity]",
        b'"\\ud800"',  # an unpaired surrogate
        b'{"\\udc00": 1}',  # in a member name
        b'"\\ufdd0"',  # a noncharacter
        b'"\\udbff\\udfff"',  # U+10FFFF, the last noncharacter
        b"[" * 100_000,
        b"1" * 5000,
        b"{bad",
    ],
)
def test_anything_else_is_malformed_json(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError) as raised:
        parse_json_body(body)
    assert raised.value.doc  # webargs reads an empty document as "no body"


def test_text_has_no_nul() -> None:
    assert check_text("naïve") == "naïve"
    with pytest.raises(ValueError, match="NUL"):
        check_text("a\x00b")


@pytest.mark.parametrize("value", ["0", "007", "2147483648"])
def test_url_integers_are_ascii_digits(value: str) -> None:
    assert check_decimal_digits(value) == value


@pytest.mark.parametrize("value", ["", "+1", "-1", "1.0", "1_0", " 1", "1e3", "\u0661", "\uff15"])
def test_anything_else_is_no_url_integer(value: str) -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        check_decimal_digits(value)


@pytest.mark.parametrize(
    ("raw", "fault"),
    [
        (b"q=caf%C3%A9&x=+1&y", None),
        (b"", None),
        (b"q=%ff", "is not UTF-8"),
        (b"q=\xff", "is not UTF-8"),
        (b"a=%C3&b=%A9", "is not UTF-8"),  # half a character in each value
        (b"limit=5&q=a&limit=6&q=b", "names limit, q more than once"),
    ],
)
def test_urlencoded_text_is_utf8_and_names_each_parameter_once(raw: bytes, fault: str | None) -> None:
    assert urlencoded_fault(raw) == fault


def test_bearer_credentials_follow_rfc_6750() -> None:
    assert bearer_token(["Bearer abc-._~+/=="]) == "abc-._~+/=="
    assert bearer_token(["bEaReR   abc"]) == "abc"  # 1*SP; the scheme in any case
    for refused in (
        ["Bearer"],
        ["Bearer "],
        ["Bearer\tabc"],
        ["Bearer abc def"],
        ["Basic abc"],
        ["Bearer a=b"],
    ):
        assert bearer_token(refused) is None, refused
    assert bearer_token([]) is None
    assert bearer_token(["Bearer abc", "Bearer abc"]) is None  # a singleton field, twice


def test_log_messages_cannot_forge_lines() -> None:
    formatter = EscapingFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord(
        "shop", logging.INFO, __file__, 1, "GET %s", ("/healthz\nINFO forged\x1b[2J",), None
    )
    assert formatter.format(record) == "INFO GET /healthz\\nINFO forged\\x1b[2J"


@pytest.mark.parametrize(
    ("value", "names_an_id"),
    [("1", True), ("2147483647", True), ("0", False), ("2147483648", False), ("-1", False), ("٣", False)],
)
def test_an_id_is_ascii_digits_within_postgresqls_integer(value: str, names_an_id: bool) -> None:
    assert is_db_id(value) is names_an_id


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/admin/product/list?page=2", True),
        ("/api/v1/orders", False),
        ("//evil.example/admin", False),
        ("https://evil.example/admin", False),
        ("/admin\\..\\@evil.example", False),
        (None, False),
    ],
)
def test_a_redirect_after_sign_in_stays_in_the_back_office(target: str | None, kept: bool) -> None:
    assert local_redirect(target, within="/admin") == (target if kept else None)
