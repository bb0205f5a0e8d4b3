"""A typed client generated from each app's OpenAPI document works against that app.

What the API's consumers do: openapi-python-client turns ``/openapi.json`` into a package of attrs models
and one function per operation (named by its ``operationId``). The test generates it into a temporary
folder (nothing generated is committed; the README shows the command) and walks through a customer's
visit with it: register, log in, browse, place an order, replay it, read it, list, cancel, and an error.
Each answer must parse into the model its document promises, with the client raising on any status the
document does not list.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from contract_tests.client import PASSWORD, Api, unique

# the generator's options: a package name of its own per app (both are imported in one process), and no
# formatting pass (it would run ruff from PATH on the generated code)
CONFIG = "package_name_override: {package}\nproject_name_override: {package}\npost_hooks: []\n"


@pytest.fixture(scope="module")
def generated(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package generated from the app's document, imported."""
    folder = tmp_path_factory.mktemp(f"client-{api.name}")
    package = f"shop_client_{api.name}"
    document = folder / "openapi.json"
    document.write_bytes(api.http.get("/openapi.json").raise_for_status().content)
    (folder / "config.yaml").write_text(CONFIG.format(package=package))
    generator = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document),
         "--output-path", str(folder / package), "--config", str(folder / "config.yaml"), "--meta", "none"],
        check=False, capture_output=True, text=True, cwd=folder,
    )  # fmt: skip
    assert generator.returncode == 0, generator.stdout + generator.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
            del sys.modules[name]


def operation(client_package: ModuleType, tag: str, operation_id: str) -> Any:
    """The generated module of one operation: ``api/<tag>/<operationId>.py``."""
    return importlib.import_module(f"{client_package.__name__}.api.{tag}.{operation_id}")


def models(client_package: ModuleType) -> Any:
    return importlib.import_module(f"{client_package.__name__}.models")


def test_a_generated_client_walks_through_an_order(api: Api, generated: ModuleType) -> None:
    model = models(generated)
    anonymous = generated.Client(base_url=api.base_url, raise_on_unexpected_status=True)

    email = unique("generated-") + "@example.com"
    registered = operation(generated, "accounts", "register").sync_detailed(
        client=anonymous, body=model.UserCreate(email=email, password=PASSWORD, full_name="Grace Hopper")
    )
    assert registered.status_code == 201
    assert isinstance(registered.parsed, model.User)
    assert registered.parsed.email == email

    token = operation(generated, "accounts", "issue_token").sync_detailed(
        client=anonymous, body=model.TokenRequest(username=email, password=PASSWORD)
    )
    assert token.status_code == 200
    assert isinstance(token.parsed, model.Token)
    assert token.parsed.token_type == "bearer"
    customer = generated.AuthenticatedClient(
        base_url=api.base_url, token=token.parsed.access_token, raise_on_unexpected_status=True
    )

    me = operation(generated, "accounts", "read_me").sync_detailed(client=customer)
    assert isinstance(me.parsed, model.User)
    assert me.parsed.id == registered.parsed.id

    product = api.create_product(stock=5)
    page = operation(generated, "catalog", "list_products").sync_detailed(client=anonymous, limit=2)
    assert isinstance(page.parsed, model.ProductPage)
    assert page.parsed.limit == 2
    assert all(isinstance(item, model.Product) for item in page.parsed.items)
    read = operation(generated, "catalog", "get_product").sync_detailed(
        client=anonymous, product_id=product["id"]
    )
    assert isinstance(read.parsed, model.Product)
    assert read.parsed.stock == 5

    place = operation(generated, "orders", "place_order")
    order_in = model.OrderCreate(items=[model.OrderLine(product_id=product["id"], quantity=2)])
    key = unique("generated-key-")
    placed = place.sync_detailed(client=customer, body=order_in, idempotency_key=key)
    assert placed.status_code == 201
    assert isinstance(placed.parsed, model.Order)
    assert placed.parsed.status == model.OrderStatus.PENDING
    assert placed.parsed.total_cents == 2 * read.parsed.price_cents
    assert placed.headers["Location"] == f"/api/v1/orders/{placed.parsed.id}"

    replayed = place.sync_detailed(client=customer, body=order_in, idempotency_key=key)
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert isinstance(replayed.parsed, model.Order)
    assert replayed.parsed.id == placed.parsed.id

    got = operation(generated, "orders", "get_order").sync_detailed(
        client=customer, order_id=placed.parsed.id
    )
    assert isinstance(got.parsed, model.Order)
    assert [item.quantity for item in got.parsed.items] == [2]
    listed = operation(generated, "orders", "list_orders").sync_detailed(client=customer)
    assert isinstance(listed.parsed, model.OrderPage)
    assert [order.id for order in listed.parsed.items] == [placed.parsed.id]

    cancel_order = operation(generated, "orders", "cancel_order")
    cancelled = cancel_order.sync_detailed(client=customer, order_id=placed.parsed.id)
    assert isinstance(cancelled.parsed, model.Order)
    assert cancelled.parsed.status == model.OrderStatus.CANCELLED

    again = operation(generated, "orders", "cancel_order").sync_detailed(
        client=customer, order_id=placed.parsed.id
    )
    assert again.status_code == 409
    assert isinstance(again.parsed, model.ProblemDetails)
    assert again.parsed.type_ == "https://shop.example/problems/order-not-cancellable"
    assert again.parsed.additional_properties == {}  # order-not-cancellable has no extension members

    invalid = place.sync_detailed(client=customer, body=model.OrderCreate(items=[]))
    assert invalid.status_code == 422
    assert isinstance(invalid.parsed, model.ValidationProblem)
    assert [error.pointer for error in invalid.parsed.errors] == ["/items"]
