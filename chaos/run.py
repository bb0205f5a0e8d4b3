"""``make chaos``: each app under a bounded order load while faults are injected; then SQL checks.

On a throwaway PostgreSQL cluster (the contract suite's local stack), each app runs as it is deployed, with
two worker processes. For each fault, ``--clients`` shoppers place orders (an ``Idempotency-Key`` each, and
a retry with the same key after a ``503`` or a dropped connection, as a careful client does) for a few
seconds before, during and after it:

- ``restart``: PostgreSQL restarted (``pg_ctl restart -m fast``);
- ``stop``: PostgreSQL stopped for a few seconds, then started;
- ``freeze``: every PostgreSQL process stopped (``SIGSTOP``) for a few seconds, then continued;
- ``row-lock``: another transaction holds ``FOR UPDATE`` on one product's row;
- ``kill-worker``: one of the app's worker processes killed (``SIGKILL``); its server starts another;
- ``slow-clients``: ``SLOW_CLIENTS`` connections that hold the server: half send an order's body one byte a
  second, half ask for product pages they never read.

The Flask app runs behind nginx, as docker-compose.yml deploys it (``nginx/flask.conf.template``; the ingress
does the same in Kubernetes); ``--no-proxy`` serves it bare, to see why. No answer may take longer than
``ANSWER_BOUND_SECONDS``, and ``/healthz``, polled throughout, must answer within ``HEALTHZ_BOUND_SECONDS``
while clients are slow.
Afterwards, with SQL: no order is partial (each has lines, and its total is theirs), stock taken equals
units sold, no idempotency key made two orders, and every confirmation is delivered (by the relay, for those
the request's own delivery missed). Clients may only have seen ``201``, ``409``, ``422``, ``429`` or ``503``
problems; a dropped connection (or nginx's ``502``) only where a worker was killed under it. Prints a table
per fault: counts by status, worst latency, worst ``/healthz``, and the recovery time (from the fault's end
to the first order placed after it).

Usage: ``python -m chaos.run [--app fastapi|flask] [--fault NAME ...] [--source DIR] [--no-proxy]``
(``make chaos``); ``--source`` runs the apps of another checkout (an older release, to compare). Exits
non-zero on any failed check.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import os
import random
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import port_for
import psutil
import psycopg
from mirakuru import HTTPExecutor

from contract_tests.client import Api
from contract_tests.consistency import check_database
from contract_tests.stacks import ROOT, SESSION_SECRET, START_TIMEOUT_SECONDS, TARGETS, Deployment
from contract_tests.stacks.local import (
    AppProcess,
    find_daemon,
    find_pg_ctl,
    local_stack,
    postgres_processes,
    postmaster,
    serve_app,
)

PRODUCTS = 4
STOCK = 1_000_000
# a lasting fault outlasts the apps' own limit on one wait for the database (statement timeout + 1 s = 6 s)
BEFORE_SECONDS, FAULT_SECONDS, AFTER_SECONDS = 2.0, 8.0, 6.0
# The slowest answer the defaults allow: a request waits for a pooled connection (3 s), its check on
# checkout meets the frozen server (6 s), and the reconnect that follows times out (3 s).
ANSWER_BOUND_SECONDS = 12
CLIENT_TIMEOUT_SECONDS = 15
ALLOWED = {201, 409, 422, 429, 503}
# the liveness probe's timeout in k8s/base/*.yaml
HEALTHZ_BOUND_SECONDS = 2
# half of them hold a request each: twice the request threads of the Flask app here (2 workers x 8 threads),
# so that every thread is held however the workers share the connections
SLOW_CLIENTS = 64
# each app as deployed (Dockerfile, k8s/): two worker processes; the contract suite's commands run uvicorn
# with one, and gunicorn already with two (and 8 threads each)
EXTRA_ARGS = {"fastapi": ["--workers", "2"], "flask": []}


# --- the database's processes -------------------------------------------------------------------------


@dataclass
class Postgres:
    """The throwaway cluster behind ``url``, controlled as its operator would: ``pg_ctl`` and signals."""

    url: str
    data_directory: str = ""

    def __post_init__(self) -> None:
        with psycopg.connect(self.url) as connection:
            self.data_directory = str(connection.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]

    def pg_ctl(self, *args: str) -> None:
        # -l: the server logs to the stack's log file; else it keeps pg_ctl's output pipe open for ever
        log = Path(self.data_directory).parent / "postgresql.log"
        command = [find_pg_ctl(), "-D", self.data_directory, "-l", str(log), "-w", *args]
        if os.geteuid() == 0:  # PostgreSQL runs as the postgres user (contract_tests/stacks/local.py)
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, cwd="/", capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


# --- the faults: each a context manager; the fault lasts while it is entered -------------------------


@contextlib.contextmanager
def restart(db: Postgres, app: AppServer) -> Iterator[None]:
    db.pg_ctl("restart", "-m", "fast")
    yield


@contextlib.contextmanager
def stop(db: Postgres, app: AppServer) -> Iterator[None]:
    db.pg_ctl("stop", "-m", "fast")
    try:
        yield
    finally:
        db.pg_ctl("restart")  # starts a stopped server with the options it last ran with (postmaster.opts)


@contextlib.contextmanager
def freeze(db: Postgres, app: AppServer) -> Iterator[None]:
    frozen = postgres_processes(postmaster(db.url))
    try:
        for process in frozen:
            with contextlib.suppress(psutil.NoSuchProcess):  # a backend that has just closed
                process.suspend()  # SIGSTOP
        yield
    finally:
        for process in frozen:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.resume()  # SIGCONT


@contextlib.contextmanager
def row_lock(db: Postgres, app: AppServer) -> Iterator[None]:
    with psycopg.connect(db.url) as locker:
        locker.execute("SELECT id FROM products WHERE id = %s FOR UPDATE", (app.product_ids[0],))
        yield
        locker.rollback()


@contextlib.contextmanager
def kill_worker(db: Postgres, app: AppServer) -> Iterator[None]:
    random.choice(app.process.workers()).kill()  # noqa: S311 (not cryptography); SIGKILL
    yield


@contextlib.contextmanager
def slow_clients(db: Postgres, app: AppServer) -> Iterator[None]:
    host, port = app.url.removeprefix("http://").split(":")
    token = app.customers[0]["Authorization"]
    trickled, unread = [], []
    body = b'{"items": [{"product_id": %d, "quantity": 1}]}' % app.product_ids[0]
    for n in range(SLOW_CLIENTS):
        client = socket.socket()
        if n % 2:  # a small receive window: the server's answers back up at once
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect((host, int(port)))
        if n % 2 == 0:  # the headers at once, then the body one byte a second
            client.sendall(
                b"POST /api/v1/orders HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (host.encode(), token.encode(), len(body))
            )
            trickled.append(client)
        else:  # requests for pages of products, pipelined, and none of the answers read
            client.setblocking(False)
            request = b"GET /api/v1/products?limit=100 HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode()
            with contextlib.suppress(BlockingIOError):
                client.send(request * 500)
            unread.append(client)
    over = threading.Event()

    def trickle() -> None:
        for offset in range(len(body)):
            if over.wait(1):
                return
            for client in trickled:
                with contextlib.suppress(OSError):  # let go by the server: it may
                    client.send(body[offset : offset + 1])

    trickler = threading.Thread(target=trickle)
    trickler.start()
    try:
        yield
    finally:
        over.set()
        trickler.join()
        for client in trickled + unread:
            client.close()


Fault = Callable[[Postgres, "AppServer"], contextlib.AbstractContextManager[None]]
# name -> (fault, whether it lasts FAULT_SECONDS; if not, it is over once entered)
FAULTS: dict[str, tuple[Fault, bool]] = {
    "restart": (restart, False),
    "stop": (stop, True),
    "freeze": (freeze, True),
    "row-lock": (row_lock, True),
    "kill-worker": (kill_worker, False),
    "slow-clients": (slow_clients, True),
}


# --- the app and its shoppers -------------------------------------------------------------------------


@dataclass
class AppServer:
    name: str
    url: str  # the server's, or nginx's in front of it
    process: AppProcess
    product_ids: list[int] = field(default_factory=list)
    customers: list[dict[str, str]] = field(default_factory=list)  # an ``Authorization`` header each


@contextlib.contextmanager
def serve(app: str, env: dict[str, str], logs: Path, source: Path, proxied: bool) -> Iterator[AppServer]:
    """The app's server; with ``proxied``, behind nginx (``nginx/flask.conf.template``), whose URL it gets."""
    # several worker processes: /metrics adds up their counts from files here
    # (shared/observability/metrics.py)
    metrics_dir = tempfile.mkdtemp(prefix=f"metrics-{app}-", dir=logs)
    env = {**env, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    with serve_app(
        TARGETS[app], env, logs / f"chaos-{app}.log", extra_args=EXTRA_ARGS[app], source=source
    ) as process:
        upstream = process.url.removeprefix("http://")
        with nginx(upstream, logs) if proxied else contextlib.nullcontext(process.url) as public_url:
            yield AppServer(app, public_url, process)


@contextlib.contextmanager
def nginx(upstream: str, workdir: Path) -> Iterator[str]:
    """nginx with the template docker-compose.yml gives it, in front of ``upstream``; yields its URL."""
    port = port_for.select_random()
    workdir = workdir / "nginx"
    workdir.mkdir(exist_ok=True)
    template = string.Template((ROOT / "nginx" / "flask.conf.template").read_text())  # envsubst's syntax
    # the sockets' server is the same one here: chaos sends no socket
    server = template.safe_substitute(
        FLASK_UPSTREAM=upstream, FLASK_EVENTS_UPSTREAM=upstream, NGINX_PORT=f"127.0.0.1:{port}"
    )
    temp_paths = " ".join(
        f"{kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config, error_log = workdir / "nginx.conf", workdir / "error.log"
    config.write_text(
        f"daemon off; pid {workdir / 'nginx.pid'}; error_log {error_log} warn; worker_processes 1;\n"
        "events { worker_connections 1024; }\n"
        f"http {{ access_log off; {temp_paths}\n{server}\n}}\n"
    )
    with error_log.open("ab") as log:
        executor = HTTPExecutor(
            [_find_nginx(), "-c", str(config), "-e", str(error_log)],
            url=f"http://127.0.0.1:{port}/readyz",
            status=200,
            timeout=START_TIMEOUT_SECONDS,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        with executor:
            yield f"http://127.0.0.1:{port}"


def _find_nginx() -> str:
    if found := find_daemon("nginx"):
        return found
    raise RuntimeError("make chaos runs the Flask app behind nginx: install it (apt-get install nginx)")


@dataclass(frozen=True)
class Outcome:
    started: float
    seconds: float
    status: int | str  # an HTTP status, or the name of the transport error
    problem_type: str | None = None
    retry_after: bool = False

    @property
    def ended(self) -> float:
        return self.started + self.seconds


def shopper(url: str, auth: dict[str, str], product_ids: list[int], until: float) -> list[Outcome]:
    """Place orders until ``until``; retry a ``503`` or a dropped connection with the same key and body."""
    outcomes = []
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_SECONDS) as http:
        retry: tuple[str, dict[str, object]] | None = None
        while time.monotonic() < until:
            key, body = retry or (str(uuid.uuid4()), new_order(product_ids))
            started = time.monotonic()
            try:
                response = http.post("/api/v1/orders", json=body, headers={**auth, "Idempotency-Key": key})
            except httpx.TransportError as error:
                outcomes.append(Outcome(started, time.monotonic() - started, type(error).__name__))
                retry = key, body  # the same key: the order is placed at most once
                time.sleep(0.2)
                continue
            problem = response.json().get("type") if response.status_code >= 400 else None
            seconds = time.monotonic() - started
            retry_after = "Retry-After" in response.headers
            outcomes.append(Outcome(started, seconds, response.status_code, problem, retry_after))
            retry = (key, body) if response.status_code == 503 else None
            if retry:
                time.sleep(0.5)  # less than Retry-After: the run is short, and its bound is what is tested
    return outcomes


def watch_healthz(url: str, until: float, seconds: list[float]) -> None:
    """``GET /healthz`` every half second until ``until``; each answer's time (or the time to fail) in
    ``seconds``, as an orchestrator's liveness probe would see them."""
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_SECONDS) as http:
        while time.monotonic() < until:
            started = time.monotonic()
            with contextlib.suppress(httpx.TransportError):
                http.get("/healthz")
            seconds.append(time.monotonic() - started)
            time.sleep(0.5)


def new_order(product_ids: list[int]) -> dict[str, object]:
    lines = sorted(random.sample(product_ids, 2))
    return {"items": [{"product_id": p, "quantity": 1 + p % 3} for p in lines]}


# --- one fault, one app -------------------------------------------------------------------------------


@dataclass
class Result:
    app: str
    fault: str
    statuses: collections.Counter[int | str]
    worst_seconds: float
    worst_healthz_seconds: float
    placed_during_fault: int | None  # for a fault that lasts
    recovery_seconds: float | None
    failures: list[str]


def run_fault(app: AppServer, db: Postgres, fault: str) -> Result:
    """A shopper per customer of ``app`` for ``BEFORE + FAULT + AFTER`` seconds, the fault in the middle."""
    until = time.monotonic() + BEFORE_SECONDS + FAULT_SECONDS + AFTER_SECONDS
    results: list[list[Outcome]] = [[] for _ in app.customers]

    def shop(n: int) -> None:
        results[n] = shopper(app.url, app.customers[n], app.product_ids, until)

    healthz: list[float] = []
    threads = [threading.Thread(target=shop, args=(n,)) for n in range(len(app.customers))]
    threads.append(threading.Thread(target=watch_healthz, args=(app.url, until, healthz)))
    for thread in threads:
        thread.start()
    time.sleep(BEFORE_SECONDS)
    inject, lasts = FAULTS[fault]
    with inject(db, app):
        time.sleep(FAULT_SECONDS if lasts else 0)
    fault_ended = time.monotonic()
    for thread in threads:
        thread.join()
    outcomes = [outcome for shopper_outcomes in results for outcome in shopper_outcomes]
    placed = [o for o in outcomes if o.status == 201]
    placed_during = (
        sum(fault_ended - FAULT_SECONDS <= o.ended <= fault_ended for o in placed) if lasts else None
    )
    placed_after = [o.ended for o in placed if o.started >= fault_ended]
    failures = [
        f"{o.status} {o.problem_type}"
        for o in outcomes
        if isinstance(o.status, int) and o.status not in ALLOWED | {502}
    ]
    failures += [
        "503 without a service-unavailable problem and Retry-After"
        for o in outcomes
        if o.status == 503 and not (str(o.problem_type).endswith("/service-unavailable") and o.retry_after)
    ]
    if fault != "kill-worker":  # a killed process cannot answer what it was serving: dropped, or nginx's 502
        failures += [f"dropped connection ({o.status})" for o in outcomes if isinstance(o.status, str)]
        failures += ["502 from the proxy" for o in outcomes if o.status == 502]
    if (worst := max(o.seconds for o in outcomes)) > ANSWER_BOUND_SECONDS:
        failures.append(f"an answer took {worst:.1f} s")
    if not placed_after:
        failures.append("no order was placed after the fault ended")
    worst_healthz = max(healthz)
    if fault == "slow-clients" and worst_healthz > HEALTHZ_BOUND_SECONDS:
        failures.append(f"/healthz took {worst_healthz:.1f} s")
    return Result(
        app=app.name,
        fault=fault,
        statuses=collections.Counter(o.status for o in outcomes),
        worst_seconds=worst,
        worst_healthz_seconds=worst_healthz,
        placed_during_fault=placed_during,
        recovery_seconds=min(placed_after) - fault_ended if placed_after else None,
        failures=failures,
    )


# --- main ---------------------------------------------------------------------------------------------


def prepare(app: AppServer, deployment: Deployment, clients: int) -> None:
    """Products with plenty of stock, and one customer (an ``Authorization`` header) per shopper, kept on
    ``app``."""
    with Api(app.name, dataclasses.replace(deployment, _url_for=lambda name: app.url)) as api:
        app.product_ids = [api.create_product(stock=STOCK)["id"] for _ in range(PRODUCTS)]
        app.customers = [api.new_customer().auth for _ in range(clients)]


def report(results: list[Result]) -> None:
    columns = [
        "app",
        "fault",
        "responses by status",
        "orders placed during it",
        "worst latency",
        "worst /healthz",
    ]
    print("\n| " + " | ".join([*columns, "recovery"]) + " |")
    print("| --- " * (len(columns) + 1) + "|")
    for r in results:
        statuses = ", ".join(f"{count}x {status}" for status, count in sorted(r.statuses.items(), key=str))
        cells = [
            r.app,
            r.fault,
            statuses,
            "-" if r.placed_during_fault is None else str(r.placed_during_fault),
            f"{r.worst_seconds:.1f} s",
            f"{r.worst_healthz_seconds:.1f} s",
            f"{r.recovery_seconds:.1f} s" if r.recovery_seconds is not None else "never",
        ]
        print("| " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.run", description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=sorted(TARGETS), action="append", help="default: both")
    parser.add_argument("--fault", choices=list(FAULTS), action="append", help="default: all")
    parser.add_argument("--clients", type=int, default=8, help="concurrent shoppers (default 8)")
    parser.add_argument(
        "--no-proxy", action="store_true", help="serve the Flask app without nginx in front (to compare)"
    )
    parser.add_argument(
        "--source", type=Path, default=ROOT, help="run the apps from this checkout (e.g. an older release)"
    )
    args = parser.parse_args(argv)
    results, failed = [], []
    with local_stack() as deployment:
        if deployment.database_url is None or deployment.app_database_url is None:
            raise RuntimeError("the local stack always knows its database")
        db = Postgres(deployment.database_url)
        env = {
            **os.environ,
            "DATABASE_URL": deployment.app_database_url,
            "SHOP_ADMIN_EMAIL": deployment.admin_email,
            "SHOP_ADMIN_PASSWORD": deployment.admin_password,
            "SHOP_SESSION_SECRET": SESSION_SECRET,
            "SHOP_OUTBOX_RELAY_SECONDS": str(deployment.relay_seconds),
        }
        logs = Path(db.data_directory).parent
        for app_name in args.app or list(TARGETS):
            proxied = app_name == "flask" and not args.no_proxy
            with serve(app_name, env, logs, args.source.resolve(), proxied) as app:
                prepare(app, deployment, args.clients)
                for fault in args.fault or list(FAULTS):
                    print(f"chaos: {app_name}, {fault}", flush=True)
                    result = run_fault(app, db, fault)
                    results.append(result)
                    failed += [f"{app_name}, {fault}: {failure}" for failure in sorted(set(result.failures))]
                failed += [
                    f"{app_name}: {failure}"
                    for failure in check_database(
                        db.url, app.product_ids, stock=STOCK, wait_seconds=3 * deployment.relay_seconds + 10
                    )
                ]
    report(results)
    print("\nchaos: " + ("FAILED\n  " + "\n  ".join(failed) if failed else "every check passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
