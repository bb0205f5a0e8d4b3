"""``make bench``'s WebSocket part: the live order socket (``/api/v1/orders/{order_id}/events``) of each app's
server model, in the same sitting as the HTTP scenarios (:mod:`bench.run` calls :func:`measure_all`).

For each server (:data:`SERVERS`), started afresh on the bench's database with :data:`WORKERS` worker
processes:

- **Idle sockets held.** :data:`ATTEMPTS` sockets opened (100 handshakes at a time), each authenticated by
  its header and watching an order, then all held open: how many got the order's state (held), how many were
  closed with 1013 (refused: the worker's ``SHOP_MAX_SOCKETS_PER_WORKER``), how many failed otherwise
  (errors: a timeout, a reset, another close code, e.g. 1011 when a socket's read waited out the pool).
  The limit is raised to :data:`LIMIT_PER_WORKER` for the event-loop servers, so that what stops them is
  the server, not the setting; the threaded server keeps its default (half its threads), which is the point
  of its row.
- **Memory per idle socket.** The workers' resident memory with the sockets held, less before, per socket
  held.
- **Fan-out latency.** :data:`WATCHERS` sockets on one order, which is then cancelled in a transaction of
  the bench's own, as the apps cancel (the status, the stock, the ``NOTIFY``); then the same for another
  order, :data:`WATCHED_ORDERS` in all. Each watcher's message is timed from just before that ``COMMIT``
  to its arrival at the client: p50, p99 and the largest, over every watcher's message.

The client is the websockets library's asyncio client in this process: one event loop holds every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import quantiles
from typing import Any

import psutil
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from contract_tests.client import Api
from contract_tests.sockets import events_url
from contract_tests.stacks import ADMIN_EMAIL, ADMIN_PASSWORD, TARGETS, Deployment
from contract_tests.stacks.local import serve_app
from shared.config import Settings
from shared.db import statements
from shared.db.models import OrderItem, Product
from shared.http.sockets import Close

WORKERS = 2
LIMIT_PER_WORKER = 20_000  # above anything attempted: the event-loop servers are measured, not the setting
ATTEMPTS = (1_000, 10_000)
WATCHERS, WATCHED_ORDERS = 1_000, 3  # each order's change goes to all the watchers at once
SMOKE_ATTEMPTS, SMOKE_WATCHERS = (40,), 20
HANDSHAKES_AT_ONCE = 100
ANSWER_SECONDS = 30.0  # for one socket's handshake and first answer
LEAVE_SECONDS = 2.0  # for the server to let go of the sockets closed
# each server as the deployments run it for sockets, and the Flask app's API server for comparison
SERVERS: dict[str, tuple[str, dict[str, str], list[str]]] = {
    "fastapi (uvicorn)": (
        "fastapi",
        {"SHOP_MAX_SOCKETS_PER_WORKER": str(LIMIT_PER_WORKER)},
        ["--workers", str(WORKERS)],
    ),
    "flask (gunicorn gevent)": (
        "flask",
        {
            "GUNICORN_WORKER_CLASS": "gevent",
            "GUNICORN_WORKER_CONNECTIONS": str(LIMIT_PER_WORKER + 100),
            "SHOP_MAX_SOCKETS_PER_WORKER": str(LIMIT_PER_WORKER),
        },
        [],
    ),
    # the API's own server, as the stacks run it (2 workers of 8 threads), with its default socket limit
    "flask (gunicorn gthread)": ("flask", {}, []),
}


@dataclass
class Held:
    """One attempt to hold ``attempted`` idle sockets on one server."""

    server: str
    attempted: int
    held: int
    refused: int
    errors: int  # neither held nor refused: a timeout, a reset, or another close code
    other_closes: list[int]  # those other close codes (shared.http.sockets.Close)
    seconds: float  # to open them all
    rss_before_mib: float  # the workers' resident memory, added up
    rss_held_mib: float

    @property
    def kib_per_socket(self) -> float | None:
        if not self.held:
            return None
        return (self.rss_held_mib - self.rss_before_mib) * 1024 / self.held


@dataclass
class FanOut:
    """The latency of one status change to every socket watching the order, over ``watchers`` sockets."""

    server: str
    watchers: int  # of one order at a time (the fewest any order had)
    orders: int  # changes measured, one order each
    sent: int  # messages the changes were due to make: every watcher of each
    received: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def measure_all(*, env: dict[str, str], workdir: Path, smoke: bool) -> dict[str, list[dict[str, Any]]]:
    """Every server of :data:`SERVERS`: its :class:`Held` rows and its :class:`FanOut`, as dictionaries."""
    held: list[dict[str, Any]] = []
    fan_outs: list[dict[str, Any]] = []
    attempts = SMOKE_ATTEMPTS if smoke else ATTEMPTS
    watchers = SMOKE_WATCHERS if smoke else WATCHERS
    for label, (app, settings, args) in SERVERS.items():
        with _server(app, {**env, **settings}, args, workdir / f"sockets-{app}.log") as (url, workers):
            deployment = Deployment(
                admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD, _url_for=lambda _: url
            )
            with Api(app, deployment) as api:
                customer = api.new_customer()
                product = api.create_product(stock=WATCHED_ORDERS + 1)
                order_ids = [
                    api.place_order(customer, [(product["id"], 1)], expect=201).json()["id"]
                    for _ in range(WATCHED_ORDERS)
                ]
                for order_id in order_ids:
                    api.wait_until_confirmed(customer, order_id)
            for count in attempts:
                row = asyncio.run(_hold(label, url, order_ids[0], customer.auth, count, workers))
                held.append({**asdict(row), "kib_per_socket": row.kib_per_socket})
                outcome = f"{row.held} of {count} sockets held, {row.refused} refused, {row.errors} errors"
                print(f"  {label}: {outcome}", flush=True)
            fan_out = asyncio.run(
                _fan_out(label, url, order_ids, customer.auth, watchers, env["DATABASE_URL"])
            )
            fan_outs.append(asdict(fan_out))
            print(f"  {label}: fan-out p50 {fan_out.p50_ms:.1f} ms, p99 {fan_out.p99_ms:.1f} ms", flush=True)
    return {"held": held, "fan_out": fan_outs}


@contextlib.contextmanager
def _server(
    app: str, env: dict[str, str], args: list[str], log: Path
) -> Iterator[tuple[str, list[psutil.Process]]]:
    with serve_app(TARGETS[app], env, log, extra_args=args, poll_seconds=0.05) as process:
        time.sleep(1)  # every worker up, not only the first to answer
        yield process.url, process.workers()


def _rss_mib(workers: list[psutil.Process]) -> float:
    return float(sum(worker.memory_info().rss for worker in workers)) / 2**20


async def _hold(
    label: str, url: str, order_id: int, auth: dict[str, str], count: int, workers: list[psutil.Process]
) -> Held:
    """Open ``count`` sockets on the order, hold every one that got its state, measure, close them all."""
    rss_before = _rss_mib(workers)
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    started = time.monotonic()
    answers = await asyncio.gather(*(_open(url, order_id, auth, gate) for _ in range(count)))
    seconds = time.monotonic() - started
    held = [answer for answer in answers if isinstance(answer, ClientConnection)]
    await asyncio.sleep(1)  # the workers' memory settles
    rss_held = _rss_mib(workers)
    await asyncio.gather(*(socket.close() for socket in held), return_exceptions=True)
    await asyncio.sleep(LEAVE_SECONDS)  # the server notices each close (a threaded one within a second)
    return Held(
        server=label,
        attempted=count,
        held=len(held),
        refused=sum(answer == Close.TRY_AGAIN_LATER for answer in answers),
        errors=sum(
            not isinstance(answer, ClientConnection) and answer != Close.TRY_AGAIN_LATER for answer in answers
        ),
        other_closes=sorted(
            {answer for answer in answers if isinstance(answer, int) and answer != Close.TRY_AGAIN_LATER}
        ),
        seconds=round(seconds, 2),
        rss_before_mib=round(rss_before, 1),
        rss_held_mib=round(rss_held, 1),
    )


async def _open(
    url: str, order_id: int, auth: dict[str, str], gate: asyncio.Semaphore
) -> ClientConnection | int | str:
    """A socket that got its order's state; else the close code it got, or ``"error"``."""
    async with gate:
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                socket = await connect(events_url(url, order_id), additional_headers=auth, open_timeout=None)
                try:
                    await socket.recv()
                except ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd else "error"
                return socket
        except (OSError, TimeoutError, ConnectionClosed, ValueError):
            return "error"


