"""Contract suite wiring: pick a stack, then run every test once per app (``test_x[fastapi]``, ...).

The command-line options are declared in the root ``conftest.py`` (pytest reads options only from there).
The containers stack's module is imported only where that stack may be used (``auto`` asks it whether
Docker answers): it loads Docker's client and testcontainers, which the other stacks do without.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract_tests.client import Api, Customer
from contract_tests.stacks import POOLERS, STACKS, TARGETS, Deployment
from contract_tests.stacks.local import local_stack
from contract_tests.stacks.url import url_app_names, url_stack


def _stack(config: pytest.Config) -> str:
    """The stack to run on (``auto`` resolved), checked against the pooler asked for."""
    stack = str(config.getoption("--stack"))
    if stack not in STACKS:
        raise pytest.UsageError(f"--stack must be one of {', '.join(STACKS)}, not {stack!r}")
    if stack == "auto":
        from contract_tests.stacks.containers import docker_answers  # see the module docstring

        stack = "containers" if docker_answers() else "local"
    pooler = str(config.getoption("--pooler"))
    if pooler not in POOLERS:
        raise pytest.UsageError(f"--pooler must be one of {', '.join(POOLERS)}, not {pooler!r}")
    if pooler != "none" and stack != "local":
        raise pytest.UsageError(f"--pooler {pooler} runs on --stack local only, not on the {stack} stack")
    return stack


def _apps(config: pytest.Config) -> list[str]:
    if _stack(config) != "url":
        return list(TARGETS)
    apps = url_app_names(config)
    if not apps:
        raise pytest.UsageError("--stack url needs --fastapi-url and/or --flask-url")
    return apps


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``app`` with every app the stack serves, and ``pair`` with every ordered pair of them."""
    apps = _apps(metafunc.config)
    if "app" in metafunc.fixturenames:
        metafunc.parametrize("app", apps, scope="session")
    if "pair" in metafunc.fixturenames:  # cross-app tests; skipped when the stack serves one app
        pairs = [(a, b) for a in apps for b in apps if a != b]
        metafunc.parametrize("pair", pairs, ids=[f"{a}->{b}" for a, b in pairs], scope="session")


@pytest.fixture(scope="session")
def deployment(pytestconfig: pytest.Config) -> Iterator[Deployment]:
    stack = _stack(pytestconfig)
    if stack == "url":
        with url_stack(pytestconfig) as deployed:
            yield deployed
    elif stack == "containers":
        from contract_tests.stacks.containers import containers_stack  # see the module docstring

        with containers_stack() as deployed:
            yield deployed
    else:
        with local_stack(pooler=str(pytestconfig.getoption("--pooler"))) as deployed:
            yield deployed


@pytest.fixture(scope="session")
def api(app: str, deployment: Deployment) -> Iterator[Api]:
    """A client for one app (the test id says which)."""
    with Api(app, deployment) as client:
        yield client


@pytest.fixture(scope="session")
def apis(deployment: Deployment) -> Iterator[dict[str, Api]]:
    """A client per app, for tests that talk to several apps on one database."""
    clients: dict[str, Api] = {}
    try:
        yield clients
    finally:
        for client in clients.values():
            client.http.close()


@pytest.fixture
def first_and_second(pair: tuple[str, str], apis: dict[str, Api], deployment: Deployment) -> tuple[Api, Api]:
    """Clients of two different apps on the same database (``pair`` says which, in which order)."""
    for app in pair:
        if app not in apis:
            apis[app] = Api(app, deployment)
    return apis[pair[0]], apis[pair[1]]


@pytest.fixture(scope="session")
def fastapi_and_flask(
    pytestconfig: pytest.Config, apis: dict[str, Api], deployment: Deployment
) -> tuple[Api, Api]:
    """Clients of both apps on one database, for tests that compare their answers; skipped unless the
    stack serves both."""
    if set(_apps(pytestconfig)) != {"fastapi", "flask"}:
        pytest.skip("comparing the apps needs a stack that serves both")
    for app in ("fastapi", "flask"):
        if app not in apis:
            apis[app] = Api(app, deployment)
    return apis["fastapi"], apis["flask"]


@pytest.fixture
def customer(api: Api) -> Customer:
    """A newly registered customer with a token, on the app under test (``api``; the cross-app tests make
    it the first app of the pair). The one way a test gets its customer; a test that needs more than one
    makes the others with ``api.new_customer()``."""
    return api.new_customer()


@pytest.fixture
def database_url(deployment: Deployment) -> str:
    """The database behind the apps, for tests that must change what HTTP cannot (e.g. age a token)."""
    if deployment.database_url is None:
        pytest.skip("this stack gives no database access (set SHOP_TEST_DATABASE_URL)")
    return deployment.database_url
