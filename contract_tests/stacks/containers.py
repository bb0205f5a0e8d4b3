"""The ``containers`` stack: PostgreSQL and each app's image, built from the repository's ``Dockerfile``, on
one Docker network, with testcontainers. The only module of the suite that imports Docker's client.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from typing import Any

import docker
import httpx
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.container import DockerContainer
from testcontainers.core.image import DockerImage
from testcontainers.core.network import Network

from contract_tests.stacks import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CORS_ORIGIN,
    ROOT,
    SESSION_SECRET,
    START_TIMEOUT_SECONDS,
    Deployment,
)

POSTGRES_IMAGE = "postgres:17-bookworm"  # as in docker-compose.yml
# The pods' securityContext (k8s/base) as `docker run` options: --read-only --cap-drop ALL
# --security-opt no-new-privileges --user 10001:10001 (the image's user); plus --tmpfs /tmp (in _container)
POD_SECURITY: dict[str, Any] = {
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "user": "10001:10001",
}


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
            "SHOP_SESSION_SECRET": SESSION_SECRET,
            "CORS_ORIGINS": CORS_ORIGIN,
            "SHOP_OUTBOX_RELAY_SECONDS": "2",
            "FORWARDED_ALLOW_IPS": "*",  # the tests reach the containers through Docker's gateway
        }
        servers = stack.enter_context(_AppContainers(network, env))
        yield Deployment(
            admin_email=ADMIN_EMAIL,
            admin_password=ADMIN_PASSWORD,
            database_url=postgres.get_connection_url(driver=None),
            app_database_url=env["DATABASE_URL"],
            cors_origin=CORS_ORIGIN,
            relay_seconds=int(env["SHOP_OUTBOX_RELAY_SECONDS"]),
            trusts_forwarded_for=True,
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
