"""Building blocks of the OpenAPI document: shared schemas, security, errors and operations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain.geo.service_area import SERVICE_AREA
from chalicelib.domain.requests import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT

Schema = dict[str, Any]
(LAT_LO, LAT_HI), (LON_LO, LON_HI) = SERVICE_AREA["lat"], SERVICE_AREA["lon"]
LAT = {"type": "number", "minimum": LAT_LO, "maximum": LAT_HI}
LON = {"type": "number", "minimum": LON_LO, "maximum": LON_HI}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
NULLABLE_TEXT = {"type": ["string", "null"]}
IAM: list[dict[str, list[str]]] = [{"sigv4": []}]
DEVICE_SECRET: list[dict[str, list[str]]] = [{"deviceSecret": []}]
BEARER: list[dict[str, list[str]]] = [
    {"bearer": []}
]  # `Authorization: Bearer <token>` from POST /participants/login/verify


def ref(name: str) -> Schema:
    """A reference to a schema among the components."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, Schema], required: tuple[str, ...] = (), closed: bool = True) -> Schema:
    """An object schema; `closed` where the validator refuses unknown fields (unknown_field)."""
    schema: Schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def request_object(
    fields: Sequence[str], props: Mapping[str, Schema], required: tuple[str, ...] = ()
) -> Schema:
    """A request object taking exactly `fields`, the tuple its validator hands check_fields."""
    if set(props) != set(fields):
        raise ValueError(f"the schema's properties {sorted(props)} are not the fields {fields}")
    return obj({field: props[field] for field in fields}, required)


def json_answer(schema: Schema, description: str, headers: Schema | None = None) -> Schema:
    """A response with a JSON body."""
    answer: Schema = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def error(description: str) -> Schema:
    """A response in the API's one error shape."""
    return {"$ref": "#/components/responses/Error", "description": description}


def op(
    summary: str,
    responses: dict[str, Schema],
    *,
    security: list[dict[str, list[str]]] | None = None,
    body: Schema | None = None,
    parameters: list[Schema] | None = None,
) -> Schema:
    """One operation. Every one may answer a 4xx in the error shape (415 for a body not declared
    as JSON, 413 for one too large, ...); the listed codes are the ones worth documenting."""
    operation: Schema = {
        "summary": summary,
        "security": security or [],
        "responses": {**responses, "4XX": error("Refused; `error` says why.")},
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if parameters:
        operation["parameters"] = parameters
    return operation


def path_parameter(name: str, description: str) -> Schema:
    """A path parameter: an id of 1-64 characters."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    }


def header_parameter(name: str, description: str, required: bool = True) -> Schema:
    """A request header."""
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_LIST_LIMIT,
            "default": DEFAULT_LIST_LIMIT,
        },
    },
    {
        "name": "next",
        "in": "query",
        "description": "The `next` token of the previous page.",
        "schema": {"type": "string"},
    },
]


def schemas() -> dict[str, Schema]:
    """The error shape every route answers a refusal with."""
    return {
        "Error": {
            "type": "object",
            "description": "The API's one error shape; some errors add parameters such as "
            "`retry_after`, `limit` or `attempts_left`, and `reach_exceeds_duration` its "
            "`expected`.",
            "properties": {
                "error": {"type": "string", "description": "A stable snake_case code."},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "expected": ref("Expected"),
            },
            "required": ["error", "message"],
            "additionalProperties": {"type": ["string", "integer"]},
        },
        "GatewayError": {
            "type": "object",
            "description": "API Gateway's own refusal, before any function runs: 403 "
            '`{"message": "Missing Authentication Token"}` for a method or path no route '
            "defines or a signed route called unsigned, 403 for a wrong signature, 429 when "
            "throttled. The local runner answers methods no route defines the same way.",
            "properties": {"message": {"type": "string"}},
            "required": ["message"],
            "additionalProperties": False,
        },
    }


RESPONSES = {
    "Error": {
        "description": "An error in the API's one shape, or API Gateway's own.",
        "content": {"application/json": {"schema": {"anyOf": [ref("Error"), ref("GatewayError")]}}},
    }
}

SECURITY_SCHEMES = {
    "sigv4": {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "AWS Signature Version 4 for `execute-api` (API Gateway's IAM "
        "authorizer). Not checked by the local runner.",
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
    "cognito": {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "An ID token of the control room's Cognito user pool, as it is (no "
        "`Bearer`), from InitiateAuth (USER_PASSWORD_AUTH); only the `dispatch` group may call. "
        "API Gateway's Cognito authorizer checks it in prod, the local runner locally.",
        "x-amazon-apigateway-authtype": "cognito_user_pools",
    },
    "bearer": {"type": "http", "scheme": "bearer"},
    "deviceSecret": {"type": "apiKey", "name": "X-Device-Secret", "in": "header"},
}
