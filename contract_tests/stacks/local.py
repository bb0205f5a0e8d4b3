"""The ``local`` stack: a throwaway PostgreSQL cluster and each app as a server process on this machine.

Needs the PostgreSQL server binaries (and PgBouncer for ``--pooler pgbouncer``), no Docker.
:func:`throwaway_postgres` is public: the tests of ``shared/`` start their cluster with it too, and ``make
chaos`` and ``make bench`` serve the apps with :func:`serve_app` and find PostgreSQL's processes with
:func:`postmaster` and :func:`postgres_processes`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from urllib.parse import urlsplit

import port_for
import psutil
import psycopg
import pytest
from mirakuru import HTTPExecutor, SimpleExecutor, TCPExecutor
from mirakuru.exceptions import AlreadyRunning, ProcessExitedWithError, TimeoutExpired
from pytest_postgresql.executors import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from contract_tests.stacks import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CORS_ORIGIN,
    ROOT,
    SESSION_SECRET,
    START_TIMEOUT_SECONDS,
    TARGETS,
    AppTarget,
    Deployment,
)
from shared.config import Settings


@contextlib.contextmanager
def local_stack(pooler: str = "none") -> Iterator[Deployment]:
    """A throwaway PostgreSQL cluster, migrated and seeded, and each app as a server process on it.

    With ``pooler="pgbouncer"`` the apps connect through PgBouncer in transaction mode, with
    ``SHOP_DB_TRANSACTION_POOLER=true``, and their live order sockets' listener connects past it
    (``SHOP_LISTEN_DATABASE_URL``). The migration (its session-level advisory lock needs a session of
    its own), the seed and the tests' own queries still connect to PostgreSQL directly.
    """
    pgbouncer = _find_pgbouncer() if pooler == "pgbouncer" else None  # before anything starts
    workdir = Path(tempfile.mkdtemp(prefix="shop-contract-"))
    try:
        with contextlib.ExitStack() as stack:
            database_url = stack.enter_context(throwaway_postgres(workdir))
            env = {
                "DATABASE_URL": database_url,
                "SHOP_ADMIN_EMAIL": ADMIN_EMAIL,
                "SHOP_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "CORS_ORIGINS": CORS_ORIGIN,
                "SHOP_OUTBOX_RELAY_SECONDS": "2",
                "LOG_LEVEL": "INFO",
            }
            for step in ("upgrade", "seed"):
                _run([sys.executable, "-m", "shared.db", step], env, workdir / f"{step}.log")
            if pgbouncer is not None:
                env["DATABASE_URL"] = stack.enter_context(_pgbouncer(pgbouncer, database_url, workdir))
                env["SHOP_DB_TRANSACTION_POOLER"] = "true"
                env["SHOP_LISTEN_DATABASE_URL"] = database_url  # LISTEN needs a session: past the pooler
            servers = stack.enter_context(AppServers(env, workdir))
            yield Deployment(
                admin_email=ADMIN_EMAIL,
                admin_password=ADMIN_PASSWORD,
                database_url=database_url,
                app_database_url=env["DATABASE_URL"],
                cors_origin=CORS_ORIGIN,
                relay_seconds=int(env["SHOP_OUTBOX_RELAY_SECONDS"]),
                trusts_forwarded_for=True,  # the apps' default FORWARDED_ALLOW_IPS is the loopback
                _url_for=servers.url,
                start_variant=servers.variant,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def throwaway_postgres(workdir: Path) -> Iterator[str]:
    """Start a cluster with pytest-postgresql's executor; yields a ``postgresql://`` URL to database ``shop``.

    PostgreSQL refuses to run as root. When the tests run as root (CI containers do), pg_ctl is run as the
    ``postgres`` system user through a tiny wrapper, on a work directory that user owns.
    """
    pg_ctl = find_pg_ctl()
    if os.geteuid() == 0:
        pg_ctl = _pg_ctl_as_postgres_user(pg_ctl, workdir)
    port = port_for.select_random()
    executor = PostgreSQLExecutor(
        executable=pg_ctl,
        host="127.0.0.1",
        port=port,
        datadir=str(workdir / "data"),
        unixsocketdir=str(workdir),
        logfile=str(workdir / "postgresql.log"),
        startparams="-w",
        dbname="shop",
        user="postgres",
        # a throwaway cluster: durability buys nothing here, speed does
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    )
    try:
        executor.start()
    except Exception as exc:
        raise RuntimeError(f"PostgreSQL did not start:\n{_tail(workdir / 'postgresql.log')}") from exc
    try:
        DatabaseJanitor(user="postgres", host="127.0.0.1", port=port, dbname="shop").init()
        yield f"postgresql://postgres@127.0.0.1:{port}/shop"
    finally:
        executor.stop()


def find_pg_ctl() -> str:
    """``pg_ctl`` from ``$PG_CTL``, ``PATH`` or the Debian/Ubuntu layout (newest version first)."""
    debian = sorted(
        glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]), reverse=True
    )
    candidates = [os.environ.get("PG_CTL"), shutil.which("pg_ctl"), *debian]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise pytest.UsageError(
        "--stack local needs the PostgreSQL server binaries (pg_ctl, initdb, postgres), version 14 or newer. "
        "Install them (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql`), "
        "point PG_CTL at pg_ctl, or use --stack containers (Docker) or --stack url."
    )


def _pg_ctl_as_postgres_user(pg_ctl: str, workdir: Path) -> str:
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        raise pytest.UsageError(
            "running as root, but there is no `postgres` system user to run PostgreSQL as "
            "(installing the postgresql package creates it)"
        ) from None
    os.chown(workdir, postgres.pw_uid, postgres.pw_gid)
    wrapper = workdir / "pg_ctl-as-postgres"
    # cd /: the postgres user may not be allowed into the current directory
    wrapper.write_text(f'#!/bin/sh\ncd / && exec runuser -u postgres -- "{pg_ctl}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@contextlib.contextmanager
def _pgbouncer(pgbouncer: str, database_url: str, workdir: Path) -> Iterator[str]:
    """Start PgBouncer in transaction mode in front of the cluster at ``database_url``; yields the
    ``postgresql://`` URL of the same database through it.

    The ``*`` entry makes every database of the cluster reachable, logged in as ``postgres`` (trusted on
    127.0.0.1), so PgBouncer needs no password file. Its ``connect_query`` gives each server connection the
    session settings the apps cannot send through a transaction pooler (:meth:`Settings.session_settings`).
    PgBouncer refuses to run as root, like PostgreSQL: as root it runs as the ``postgres`` system user, which
    owns ``workdir`` by then.
    """
    server = urlsplit(database_url)
    port = port_for.select_random()
    config = workdir / "pgbouncer.ini"
    session_settings = "; ".join(
        f"SET {name} = {value}" for name, value in Settings().session_settings().items()
    )
    config.write_text(
        f"""[databases]
