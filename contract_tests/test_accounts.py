"""Accounts: register, tokens (OAuth2 password grant), logout, /users/me."""

from __future__ import annotations

import psycopg
import pytest

from contract_tests.client import PASSWORD, TIMESTAMP, Api, Customer, assert_invalid, assert_problem, unique


def test_register_returns_the_user_without_secrets(api: Api) -> None:
    local = unique("Reg-")
    response = api.register(email=local + "@Example.COM", full_name="Grace Hopper", expect=201)
    user = response.json()
    assert set(user) == {"id", "email", "full_name", "is_admin", "created_at"}
    assert user["email"] == local + "@example.com"  # normalized: the domain in lower case, the rest as sent
    assert user["full_name"] == "Grace Hopper"
    assert user["is_admin"] is False
    assert TIMESTAMP.match(user["created_at"])


def test_an_email_is_taken_in_any_letter_case(api: Api) -> None:
    email = unique("taken-") + "@example.com"
    api.register(email=email, expect=201)
    assert_problem(api.register(email=email.upper(), expect=409), 409, "email-taken")


def test_password_length_is_8_to_128(api: Api) -> None:
    assert_invalid(api.register(password="7 chars", expect=422), pointer="/password")
    assert_invalid(api.register(password="x" * 129, expect=422), pointer="/password")
    api.register(password="x" * 128, expect=201)


def test_an_invalid_email_is_rejected(api: Api) -> None:
    assert_invalid(api.register(email="no-at-sign.example.com", expect=422), pointer="/email")


@pytest.mark.parametrize(
    "template",
    [
        "{},victim@example.com",  # in a To: header, a comma starts a second mailbox
        "{};x@example.com",
        '"{} quoted"@example.com',
        "Eve <{}@example.com>",
        "{}@[192.0.2.1]",
    ],
)
def test_an_address_that_is_not_one_plain_mailbox_is_rejected(api: Api, template: str) -> None:
    email = template.format(unique("m"))
    assert_invalid(api.register(email=email, expect=422), pointer="/email")
    # and nothing was registered under any spelling of it
    assert_problem(api.token(email, PASSWORD, expect=401), 401)


# Greek capital alpha and sigma; small alpha and final sigma; the Turkish dotted capital I
CAPITAL_ALPHA_SIGMA, SMALL_ALPHA_FINAL_SIGMA, DOTTED_CAPITAL_I = "\u0391\u03a3", "\u03b1\u03c2", "\u0130"


@pytest.mark.parametrize(
    ("registered", "other_spelling"),
    [
        (CAPITAL_ALPHA_SIGMA + "{}@example.com", SMALL_ALPHA_FINAL_SIGMA + "{}@example.com"),
        ("stra\u00dfe{}@example.com", "STRASSE{}@example.com"),  # the sharp s folds to "ss"
        ("{}@Example.COM", "{}@example.com"),
    ],
)
def test_one_account_answers_to_every_caseless_spelling_of_its_address(
    api: Api, registered: str, other_spelling: str
) -> None:
    name = unique("k")
    api.register(email=registered.format(name), expect=201)
    assert_problem(api.register(email=other_spelling.format(name), expect=409), 409, "email-taken")
    for spelling in (registered, other_spelling):
        api.token(spelling.format(name), PASSWORD, expect=200)


def test_a_dotted_capital_i_and_a_plain_i_are_two_accounts(api: Api) -> None:
    # the dotted capital I folds to "i" followed by a combining dot above (U+0307), not to "i"
    name = unique("")
    dotted, plain = f"{DOTTED_CAPITAL_I}{name}@example.com", f"i{name}@example.com"
    api.register(email=dotted, password="dotted password", expect=201)
    api.register(email=plain, password="plain password", expect=201)
    api.token(dotted, "dotted password", expect=200)
    api.token(plain, "plain password", expect=200)
    assert_problem(api.token(plain, "dotted password", expect=401), 401)


def test_token_is_an_oauth2_bearer_token(api: Api, customer: Customer) -> None:
    response = api.token(customer.email.upper(), customer.password, expect=200)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    assert len(body["access_token"]) >= 43  # 32 random bytes, base64url


def test_wrong_password_is_401_with_bearer_challenge(api: Api, customer: Customer) -> None:
    response = api.token(customer.email, "not the password", expect=401)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_user_is_401(api: Api) -> None:
    response = api.token(unique("ghost-") + "@example.com", PASSWORD, expect=401)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_me_returns_the_callers_account(api: Api, customer: Customer) -> None:
    response = api.http.get("/api/v1/users/me", headers=customer.auth)
    assert response.status_code == 200
    me = response.json()
    assert set(me) == {"id", "email", "full_name", "is_admin", "created_at"}
    assert (me["id"], me["email"]) == (customer.id, customer.email)


def test_me_without_a_token_is_401(api: Api) -> None:
    response = api.http.get("/api/v1/users/me")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer"],
    ids=["unknown-bearer-token", "basic-credentials", "bearer-without-token"],
)
def test_an_unknown_token_is_401(api: Api, header: str) -> None:
    response = api.http.get("/api/v1/users/me", headers={"Authorization": header})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_logout_revokes_the_token(api: Api, customer: Customer) -> None:
    response = api.http.post("/api/v1/auth/logout", headers=customer.auth)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(api.http.get("/api/v1/users/me", headers=customer.auth), 401)


def test_logout_leaves_other_tokens_working(api: Api, customer: Customer) -> None:
    second = api.token(customer.email, customer.password, expect=200).json()["access_token"]
    assert api.http.post("/api/v1/auth/logout", headers=customer.auth).status_code == 204
    response = api.http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {second}"})
    assert response.status_code == 200


def test_an_expired_token_is_401(api: Api, customer: Customer, database_url: str) -> None:
    assert api.http.get("/api/v1/users/me", headers=customer.auth).status_code == 200
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE auth_tokens SET expires_at = now() - interval '1 second' WHERE user_id = %s",
            (customer.id,),
        )
    assert_problem(api.http.get("/api/v1/users/me", headers=customer.auth), 401)


def test_no_cookie_is_ever_set(api: Api) -> None:
    email = unique("cookie-") + "@example.com"
    responses = [api.register(email=email, expect=201), issued := api.token(email, PASSWORD, expect=200)]
    auth = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    responses += [
        api.http.get("/api/v1/users/me", headers=auth),
        api.http.post("/api/v1/auth/logout", headers=auth),
        api.token(email, "wrong password", expect=401),
    ]
    for response in responses:
        assert "set-cookie" not in response.headers, response.request.url
