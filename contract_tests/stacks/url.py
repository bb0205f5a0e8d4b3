"""The ``url`` stack: deployments that are already running, e.g. ``docker compose up``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from contract_tests.stacks import TARGETS, Deployment


def url_app_names(config: pytest.Config) -> list[str]:
    """The apps given a URL (``--<app>-url`` or ``SHOP_<APP>_URL``), in ``TARGETS`` order."""
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
        relay_seconds=int(os.environ.get("SHOP_TEST_RELAY_SECONDS", "30")),
        trusts_forwarded_for=os.environ.get("SHOP_TEST_TRUSTS_FORWARDED_FOR") == "1",
        proxied=frozenset(filter(None, os.environ.get("SHOP_TEST_PROXIED", "").split(","))),
        _url_for=url_for,
    )
