"""What the API accepts as a JSON body, as text and as a number in a URL: the same rules in both apps.

Each app calls these from its own parsing hooks (FastAPI: the request class of :mod:`fastapi_shop.routing`
and Pydantic validators; Flask: the webargs parser and marshmallow fields), so that a hostile input gets the
same answer from both and never reaches the database:

- A JSON body is I-JSON (RFC 7493): UTF-8 without a byte order mark, no unpaired surrogate or noncharacter
  in any string, no duplicate member names, and none of Python's extensions (``NaN``, ``Infinity``).
  Anything else, and anything Python's parser refuses (nesting deeper than its recursion limit, an integer
  of more than 4,300 digits), is malformed JSON: ``400``.
- Text has no NUL character (U+0000): PostgreSQL's ``text`` cannot store it. A NUL in a member or a
  parameter is a ``422`` at that member.
- A number in a path or a query string is ASCII decimal digits: no sign, point, space, underscore or
  non-ASCII digit (Python's ``int()`` accepts all of those).
- A query string or form body is UTF-8 once percent-decoded and names each parameter once; else ``400``
  (Starlette would replace the bytes with U+FFFD, Werkzeug keep ``%FF`` or drop the whole form; Starlette
  takes the last of two values, Werkzeug the first).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

from shared.domain.limits import MAX_DB_ID

# RFC 7493 §2.1: strings MUST NOT include surrogates (unpaired: a pair decodes to one code point) or
# noncharacters (U+FDD0..U+FDEF and the last two code points of every plane)
_NOT_I_JSON = re.compile(
    "[\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
    + "]"
)
_DECIMAL_DIGITS = re.compile(r"[0-9]+")
NUL_DETAIL = "must not contain the NUL character (U+0000)"
DIGITS_DETAIL = "must be a whole number written in ASCII digits"


def parse_json_body(data: bytes) -> Any:
    """Parse a request body as I-JSON (RFC 7493); raises :class:`json.JSONDecodeError` if it is not.

    Both frameworks turn a ``JSONDecodeError`` into their "malformed JSON" error (here: ``400``).
    """
    try:
        text = data.decode("utf-8")  # strict: invalid UTF-8 is refused, not replaced
    except UnicodeDecodeError as exc:
        _malformed(f"not UTF-8: {exc.reason}", data.decode("utf-8", errors="replace"), exc.start)
    try:
        # a BOM decodes to U+FEFF, which json.loads refuses ("Unexpected UTF-8 BOM"), as RFC 8259 §8.1 allows
        value = json.loads(text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant)
    except RecursionError:
        _malformed("nested too deeply", text, 0)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. an integer longer than sys.get_int_max_str_digits()
        _malformed(str(exc), text, 0)
    _check_strings(value, text)
    return value


def urlencoded_fault(raw: bytes) -> str | None:
    """What is wrong with an ``application/x-www-form-urlencoded`` string (a query string, a form body), as
    the end of a sentence ("is not UTF-8"), or ``None``: it must be UTF-8, also once percent-decoded, and
    name each parameter once."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return "is not UTF-8"
    counts = Counter(name for name, _ in pairs)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    return f"names {', '.join(repeated)} more than once" if repeated else None


def check_text(value: str) -> str:
    """``value`` unchanged; raises :class:`ValueError` if it contains a NUL character."""
    if "\x00" in value:
        raise ValueError(NUL_DETAIL)
    return value


def is_db_id(value: str) -> bool:
    """Whether ``value`` names a database id: ASCII decimal digits, from 1 to
    :data:`~shared.domain.limits.MAX_DB_ID` (a larger number is one PostgreSQL refuses to compare)."""
    return bool(_DECIMAL_DIGITS.fullmatch(value)) and 1 <= int(value) <= MAX_DB_ID


def local_redirect(target: str | None, *, within: str) -> str | None:
    """``target`` if it is a path of this site under ``within`` (``/admin``), where a redirect after signing
    in may go; ``None`` for anything else, another host above all (no open redirect)."""
    if target and target.startswith(within) and not urlsplit(target).netloc and "\\" not in target:
        return target
    return None


def check_decimal_digits(value: str) -> str:
    """``value`` unchanged if it is ASCII decimal digits (``"007"`` is fine); raises :class:`ValueError`."""
    if not _DECIMAL_DIGITS.fullmatch(value):
        raise ValueError(DIGITS_DETAIL)
    return value


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, member in pairs:
        if name in obj:
            raise ValueError(f"member {name!r} appears more than once")
        obj[name] = member
    return obj


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _check_strings(value: Any, text: str) -> None:
    """Every member name and string value is I-JSON text; iterative, as the tree may be ~1,000 deep."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if match := _NOT_I_JSON.search(item):
                _malformed(f"U+{ord(match.group()):04X} is not allowed in I-JSON text", text, 0)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _malformed(reason: str, text: str, position: int) -> NoReturn:
    raise json.JSONDecodeError(f"Not I-JSON (RFC 7493): {reason}", text, position)
