"""The ``local`` stack: a throwaway PostgreSQL cluster and each app as a server process on this machine.

Needs the PostgreSQL server binaries (and PgBouncer for ``--pooler pgbouncer``), no Docker.
:func:`throwaway_postgres` is public: the tests of ``shared/`` start their cluster with it too.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from glob import glob
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import port_for
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
    ``SHOP_DB_TRANSACTION_POOLER=true``. The migration (its session-level advisory lock needs a session of
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


class AppServers:
    """Starts each app on first use on a free port, waits for ``/readyz``, stops them all at exit."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.urls: dict[str, str] = {}
        self.executors: list[HTTPExecutor] = []
        self.logs: list[IO[bytes]] = []

    def url(self, app: str) -> str:
        if app not in self.urls:
            executor, self.urls[app] = self._start(TARGETS[app], self.env, probe="/readyz", log_name=app)
            self.executors.append(executor)
        return self.urls[app]

    @contextlib.contextmanager
    def variant(self, app: str, env: dict[str, str]) -> Iterator[str]:
        """Another instance of ``app`` with ``env`` on top, waited for on ``/healthz`` (it may be unready)."""
        executor, url = self._start(
            TARGETS[app], {**self.env, **env}, probe="/healthz", log_name=f"{app}-variant"
        )
        try:
            yield url
        finally:
            executor.stop()

    def _start(
        self, target: AppTarget, env: dict[str, str], *, probe: str, log_name: str
    ) -> tuple[HTTPExecutor, str]:
        port = port_for.select_random()
        url = f"http://127.0.0.1:{port}"
        log_path = self.workdir / f"{log_name}.log"
        log = log_path.open("wb")
        self.logs.append(log)
        executor = HTTPExecutor(
            target.command(port),
            url=url + probe,
            method="GET",
            status=200,
            timeout=START_TIMEOUT_SECONDS,
            cwd=str(ROOT),
            envvars=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _start_executor(executor, target.name, log_path)
        return executor, url

    def __enter__(self) -> AppServers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for executor in self.executors:
            executor.stop()
        for log in self.logs:
            log.close()


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
