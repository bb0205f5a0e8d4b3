"""Command-line options of the contract suite (pytest only reads options from the root conftest).

``--stack {auto,local,containers,url}`` (env ``SHOP_TEST_STACK``, default ``auto``) picks where the apps run;
``--pooler {none,pgbouncer}`` (env ``SHOP_TEST_POOLER``, default ``none``) puts PgBouncer in transaction mode
between the apps and PostgreSQL on the local stack; ``--fastapi-url`` (env ``SHOP_FASTAPI_URL``) and friends
give running apps to ``--stack url``. See ``contract_tests/README.md``.
"""

from __future__ import annotations

import os

import pytest

from contract_tests.stacks import POOLERS, STACKS, TARGETS

# the contract suite's browser, page and screenshots fixtures (pytest takes plugins from the root conftest)
pytest_plugins = ["contract_tests.browser"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shop contract tests")
    group.addoption(
        "--stack",
        choices=STACKS,
        default=os.environ.get("SHOP_TEST_STACK", "auto"),
        help="where the apps run: local (throwaway PostgreSQL + server processes), containers "
        "(testcontainers: PostgreSQL + images built from the Dockerfile), url (running deployments), "
        "auto (containers when a Docker engine answers, else local). Env: SHOP_TEST_STACK",
    )
    group.addoption(
        "--pooler",
        choices=POOLERS,
        default=os.environ.get("SHOP_TEST_POOLER", "none"),
        help="what the apps connect through: none (PostgreSQL directly) or pgbouncer (PgBouncer in "
        "transaction mode, apps with SHOP_DB_TRANSACTION_POOLER=true; --stack local only). "
        "Env: SHOP_TEST_POOLER",
    )
    for app in TARGETS:
        group.addoption(f"--{app}-url", help=f"base URL of a running {app} app, for --stack url")
