"""What SQL one request of each scenario sends, read from PostgreSQL's own log: ``python -m bench.capture``.

The pgbench scripts of the ceiling (``bench/pgbench/``) replay these statements; this prints them, per app
and scenario, to write the scripts from and to check them against. It turns ``log_statement = 'all'`` on for
the one request (and the confirmation that follows an order), then off again.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

from bench.run import RESOURCES, Variant, prepare, serve
from contract_tests.stacks import ADMIN_EMAIL, ADMIN_PASSWORD, TARGETS
from contract_tests.stacks.local import throwaway_postgres
from shared.config import Settings
from shared.db.revisions import upgrade
from shared.db.seed import seed

# a log line's start, with PostgreSQL's default log_line_prefix ('%m [%p] ')
ENTRY = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+ \S+ \[(\d+)\] (\w+):  (.*)$")
STATEMENT = re.compile(r"^(?:statement|execute [^:]+): (.*)$", re.S)
PARAMETERS = re.compile(r"^parameters: (.*)$", re.S)


def logged_sql(
    database_url: str, log: Path, send: Callable[[], object], settle_seconds: float = 1.0
) -> list[str]:
    """The statements the server ran while ``send()`` ran and ``settle_seconds`` after, with their parameters
    written in, in the order it ran them."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("ALTER SYSTEM SET log_statement = 'all'")
        admin.execute("SELECT pg_reload_conf()")
        time.sleep(0.2)
        start = log.stat().st_size
        send()
        time.sleep(settle_seconds)
        text = log.read_bytes()[start:].decode(errors="replace")
        admin.execute("ALTER SYSTEM RESET log_statement")
        admin.execute("SELECT pg_reload_conf()")
    return statements(text)


def statements(log_text: str) -> list[str]:
    entries: list[list[str]] = []
    for line in log_text.splitlines():
        if match := ENTRY.match(line):
            entries.append([match.group(2), match.group(3)])
        elif entries:
            entries[-1][1] += "\n" + line.strip()
    found: list[str] = []
    for level, message in entries:
        if level == "LOG" and (statement := STATEMENT.match(message)):
            found.append(" ".join(statement.group(1).split()))
        elif level == "DETAIL" and (parameters := PARAMETERS.match(message)) and found:
            found[-1] += f"   -- {parameters.group(1)}"
    return found


def scenario_requests(
    client: httpx.Client, product_ids: list[int], token: str
) -> dict[str, Callable[[], object]]:
    """One request of each scenario that reads or writes (the shopper's mix is made of these)."""
    auth = {"Authorization": f"Bearer {token}"}
    lines = [{"product_id": product_ids[0], "quantity": 1}, {"product_id": product_ids[1], "quantity": 1}]
    return {
        "healthz": lambda: client.get("/healthz"),
        "product": lambda: client.get(f"/api/v1/products/{product_ids[0]}"),
        "search": lambda: client.get("/api/v1/products", params={"q": "beans", "limit": 20}),
        "order": lambda: client.post(
            "/api/v1/orders",
            json={"items": lines},
            headers=auth | {"Idempotency-Key": f"capture-{time.monotonic_ns()}"},
        ),
    }


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="shop-capture-"))
    with throwaway_postgres(workdir) as database_url:
        settings = Settings(database_url=database_url, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD)
        upgrade(settings)
        seed(settings)
        env = {"DATABASE_URL": database_url, **RESOURCES}
        env["SHOP_OUTBOX_RELAY_SECONDS"] = "3600"  # no relay round in the middle of a capture
        for app in TARGETS:
            with (
                serve(Variant(app, app), env, workdir) as server,
                httpx.Client(base_url=server.url, timeout=10) as client,
            ):
                data = prepare(server.url, 1, workdir)
                token = data.file.read_text().split("\ntoken ", 1)[1].split("\n", 1)[0]
                for scenario, send in scenario_requests(client, data.product_ids, token).items():
                    send()  # warm: a process's first request of a kind prepares more than the next ones
                    print(f"\n## {app}: {scenario}")
                    for statement in logged_sql(database_url, workdir / "postgresql.log", send):
                        print(statement)
    return 0


if __name__ == "__main__":
    sys.exit(main())
