"""The OpenAPI document: served publicly, valid 3.1, and describing exactly the app's routes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from app import app
from chalicelib.domain import devices as device_rules
from chalicelib.domain import requests as dispatch_rules
from chalicelib.domain import signup as signup_rules
from chalicelib.domain.geo import geojson as area_rules
from chalicelib.domain.geo.geojson import MAX_BUFFER_M, MAX_RADIUS_M, MAX_VERTICES, MIN_BUFFER_M
from chalicelib.domain.outlines import MUNICIPALITY_FIELDS
from chalicelib.handlers.openapi import document
from chalicelib.handlers.openapi.common import request_object

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


def test_iam_routes_require_sigv4_people_routes_cognito_and_public_ones_neither() -> None:
    paths = document()["paths"]
    for path, by in app.routes.items():
        for method, entry in by.items():
            security = paths[path][method.lower()]["security"]
            kind = type(entry.authorizer).__name__
            assert ({"sigv4": []} in security) == (kind == "IAMAuthorizer"), (method, path)
            people = kind == "CognitoUserPoolAuthorizer"
            assert (security == [{"cognito": []}]) == people, (method, path)


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


BODY = "requestBody/content/application~1json/schema"
SCHEMAS = "/components/schemas"
PLACES = "properties/places/items/oneOf"
# Every closed request schema, by JSON pointer, and the tuple its validator hands check_fields.
REQUEST_FIELDS: dict[str, tuple[str, ...]] = {
    f"{SCHEMAS}/Circle": area_rules.CIRCLE_FIELDS,
    f"{SCHEMAS}/Polygon": area_rules.POLYGON_FIELDS,
    f"{SCHEMAS}/Corridor": area_rules.CORRIDOR_FIELDS,
    f"{SCHEMAS}/ActionRequest": dispatch_rules.ACTION_FIELDS,
    f"{SCHEMAS}/UpdateRequest": dispatch_rules.UPDATE_FIELDS,
    f"{SCHEMAS}/CloseRequest": dispatch_rules.CLOSE_FIELDS,
    f"/paths/~1reach/post/{BODY}": dispatch_rules.REACH_FIELDS,
    f"{SCHEMAS}/SightingRequest": device_rules.SIGHTING_FIELDS,
    f"{SCHEMAS}/DeviceRequest": device_rules.DEVICE_FIELDS,
    f"{SCHEMAS}/Location": device_rules.LOCATION_FIELDS,
    f"{SCHEMAS}/MunicipalityRequest": MUNICIPALITY_FIELDS,
    f"{SCHEMAS}/SignupRequest": signup_rules.SIGNUP_FIELDS,
    f"{SCHEMAS}/PhoneRequest": signup_rules.PHONE_FIELDS,
    f"{SCHEMAS}/Preferences": signup_rules.PREFERENCES_FIELDS,
    **{
        f"{SCHEMAS}/{name}/{PLACES}/0": signup_rules.ADDRESS_FIELDS
        for name in ("SignupRequest", "Preferences")
    },
    **{
        f"{SCHEMAS}/{name}/{PLACES}/1": signup_rules.POINT_FIELDS
        for name in ("SignupRequest", "Preferences")
    },
    **{
        f"{SCHEMAS}/{name}/properties/quiet_hours": signup_rules.QUIET_HOURS_FIELDS
        for name in ("SignupRequest", "Preferences")
    },
    **{
        f"/paths/{path}/post/{BODY}": (id_field, *signup_rules.CODE_FIELDS)
        for path, id_field in (
            ("~1signup~1verify", "signup_id"),
            ("~1participants~1login~1verify", "login_id"),
            ("~1unsubscribe~1confirm", "unsubscribe_id"),
        )
    },
}


def closed_request_schemas(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every schema with additionalProperties false that a request body uses, by JSON pointer."""
    found: dict[str, dict[str, Any]] = {}

    def walk(schema: dict[str, Any], pointer: str) -> None:
        if "$ref" in schema:
            target = schema["$ref"].removeprefix("#")
            name = target.removeprefix(f"{SCHEMAS}/")
            walk(spec["components"]["schemas"][name], target)
            return
        if schema.get("additionalProperties") is False:
            found[pointer] = schema
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{pointer}/properties/{name}")
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{pointer}/items")
        for key in ("oneOf", "anyOf", "allOf", "prefixItems"):
            for i, sub in enumerate(schema.get(key, [])):
                walk(sub, f"{pointer}/{key}/{i}")

    for path, item in spec["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                escaped = path.replace("~", "~0").replace("/", "~1")
                walk(content["application/json"]["schema"], f"/paths/{escaped}/{method}/{BODY}")
    return found


def test_each_closed_request_schema_takes_exactly_its_validators_fields() -> None:
    closed = closed_request_schemas(document())
    assert set(closed) == set(REQUEST_FIELDS), "a closed request schema without its tuple"
    for pointer, fields in REQUEST_FIELDS.items():
        assert list(closed[pointer]["properties"]) == list(fields), pointer


def test_a_schema_cannot_be_built_with_fields_its_validator_refuses() -> None:
    with pytest.raises(ValueError, match="not the fields"):
        request_object(("lat", "lon"), {"lat": {}, "lon": {}, "alt": {}})


def test_list_routes_document_the_query_parameters_their_validator_takes() -> None:
    paths = document()["paths"]
    listed = [p["name"] for p in paths["/actions"]["get"]["parameters"]]
    assert listed == [*dispatch_rules.LIST_FIELDS, *dispatch_rules.PAGE_FIELDS]
    sightings = paths["/actions/{action_id}/sightings"]["get"]["parameters"]
    assert [p["name"] for p in sightings if p["in"] == "query"] == list(dispatch_rules.PAGE_FIELDS)
