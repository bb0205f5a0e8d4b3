"""Login throttling (``shared/domain/logins.py``): failed logins delay further attempts, per account
from one client address and per client address, with ``429 login-throttled`` and ``Retry-After``.

The apps' defaults: from the 5th failure of an account from one address on, attempts wait 1 s, then 2,
4, ...; per address, from the 100th failure (a variant app lowers that to 3 here). Tests that log in from
more than one address send ``X-Forwarded-For``, which the stacks' apps trust (``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from contract_tests.client import PASSWORD, Api, Customer, assert_problem, unique
from contract_tests.conformance import checked_client
from contract_tests.stacks import Deployment

FREE_FAILURES_PER_ACCOUNT = 5  # the apps' default SHOP_LOGIN_FAILURES_PER_ACCOUNT
WRONG = "not the password"


def client_address() -> str:
    """A new address in the IPv6 documentation prefix (RFC 3849), for one test's client."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def login(http: httpx.Client, email: str, password: str, address: str) -> httpx.Response:
    """``POST /auth/token`` as a client at ``address``."""
    form = {"username": email, "password": password}
    return http.post("/api/v1/auth/token", data=form, headers={"X-Forwarded-For": address})


def assert_throttled(response: httpx.Response) -> int:
    """Assert a ``429 login-throttled`` problem with a whole-seconds ``Retry-After``; returns it."""
    assert_problem(response, 429, "login-throttled")
    retry_after = response.headers.get("Retry-After", "")
    assert retry_after.isdigit(), response.headers
    assert int(retry_after) >= 1
    assert "WWW-Authenticate" not in response.headers  # not a challenge: the credentials were not checked
    return int(retry_after)


def require_addresses(deployment: Deployment) -> None:
    if not deployment.trusts_forwarded_for:
        pytest.skip("the apps do not take the tests' X-Forwarded-For as their client address")


def test_repeated_failures_are_throttled_and_a_success_resets_the_count(
    api: Api, customer: Customer, deployment: Deployment
) -> None:
    require_addresses(deployment)
    address = client_address()
    for _ in range(FREE_FAILURES_PER_ACCOUNT):
        assert_problem(login(api.http, customer.email, WRONG, address), 401)
    # blocked: even the right password is refused, unchecked
    retry_after = assert_throttled(login(api.http, customer.email, customer.password, address))
    assert retry_after <= 2
    # refused attempts are not counted: had these four lengthened the block, it would now be 16 s or more
    for _ in range(4):
        assert_throttled(login(api.http, customer.email, WRONG, address))
    time.sleep(retry_after)
    assert login(api.http, customer.email, customer.password, address).status_code == 200
    # the success reset the count: the free failures are free again, and the password still works
    for _ in range(FREE_FAILURES_PER_ACCOUNT - 1):
        assert_problem(login(api.http, customer.email, WRONG, address), 401)
    assert login(api.http, customer.email, customer.password, address).status_code == 200


def test_an_attacker_cannot_lock_the_account_holder_out(
    api: Api, customer: Customer, deployment: Deployment
) -> None:
    """Failures from the attacker's address block that address only (OWASP: no lockout anyone can
    trigger); the holder, from their own address, logs in as usual."""
    require_addresses(deployment)
    attacker, holder = client_address(), client_address()
    for _ in range(FREE_FAILURES_PER_ACCOUNT + 1):
        login(api.http, customer.email, WRONG, attacker)
    assert_throttled(login(api.http, customer.email, WRONG, attacker))
    assert login(api.http, customer.email, customer.password, holder).status_code == 200
    assert_throttled(
        login(api.http, customer.email, customer.password, attacker)
    )  # the success reset only its pair


def test_unknown_accounts_are_throttled_like_known_ones(api: Api, deployment: Deployment) -> None:
    """Else a 429 would tell an attacker which addresses are registered."""
    require_addresses(deployment)
    address, ghost = client_address(), unique("ghost-") + "@example.com"
    for _ in range(FREE_FAILURES_PER_ACCOUNT):
        assert_problem(login(api.http, ghost, PASSWORD, address), 401)
    assert_throttled(login(api.http, ghost, PASSWORD, address))


def test_one_address_failing_on_many_accounts_is_throttled(
    app: str, customer: Customer, deployment: Deployment
) -> None:
    """Credential stuffing: one password per account, many accounts, one address."""
    require_addresses(deployment)
    if deployment.start_variant is None:
        pytest.skip("this stack cannot start an app with other settings")
    stuffer, other = client_address(), client_address()
    with (
        deployment.start_variant(app, {"SHOP_LOGIN_FAILURES_PER_ADDRESS": "3"}) as url,
        checked_client(url) as variant,
    ):
        for _ in range(3):
            assert_problem(login(variant, unique("victim-") + "@example.com", PASSWORD, stuffer), 401)
        # a fresh account, even with its right password: the address is blocked
        assert_throttled(login(variant, customer.email, customer.password, stuffer))
        assert login(variant, customer.email, customer.password, other).status_code == 200
