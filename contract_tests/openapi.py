"""What an OpenAPI document says, without how it is written: for comparing the two apps' documents.

:func:`meaning` keeps every operation (its ``operationId``, tags, security, parameters with their location,
``required`` and schema, request body, and each response's status, media types, headers and schemas) and
every component schema (properties, types, formats, bounds, enums, ``required`` lists, nullability). It drops
what documents a thing rather than defining it: descriptions, summaries, titles and examples. And it writes
the few things the two generators render differently, but that mean the same, one way
(:data:`RENDERINGS`); anything else that differs is a difference in meaning.
"""

from __future__ import annotations

import json
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
WORDING = frozenset({"description", "summary", "title", "example", "examples"})

# Renderings that cannot be aligned at the source, each written one way here (``_schema``):
RENDERINGS = {
    # Pydantic writes a one-value Literal as {"const": x}; marshmallow's OneOf([x]), through apispec, as
    # {"enum": [x]}. Both allow exactly x.
    "const": 'written as {"enum": [x]}',
    # Pydantic writes Optional[X] as {"anyOf": [X, {"type": "null"}]}; apispec, for OpenAPI 3.1, as X with
    # "null" added to its type list. Both allow X or null.
    "nullable": 'written as X with "null" in a sorted type list',
    # Pydantic makes every Enum class a component of its own and refers to it; apispec writes a marshmallow
    # Enum field's values inline. A reference to a component that is only an enum is written inline, and such
    # components are not compared by themselves.
    "enum components": "inlined",
}


def meaning(document: dict[str, Any]) -> dict[str, Any]:
    """The document reduced to what it means (the module docstring), as plain JSON-like data."""
    components = document.get("components", {})
    enums = {
        name: schema
        for name, schema in components.get("schemas", {}).items()
        if "enum" in schema and "properties" not in schema
    }
    normalize = _Normalizer(document, enums)
    operations = {}
    for path, item in document["paths"].items():
        shared_parameters = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                operations[f"{method.upper()} {path}"] = normalize.operation(item[method], shared_parameters)
    return {
        "operations": operations,
        "schemas": {
            name: normalize.schema(schema)
            for name, schema in components.get("schemas", {}).items()
            if name not in enums
        },
        "security_schemes": components.get("securitySchemes", {}),
    }


def differences(first: Any, second: Any, path: str = "") -> list[str]:
    """Every place where ``first`` and ``second`` (two :func:`meaning` results) differ, one line each."""
    if isinstance(first, dict) and isinstance(second, dict):
        found = []
        for key in sorted(first.keys() | second.keys()):
            where = f"{path}/{key}"
            if key not in second:
                found.append(f"{where}: only in the first: {_short(first[key])}")
            elif key not in first:
                found.append(f"{where}: only in the second: {_short(second[key])}")
            else:
                found.extend(differences(first[key], second[key], where))
        return found
    return [] if first == second else [f"{path}: {_short(first)} != {_short(second)}"]


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


class _Normalizer:
    def __init__(self, document: dict[str, Any], enums: dict[str, Any]) -> None:
        self.document = document
        self.enums = enums

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """A ``$ref`` to a reusable response, parameter or header, replaced by what it refers to."""
        while "$ref" in node and not node["$ref"].startswith("#/components/schemas/"):
            _, _, kind, name = node["$ref"].split("/")
            node = self.document["components"][kind][name]
        return node

    def operation(self, operation: dict[str, Any], shared_parameters: list[Any]) -> dict[str, Any]:
        parameters = {}
        for parameter in map(self.resolve, [*shared_parameters, *operation.get("parameters", [])]):
            parameters[f"{parameter['in']} {parameter['name']}"] = {
                "required": parameter.get("required", False),
                "schema": self.schema(parameter.get("schema", {})),
            }
        body = operation.get("requestBody")
        return {
            "operationId": operation.get("operationId"),
            "tags": operation.get("tags", []),
            "security": operation.get("security"),
            "parameters": parameters,
            "requestBody": None
            if body is None
            else {"required": body.get("required", False), "content": self.content(self.resolve(body))},
            "responses": {
                status: self.response(self.resolve(r)) for status, r in operation["responses"].items()
            },
        }

    def content(self, message: dict[str, Any]) -> dict[str, Any]:
        """Each media type of a request or response body, with its schema."""
        return {
            media_type: self.schema(content.get("schema", {}))
            for media_type, content in message.get("content", {}).items()
        }

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        headers = {}
        for name, header in response.get("headers", {}).items():
            header = self.resolve(header)
            headers[name.lower()] = {  # field names are case-insensitive (RFC 9110 §5.1)
                "required": header.get("required", False),
                "schema": self.schema(header.get("schema", {})),
            }
        return {"content": self.content(response), "headers": headers}

    def schema(self, schema: Any) -> Any:
        if isinstance(schema, list):
            return [self.schema(item) for item in schema]
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema:
            name = schema["$ref"].rpartition("/")[2]
            return self.schema(self.enums[name]) if name in self.enums else {"$ref": name}
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in WORDING:
                continue
            if key == "properties":
                out[key] = {name: self.schema(member) for name, member in value.items()}
            elif key == "required":
                out[key] = sorted(value)
            else:
                out[key] = self.schema(value)
        if "const" in out:  # RENDERINGS["const"]
            out["enum"] = [out.pop("const")]
        return _nullable(out)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """RENDERINGS["nullable"]: X or null, written as X with a sorted type list that has "null"."""
    variants = schema.get("anyOf")
    if isinstance(variants, list) and {"type": "null"} in variants and len(variants) == 2:
        (other,) = [variant for variant in variants if variant != {"type": "null"}]
        rest = {key: value for key, value in schema.items() if key != "anyOf"}
        schema = {**rest, **other, "type": [other.get("type"), "null"]}
    if isinstance(schema.get("type"), list):
        schema["type"] = sorted(schema["type"])
    return schema
