"""Where the apps under test run: the ``local``, ``containers`` and ``url`` stacks.

A stack gives the tests a base URL per app, the admin's credentials and, where it can, a database URL (for
the few tests that must age a row, e.g. expire a token). Apps are started lazily, one at a time, so
``-k fastapi`` starts only the FastAPI server. The local stack can also put PgBouncer in transaction mode
between the apps and PostgreSQL (``--pooler pgbouncer``).

To add an app, add an :class:`AppTarget` to ``TARGETS``; every test then runs against it too.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import docker
import httpx
import port_for
import pytest
from mirakuru import HTTPExecutor, TCPExecutor
from mirakuru.exceptions import AlreadyRunning, ProcessExitedWithError, TimeoutExpired
from pytest_postgresql.executors import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.container import DockerContainer
from testcontainers.core.image import DockerImage
from testcontainers.core.network import Network

ROOT = Path(__file__).resolve().parent.parent
ADMIN_EMAIL = "admin@contract-tests.example"
ADMIN_PASSWORD = "contract-tests-admin-password"  # only ever used for a throwaway cluster
CORS_ORIGIN = "https://allowed.example"
START_TIMEOUT_SECONDS = 60
STACKS = ("auto", "local", "containers", "url")
POOLERS = ("none", "pgbouncer")
POSTGRES_IMAGE = "postgres:17-bookworm"  # as in docker-compose.yml
# The pods' securityContext (k8s/base) as `docker run` options: --read-only --cap-drop ALL
# --security-opt no-new-privileges --user 10001:10001 (the image's user); plus --tmpfs /tmp (in _container)
POD_SECURITY: dict[str, Any] = {
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "user": "10001:10001",
}


@dataclass(frozen=True)
class AppTarget:
    """One implementation of the contract and how to serve it on 127.0.0.1 as a real server process."""

    name: str
    command: Callable[[int], list[str]]


TARGETS: dict[str, AppTarget] = {
    "fastapi": AppTarget(
        "fastapi",
        lambda port: [
            sys.executable, "-m", "uvicorn", "fastapi_shop.main:app",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        ],
    ),
    "flask": AppTarget(
        "flask",
        lambda port: [
            sys.executable, "-m", "gunicorn", "-c", "flask_shop/gunicorn.conf.py",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "8", "flask_shop:create_app()",
        ],
    ),
}  # fmt: skip


@dataclass
class Deployment:
    """What the tests know about the system under test."""

    admin_email: str
    admin_password: str
    database_url: str | None = None  # None: tests that need the database directly are skipped
    # the DATABASE_URL the apps themselves use (through the pooler, if any, and as the apps' network names
    # it), e.g. to start a variant on another database of the same server; None: the stack does not know it
    app_database_url: str | None = None
    cors_origin: str | None = None  # an origin the apps allow; None: CORS tests are skipped
    _url_for: Callable[[str], str] = field(default=lambda name: "", repr=False)
    # starts one more instance of an app with changed settings; None: tests that need it are skipped
    start_variant: Callable[[str, dict[str, str]], contextlib.AbstractContextManager[str]] | None = None

    def url(self, app: str) -> str:
        """Base URL of ``app`` (e.g. ``http://127.0.0.1:41234``), starting it if the stack does that."""
        return self._url_for(app)


# --- stack: url ---------------------------------------------------------------------------------------------


def url_app_names(config: pytest.Config) -> list[str]:
    return [name for name in TARGETS if _given_url(config, name)]


def _given_url(config: pytest.Config, app: str) -> str | None:
    value = config.getoption(f"--{app}-url", None) or os.environ.get(f"SHOP_{app.upper()}_URL")
    return str(value).rstrip("/") if value else None


@contextlib.contextmanager
def url_stack(config: pytest.Config) -> Iterator[Deployment]:
    """Running deployments (e.g. ``docker compose up``); admin credentials from the environment."""
    email, password = os.environ.get("SHOP_ADMIN_EMAIL"), os.environ.get("SHOP_ADMIN_PASSWORD")
    if not (email and password):
        raise pytest.UsageError(
            "--stack url needs SHOP_ADMIN_EMAIL and SHOP_ADMIN_PASSWORD of the deployment"
        )

    def url_for(app: str) -> str:
        url = _given_url(config, app)
        assert url is not None
        return url

    yield Deployment(
        admin_email=email,
        admin_password=password,
        database_url=os.environ.get("SHOP_TEST_DATABASE_URL"),
        app_database_url=os.environ.get("SHOP_TEST_APP_DATABASE_URL"),
        cors_origin=os.environ.get("SHOP_TEST_CORS_ORIGIN"),
        _url_for=url_for,
    )


# --- stack: containers --------------------------------------------------------------------------------------


@functools.cache
def docker_answers() -> bool:
    """Whether a Docker engine answers (``auto`` then picks the containers stack)."""
    try:
        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def containers_stack() -> Iterator[Deployment]:
    """PostgreSQL from testcontainers' module and each app's image built from the repo's ``Dockerfile``, on
    one Docker network. The first app started also migrates and seeds (a one-shot container of its image).
    Images are kept (tagged ``shop-<app>:contract-tests``), so later runs reuse Docker's build cache.
    Everything else is removed at the end, also when starting fails."""
    with contextlib.ExitStack() as stack:
        network = stack.enter_context(Network())
        postgres = stack.enter_context(
            PostgresContainer(POSTGRES_IMAGE, username="shop", password="shop", dbname="shop", driver=None)
            .with_network(network)
            .with_network_aliases("db")
        )
        env = {
            "DATABASE_URL": "postgresql://shop:shop@db:5432/shop",
            "SHOP_ADMIN_EMAIL": ADMIN_EMAIL,
            "SHOP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "CORS_ORIGINS": CORS_ORIGIN,
            "SHOP_OUTBOX_RELAY_SECONDS": "2",
        }
        servers = stack.enter_context(_AppContainers(network, env))
        yield Deployment(
            admin_email=ADMIN_EMAIL,
            admin_password=ADMIN_PASSWORD,
            database_url=postgres.get_connection_url(driver=None),
            app_database_url=env["DATABASE_URL"],
            cors_origin=CORS_ORIGIN,
            _url_for=servers.url,
            start_variant=servers.variant,
        )


class _AppContainers:
    """Builds and starts each app's container on first use; migrates once; stops them all at exit."""

    def __init__(self, network: Network, env: dict[str, str]) -> None:
        self.network = network
        self.env = env
        self.urls: dict[str, str] = {}
        self.stack = contextlib.ExitStack()
        self.migrated = False

    def url(self, app: str) -> str:
        if app not in self.urls:
            image = self._image(app)
            if not self.migrated:
                self._migrate(image)
            self.urls[app] = self._start(image, self.env, probe="/readyz")
        return self.urls[app]

    @contextlib.contextmanager
    def variant(self, app: str, env: dict[str, str]) -> Iterator[str]:
        """Another container of ``app`` with ``env`` on top, waited on at ``/healthz`` (may be unready)."""
        with contextlib.ExitStack() as stack:
            yield self._start(self._image(app), {**self.env, **env}, probe="/healthz", stack=stack)

    def _image(self, app: str) -> str:
        tag = f"shop-{app}:contract-tests"
        DockerImage(path=ROOT, tag=tag, target=app, clean_up=False).build()
        return tag

    def _migrate(self, image: str) -> None:
        with self._container(image, self.env).with_command(
            ["sh", "-c", "python -m shared.db upgrade && python -m shared.db seed"]
        ) as migrate:
            result = migrate.get_wrapped_container().wait(timeout=START_TIMEOUT_SECONDS)
            if result["StatusCode"] != 0:
                logs = b"".join(migrate.get_logs()).decode(errors="replace")
                raise RuntimeError(f"migrate and seed failed:\n{logs[-4000:]}")
        self.migrated = True

    def _start(
        self, image: str, env: dict[str, str], *, probe: str, stack: contextlib.ExitStack | None = None
    ) -> str:
        container = (stack or self.stack).enter_context(self._container(image, env).with_exposed_ports(8000))
        url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(8000)}"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + probe, timeout=2).status_code == 200:
                    return url
            container.get_wrapped_container().reload()
            if container.get_wrapped_container().status == "exited":
                break
            time.sleep(0.5)
        logs = b"".join(container.get_logs()).decode(errors="replace")
        raise RuntimeError(f"{image} did not answer {probe}:\n{logs[-4000:]}")

    def _container(self, image: str, env: dict[str, str]) -> DockerContainer:
        """A container of ``image`` locked down as the Kubernetes pods are (k8s/base), so that a change which
        needs a writable root, root itself or a capability fails here first."""
        container = (
            DockerContainer(image, **POD_SECURITY)
            .with_tmpfs_mount("/tmp")  # noqa: S108  # the pods' emptyDir on /tmp
            .with_network(self.network)
        )
        for key, value in env.items():
            container = container.with_env(key, value)
        return container

    def __enter__(self) -> _AppContainers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stack.close()