async def _fan_out(
    label: str, url: str, order_ids: list[int], auth: dict[str, str], watchers: int, database_url: str
) -> FanOut:
    """For each order in turn: ``watchers`` sockets on it, then the order cancelled, each message timed,
    the sockets closed. One change reaches every watcher at once, as the issue's figure asks."""
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    engine = create_engine(Settings(database_url=database_url).url_for_driver("psycopg"))
    arrived: list[float] = []
    watched = []
    for order_id in order_ids:
        sockets = await asyncio.gather(*(_open(url, order_id, auth, gate) for _ in range(watchers)))
        watching = [socket for socket in sockets if isinstance(socket, ClientConnection)]
        watched.append(len(watching))
        committed: list[float] = []
        listening = [asyncio.create_task(_hear_cancel(socket, committed, arrived)) for socket in watching]
        await asyncio.to_thread(_cancel, engine, order_id, committed)
        await asyncio.gather(*listening)
        await asyncio.sleep(LEAVE_SECONDS)  # the server lets go of the sockets closed
    engine.dispose()
    cuts = (
        quantiles(arrived, n=100, method="inclusive")
        if len(arrived) > 1
        else [arrived[0] if arrived else 0.0] * 99
    )
    return FanOut(
        server=label,
        watchers=min(watched),
        orders=len(order_ids),
        sent=sum(watched),
        received=len(arrived),
        p50_ms=round(cuts[49] * 1000, 2),
        p99_ms=round(cuts[98] * 1000, 2),
        max_ms=round(max(arrived, default=0.0) * 1000, 2),
    )


