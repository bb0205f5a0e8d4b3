"""The two apps publish one contract: their OpenAPI documents, each generated the way its framework does it
(FastAPI from the routes and Pydantic models; Flask through flask-smorest, apispec and marshmallow), mean the
same thing (:mod:`contract_tests.openapi` says what counts).
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from contract_tests.client import Api
from contract_tests.conformance import NonConformingResponse
from contract_tests.openapi import differences, meaning


@pytest.fixture(scope="module")
def documents(fastapi_and_flask: tuple[Api, Api]) -> tuple[dict[str, Any], dict[str, Any]]:
    fastapi, flask = (api.http.get("/openapi.json") for api in fastapi_and_flask)
    assert fastapi.status_code == flask.status_code == 200
    return fastapi.json(), flask.json()


def test_both_documents_mean_the_same(documents: tuple[dict[str, Any], dict[str, Any]]) -> None:
    fastapi, flask = documents
    found = differences(meaning(fastapi), meaning(flask))
    assert found == [], "FastAPI's document (first) and Flask's (second) differ:\n" + "\n".join(found)


def test_every_operation_has_an_id_and_every_answer_its_members_required(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """What a generated client needs: a name for each operation, and members it may rely on in each 2xx body,
    nested objects included (a member left out of ``required`` becomes optional in the client's model)."""
    for document in documents:
        said = meaning(document)
        assert all(operation["operationId"] for operation in said["operations"].values())
        pending = [
            schema
            for operation in said["operations"].values()
            for status, response in operation["responses"].items()
            if status.startswith("2")
            for schema in response["content"].values()
        ]
        seen: set[str] = set()
        while pending:
            schema = pending.pop()
            if "$ref" in schema:
                if schema["$ref"] not in seen:
                    seen.add(schema["$ref"])
                    pending.append(said["schemas"][schema["$ref"]])
                continue
            if "properties" in schema:
                assert schema.get("required") == sorted(schema["properties"]), schema
                pending.extend(schema["properties"].values())
            if "items" in schema:
                pending.append(schema["items"])
        assert {"Order", "OrderItem", "OrderPage", "Product", "ProductPage", "User", "Token"} <= seen


def _drop_required_member(document: dict[str, Any]) -> None:
    document["components"]["schemas"]["Order"]["required"].remove("confirmed_at")


def _widen_a_bound(document: dict[str, Any]) -> None:
    (limit,) = [p for p in document["paths"]["/api/v1/orders"]["get"]["parameters"] if p["name"] == "limit"]
    limit["schema"]["maximum"] += 1


def _rename_an_operation(document: dict[str, Any]) -> None:
    document["paths"]["/api/v1/orders"]["post"]["operationId"] = "create_order"


def _drop_a_header(document: dict[str, Any]) -> None:
    del document["paths"]["/api/v1/orders"]["post"]["responses"]["201"]["headers"]["Location"]


def _reword(document: dict[str, Any]) -> None:  # words only: no difference
    document["paths"]["/api/v1/orders"]["post"]["description"] = "Other words."
    document["components"]["schemas"]["Order"]["title"] = "Another title"


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        (_drop_required_member, True),
        (_widen_a_bound, True),
        (_rename_an_operation, True),
        (_drop_a_header, True),
        (_reword, False),
    ],
)
def test_the_comparison_sees_a_change_in_meaning_and_only_that(
    documents: tuple[dict[str, Any], dict[str, Any]], change: Any, differs: bool
) -> None:
    for document in documents:
        changed = copy.deepcopy(document)
        change(changed)
        assert bool(differences(meaning(document), meaning(changed))) == differs


def test_the_document_is_valid_openapi_3_1(api: Api) -> None:
    document = api.http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1.")
    validate(document)  # openapi-spec-validator: the OpenAPI 3.1 schema, and every $ref resolves


def test_every_answer_is_checked_against_the_apps_document(api: Api) -> None:
    """The suite's client checks each answer (contract_tests/conformance.py); it does so here, and it refuses
    what the document does not allow."""
    before = api.conformance.checked
    assert api.http.get("/api/v1/products", params={"limit": 1}).status_code == 200
    assert api.conformance.checked == before + 1

    products = httpx.Request("GET", f"{api.base_url}/api/v1/products")
    with pytest.raises(NonConformingResponse, match="answered 200"):  # a page without its members
        api.conformance(httpx.Response(200, json={"items": "none"}, request=products))
    with pytest.raises(NonConformingResponse, match="answered 418"):  # a status the operation does not have
        api.conformance(httpx.Response(418, json={}, request=products))
    nowhere = httpx.Request("GET", f"{api.base_url}/api/v1/nowhere")
    api.conformance(httpx.Response(404, text="not the document's to describe", request=nowhere))