# --- stack: local -------------------------------------------------------------------------------------------


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
            servers = stack.enter_context(_AppServers(env, workdir))
            yield Deployment(
                admin_email=ADMIN_EMAIL,
                admin_password=ADMIN_PASSWORD,
                database_url=database_url,
                app_database_url=env["DATABASE_URL"],
                cors_origin=CORS_ORIGIN,
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
    pg_ctl = _find_pg_ctl()
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


def _find_pg_ctl() -> str:
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
    127.0.0.1), so PgBouncer needs no password file. PgBouncer refuses to run as root, like PostgreSQL: as
    root it runs as the ``postgres`` system user, which owns ``workdir`` by then.
    """
    server = urlsplit(database_url)
    port = port_for.select_random()
    config = workdir / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
* = host={server.hostname} port={server.port} user=postgres

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
        try:
            executor.start()
        except (TimeoutExpired, ProcessExitedWithError, AlreadyRunning) as exc:
            raise RuntimeError(f"PgBouncer did not start:\n{_tail(log_path)}") from exc
        try:
            yield server._replace(netloc=f"postgres@127.0.0.1:{port}").geturl()
        finally:
            executor.stop()


def _find_pgbouncer() -> str:
    """``pgbouncer`` from ``PATH`` or ``/usr/sbin`` (Debian puts it there, often not on a user's ``PATH``)."""
    for candidate in (shutil.which("pgbouncer"), "/usr/sbin/pgbouncer"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise pytest.UsageError(
        "--pooler pgbouncer needs PgBouncer (Debian/Ubuntu: `sudo apt-get install pgbouncer`; "
        "macOS: `brew install pgbouncer`)"
    )


class _AppServers:
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
        try:
            executor.start()
        except (TimeoutExpired, ProcessExitedWithError, AlreadyRunning) as exc:
            raise RuntimeError(f"{target.name} did not start:\n{_tail(log_path)}") from exc
        return executor, url

    def __enter__(self) -> _AppServers:
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


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path.name})"