async def _hear_cancel(socket: ClientConnection, committed: list[float], arrived: list[float]) -> None:
    """Wait for the socket's cancelled message; add its seconds since ``committed[0]`` to ``arrived``."""
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        async with asyncio.timeout(ANSWER_SECONDS):
            if json.loads(await socket.recv())["status"] == "cancelled":
                arrived.append(time.monotonic() - committed[0])
    await socket.close()


def _cancel(engine: Any, order_id: int, committed: list[float]) -> None:
    """Cancel the order as the apps do, in one transaction (the status, its stock back, the ``NOTIFY``), and
    note the time just before its ``COMMIT``."""
    with Session(engine) as session:
        session.execute(statements.mark_cancelled(order_id))
        session.execute(
            update(Product)
            .where(Product.id == OrderItem.product_id, OrderItem.order_id == order_id)
            .values(stock=Product.stock + OrderItem.quantity)
        )
        session.execute(statements.notify_order_status(order_id))
        committed.append(time.monotonic())
        session.commit()


def markdown(sockets: dict[str, list[dict[str, Any]]]) -> str:
    """The WebSocket part of the results' Markdown."""
    lines = [
        "## Live order sockets",
        "",
        f"{WORKERS} worker processes each; sockets held idle, authenticated, each watching an order.",
        "",
        "| server | attempted | held | refused (1013) | errors | seconds to open | memory per idle socket |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in sockets["held"]:
        per_socket = f"{row['kib_per_socket']:.1f} KiB" if row["kib_per_socket"] is not None else "-"
        closes = ", ".join(map(str, row.get("other_closes", [])))
        errors = f"{row['errors']} (closed {closes})" if closes else str(row["errors"])
        lines.append(
            f"| {row['server']} | {row['attempted']} | {row['held']} | {row['refused']} | {errors} "
            f"| {row['seconds']} | {per_socket} |"
        )
    lines += [
        "",
        "From just before the COMMIT of a status change to its message at each watcher (watchers: of one"
        " order at a time; orders: changes measured in turn):",
        "",
        "| server | watchers | orders | messages | p50 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in sockets["fan_out"]:
        lines.append(
            f"| {row['server']} | {row['watchers']} | {row['orders']} | {row['received']} | {row['p50_ms']} "
            f"| {row['p99_ms']} | {row['max_ms']} |"
        )
    return "\n".join(lines) + "\n"


def check(sockets: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What the bench counts as a failure: an event-loop server that could not hold the sockets it was
    sent, or a watcher that missed its message."""
    failures = []
    for row in sockets["held"]:
        if "gthread" not in row["server"] and row["attempted"] <= 1_000 and row["held"] != row["attempted"]:
            failures.append(f"{row['server']} held {row['held']} of {row['attempted']} sockets")
    for row in sockets["fan_out"]:
        if row["received"] != row["sent"] or not row["watchers"]:
            failures.append(f"{row['server']}: {row['received']} of {row['sent']} messages arrived")
    return failures