* = host={server.hostname} port={server.port} user=postgres connect_query='{session_settings}'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
pool_mode = transaction
auth_type = any
; more server connections than the apps' own pools hold (the race tests fill them), so no transaction
; waits for one; fewer than PostgreSQL's max_connections (100), so the direct connections still fit
max_client_conn = 500
default_pool_size = 60
"""
    )
    command = [pgbouncer, str(config)]  # in the foreground, logging to stderr
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    log_path = workdir / "pgbouncer.log"
    with log_path.open("wb") as log:
        executor = TCPExecutor(
            command,
            host="127.0.0.1",
            port=port,
            timeout=START_TIMEOUT_SECONDS,
            cwd=str(workdir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _start_executor(executor, "PgBouncer", log_path)
        try:
            yield server._replace(netloc=f"postgres@127.0.0.1:{port}").geturl()
        finally:
            executor.stop()


def find_daemon(name: str) -> str | None:
    """The program ``name`` from ``PATH`` or ``/usr/sbin`` (Debian puts daemons such as PgBouncer and nginx
    there, often not on a user's ``PATH``); ``None`` if it is in neither."""
    for candidate in (shutil.which(name), f"/usr/sbin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _find_pgbouncer() -> str:
    if found := find_daemon("pgbouncer"):
        return found
    raise pytest.UsageError(
        "--pooler pgbouncer needs PgBouncer (Debian/Ubuntu: `sudo apt-get install pgbouncer`; "
        "macOS: `brew install pgbouncer`)"
    )


@dataclass(frozen=True)
class AppProcess:
    """An app's server process started by :func:`serve_app`."""

    name: str
    url: str
    pid: int  # the server's master: uvicorn's or gunicorn's
    startup_seconds: float  # from the process's start to the first 200 from the probe

    def workers(self) -> list[psutil.Process]:
        """The worker processes that serve requests: the master's children, less the resource tracker that
        uvicorn's multiprocessing start leaves."""
        children = psutil.Process(self.pid).children()
        return [child for child in children if "resource_tracker" not in " ".join(child.cmdline())]


@contextlib.contextmanager
def serve_app(
    target: AppTarget,
    env: dict[str, str],
    log_path: Path,
    *,
    probe: str = "/readyz",
    extra_args: Sequence[str] = (),
    source: Path = ROOT,
    poll_seconds: float = 0.1,
) -> Iterator[AppProcess]:
    """``target``'s server on a free port of 127.0.0.1, waited for until ``probe`` answers ``200`` (polled
    every ``poll_seconds``), stopped at exit. ``env`` goes on top of this process's environment; the server
    logs to ``log_path``. ``source`` is the checkout whose apps it runs (another one, to compare releases).

    Raises ``RuntimeError`` with the tail of the log if it does not answer within
    ``START_TIMEOUT_SECONDS``.
    """
    port = port_for.select_random()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        executor = HTTPExecutor(
            [*target.command(port), *extra_args],
            url=url + probe,
            method="GET",
            status=200,
            timeout=START_TIMEOUT_SECONDS,
            sleep=poll_seconds,
            cwd=str(source),
            envvars={**env, "PYTHONPATH": str(source)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started = time.perf_counter()
        _start_executor(executor, target.name, log_path)
        try:
            pid = executor.process.pid  # type: ignore[union-attr]
            yield AppProcess(target.name, url, pid, time.perf_counter() - started)
        finally:
            executor.stop()


def postmaster(database_url: str) -> psutil.Process:
    """The postmaster of the PostgreSQL server behind ``database_url``, which must run on this machine: the
    first line of ``postmaster.pid`` in its data directory. A restart makes another one."""
    with psycopg.connect(database_url) as connection:
        data_directory = connection.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
    return psutil.Process(int(Path(data_directory, "postmaster.pid").read_text().split()[0]))


def postgres_processes(server: psutil.Process) -> list[psutil.Process]:
    """A :func:`postmaster` and its children as they are now (backends come and go with connections)."""
    return [server, *server.children(recursive=True)]


class AppServers:
    """Starts each app on first use (:func:`serve_app`), and stops them all at exit. Both apps refuse to
    start without ``SHOP_SESSION_SECRET``: ``env`` may name one, else the stacks' own is used."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = {"SHOP_SESSION_SECRET": SESSION_SECRET, **env}
        self.workdir = workdir
        self.urls: dict[str, str] = {}
        self.servers = contextlib.ExitStack()

    def url(self, app: str) -> str:
        if app not in self.urls:
            server = serve_app(TARGETS[app], self.env, self.workdir / f"{app}.log")
            self.urls[app] = self.servers.enter_context(server).url
        return self.urls[app]

    @contextlib.contextmanager
    def variant(self, app: str, env: dict[str, str]) -> Iterator[str]:
        """Another instance of ``app`` with ``env`` on top, waited for on ``/healthz`` (it may be unready)."""
        log_path = self.workdir / f"{app}-variant.log"
        with serve_app(TARGETS[app], {**self.env, **env}, log_path, probe="/healthz") as server:
            yield server.url

    def __enter__(self) -> AppServers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.servers.close()


def _run(command: list[str], env: dict[str, str], log_path: Path) -> None:
    with log_path.open("wb") as log:
        result = subprocess.run(
            command, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:])} failed:\n{_tail(log_path)}")


def _start_executor(executor: SimpleExecutor, name: str, log_path: Path) -> None:
    """Start ``executor`` and wait until it answers; if it does not, raise with the tail of its log."""
    try:
        executor.start()
    except (TimeoutExpired, ProcessExitedWithError, AlreadyRunning) as exc:
        raise RuntimeError(f"{name} did not start:\n{_tail(log_path)}") from exc


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path.name})"
