"""The OpenAPI document: served publicly, valid 3.1, and describing exactly the app's routes."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from app import app
from chalicelib.domain.geo.geojson import MAX_BUFFER_M, MAX_RADIUS_M, MAX_VERTICES, MIN_BUFFER_M
from chalicelib.handlers.openapi import document

METHODS = {"get", "put", "post", "delete", "patch"}


def _served(client: Client) -> dict[str, Any]:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    served: dict[str, Any] = json.loads(response.body)
    return served


def test_the_document_is_served_without_signing_and_is_valid_openapi_3_1(client: Client) -> None:
    spec = _served(client)
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises on anything the 3.1 schema refuses


def test_the_validator_would_notice_a_broken_document() -> None:
    broken = {**document(), "paths": {"/x": {"get": {"responses": {"200": {}}}}}}
    try:
        validate(broken)
    except OpenAPIValidationError:
        return
    raise AssertionError("a response without a description passed as OpenAPI 3.1")


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    routes = {(path, method.lower()) for path, by in app.routes.items() for method in by}
    documented = {
        (path, method)
        for path, item in document()["paths"].items()
        for method in item
        if method in METHODS
    }
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented routes the app does not have"


def test_iam_routes_require_sigv4_and_public_ones_do_not() -> None:
    paths = document()["paths"]
    for path, by in app.routes.items():
        for method, entry in by.items():
            security = paths[path][method.lower()]["security"]
            assert ({"sigv4": []} in security) == (entry.authorizer is not None), (method, path)


def test_ranges_come_from_the_validators_constants() -> None:
    schemas = document()["components"]["schemas"]
    circle = schemas["Circle"]
    assert circle["properties"]["radius_m"]["maximum"] == MAX_RADIUS_M
    assert circle["additionalProperties"] is False
    corridor = schemas["Corridor"]["properties"]
    assert corridor["buffer_m"]["minimum"] == MIN_BUFFER_M
    assert corridor["buffer_m"]["maximum"] == MAX_BUFFER_M
    assert corridor["coordinates"]["maxItems"] == MAX_VERTICES
    assert schemas["Polygon"]["properties"]["coordinates"]["items"]["maxItems"] == MAX_VERTICES + 1
