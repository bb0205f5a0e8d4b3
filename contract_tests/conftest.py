"""Contract suite wiring: pick a stack, then run every test once per app (``test_x[fastapi]``, ...).

The command-line options are declared in the root ``conftest.py`` (pytest reads options only from there).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract_tests import stacks
from contract_tests.client import Api, Customer


def _stack(config: pytest.Config) -> str:
    stack = str(config.getoption("--stack"))
    if stack not in stacks.STACKS:
        raise pytest.UsageError(f"--stack must be one of {', '.join(stacks.STACKS)}, not {stack!r}")
    return "local" if stack == "auto" else stack


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the ``app`` fixture with every app the stack serves."""
    if "app" in metafunc.fixturenames:
        if _stack(metafunc.config) == "url":
            apps = stacks.url_app_names(metafunc.config)
            if not apps:
                raise pytest.UsageError("--stack url needs --fastapi-url and/or --flask-url")
        else:
            apps = list(stacks.TARGETS)
        metafunc.parametrize("app", apps, scope="session")


@pytest.fixture(scope="session")
def deployment(pytestconfig: pytest.Config) -> Iterator[stacks.Deployment]:
    if _stack(pytestconfig) == "url":
        with stacks.url_stack(pytestconfig) as deployed:
            yield deployed
    else:
        with stacks.local_stack() as deployed:
            yield deployed


@pytest.fixture(scope="session")
def api(app: str, deployment: stacks.Deployment) -> Iterator[Api]:
    """A client for one app (the test id says which)."""
    with Api(app, deployment) as client:
        yield client


@pytest.fixture
def customer(api: Api) -> Customer:
    """A freshly registered user with a token."""
    return api.new_customer()


@pytest.fixture
def database_url(deployment: stacks.Deployment) -> str:
    """The database behind the apps, for tests that must change what HTTP cannot (e.g. age a token)."""
    if deployment.database_url is None:
        pytest.skip("this stack gives no database access (set SHOP_TEST_DATABASE_URL)")
    return deployment.database_url
