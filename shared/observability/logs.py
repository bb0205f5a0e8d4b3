"""Logging for both apps and their servers: text lines, or one JSON object per line (``LOG_FORMAT=json``).

Each app logs one access line per request on the ``shop.access`` logger (:func:`log_access`), with the
request's fields as attributes of the record. In text, ``client "METHOD path" status 12.3ms request_id=...``;
in JSON::

    {"time": "2026-11-22T10:15:03.271+00:00", "level": "INFO", "logger": "shop.access",
     "message": "10.0.0.7 \"GET /api/v1/orders/7\" 200 12.3ms request_id=4bf9...", "request_id": "4bf9...",
     "method": "GET", "route": "/api/v1/orders/{order_id}", "status": 200, "duration_ms": 12.3,
     "client": "10.0.0.7"}

Every other record (the servers' own, SQLAlchemy's, the outbox relay's) has ``time``, ``level``, ``logger``
and ``message``, and ``exception`` when it carries a traceback. A JSON line holds only these named fields,
never a record's other attributes or a request's headers or body, so no token, password or hash can reach
it unless a message itself spells one out, and none does: ``tests/test_logs.py`` runs both apps under their
servers, logs in, uses the token (in a query string too) and finds none of them in the output.

Text lines escape control characters (:class:`EscapingFormatter`); JSON escapes them as JSON does.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# the servers' own loggers: sent through the root's handler, so that they share its format
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "gunicorn.error")
# the servers' access logs, off: each app logs its own access line, whose path leaves out the query string
# (a client may put a secret there) and which carries the route and the request id
SERVER_ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access")
ACCESS_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "client")

access_log = logging.getLogger("shop.access")

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators, as Python escapes
_CONTROL_ESCAPES = {
    code: ascii(chr(code))[1:-1] for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
}


class EscapingFormatter(logging.Formatter):
    """A formatter that escapes control characters in each message (``\n`` becomes ``\\n``), so that
    request data (a percent-decoded path, a header) cannot forge or split a log line. Tracebacks, which
    follow the message, keep their lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record).translate(_CONTROL_ESCAPES)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601 with offset), ``level``, ``logger``, ``message``,
    the access fields a record carries (:data:`ACCESS_FIELDS`) and ``exception`` (the formatted traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_config(level: str) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` dictionary: every record at ``level`` or above, to stderr, in JSON,
    the servers' loggers sent through the same handler. gunicorn takes it as ``logconfig_dict``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            **{name: {"handlers": [], "propagate": True} for name in SERVER_LOGGERS},
            **{name: {"handlers": [], "propagate": False} for name in SERVER_ACCESS_LOGGERS},
        },
    }


def configure(*, level: str, log_format: str) -> None:
    """Log to stderr at ``level`` in ``log_format`` (one of :data:`shared.config.LOG_FORMATS`). Each app calls
    it when it is created, in the process that serves.

    JSON takes over every logger, the server's too (uvicorn's lines from then on; gunicorn's master, which
    never creates the app, reads ``LOG_FORMAT`` in ``gunicorn.conf.py``). Text adds a handler to the root
    unless the server or a test already gave it one, and leaves the servers' own lines as they are.
    """
    if log_format == "json":
        logging.config.dictConfig(json_config(level))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(EscapingFormatter(TEXT_FORMAT))
        logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("shop").setLevel(level)


def log_access(
    *, client: str, method: str, path: str, route: str, status: int, seconds: float, request_id: str
) -> None:
    """The request's access line (``seconds`` is its duration); ``path`` is in the text line only."""
    duration_ms = round(seconds * 1000, 1)
    fields = {
        "request_id": request_id,
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "client": client,
    }
    access_log.info(
        '%s "%s %s" %d %.1fms request_id=%s',
        client,
        method,
        path,
        status,
        duration_ms,
        request_id,
        extra=fields,
    )
