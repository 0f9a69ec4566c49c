"""HTTP plumbing shared by the routes: the one authorizer, the shared headers, the wiring, and
the one place domain errors become HTTP errors."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, ParamSpec, TypeVar

from chalice import CognitoUserPoolAuthorizer, IAMAuthorizer, Response
from chalice.app import Request

from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    Expired,
    Forbidden,
    InvalidInput,
    Locked,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from chalicelib.domain.photos import MEDIA_TYPES as PHOTO_TYPES
from chalicelib.runtime import runtime

STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Locked: 403,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Expired: 410,
    PayloadTooLarge: 413,
    TooManyRequests: 429,
    ServiceUnavailable: 503,
}

P = ParamSpec("P")
R = TypeVar("R")

# Systems: every route not in open_routes.OPEN_ROUTES nor under /control/ is SigV4-signed (IAM).
iam = IAMAuthorizer()
# People: the control room's routes take an ID token of its Cognito user pool. The pool is made
# by the same stack, so its ARN is not known here: infra/template.json puts the pool's own ARN
# (Fn::GetAtt ControlUserPool.Arn) in place of this one when the template is packaged.
PEOPLE_POOL_PLACEHOLDER = "arn:aws:cognito-idp:eu-west-1:000000000000:userpool/eu-west-1_InInfra"
people = CognitoUserPoolAuthorizer("ControlUserPool", provider_arns=[PEOPLE_POOL_PLACEHOLDER])

# Same origin only: the pages need nothing else. Never in a frame: another site could overlay
# them and steer a resident's clicks (clickjacking), so municipalities link to them instead.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The open reads: revalidated on every use (the polled Atom feed sets its own caching), and
# never taken for another type than the one they declare.
COMMON_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}


def page_headers(
    image_origins: list[str] | None = None, connect_origins: list[str] | None = None
) -> dict[str, str | list[str]]:
    """The headers of an HTML page: CONTENT_SECURITY_POLICY, with `image_origins` allowed as
    images (an action's photo, the map's tiles) and `connect_origins` to fetch from (Cognito)."""
    more = {"img-src": image_origins or [], "connect-src": connect_origins or []}
    policy = "; ".join(
        " ".join([d, *more.get(d.split(" ", 1)[0], [])])
        for d in CONTENT_SECURITY_POLICY.split("; ")
    )
    return {
        **COMMON_HEADERS,
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",  # the same, for browsers without frame-ancestors
        "Referrer-Policy": "no-referrer",
    }


def source_ip(request: Request) -> str:
    """The caller's address as API Gateway saw it (the per-source rate limits count by it)."""
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


MAX_IDEMPOTENCY_KEY = 128


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key header, checked: 1–128 printable ASCII characters."""
    key: str | None = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1–{MAX_IDEMPOTENCY_KEY} printable ASCII characters.",
            "Idempotency-Key",
        )
    return key


def wired(handler: Callable[P, R]) -> Callable[P, R]:
    """Wire the process (settings, tracing, models bound to their tables) before `handler` runs."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        runtime()  # cached: only the first call of a process builds it
        return handler(*args, **kwargs)

    return wrapper


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Response:
    """The API's one error shape: {"error", "message", "field"?, ...params}."""
    body: dict[str, Any] = {"error": code, "message": message}
    if field:
        body["field"] = field
    body.update(params or {})
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json"}
    if status in (429, 503) and params and "retry_after" in params:
        headers["Retry-After"] = str(params["retry_after"])
    return Response(body=body, status_code=status, headers=headers)


def json_errors(view: Callable[P, Any]) -> Callable[P, Any]:
    """Turn a DomainError raised by a route into its 4xx JSON answer."""
    return json_errors_in(lambda exc: exc.message)(view)


def json_errors_in(
    translate: Callable[[DomainError], str],
) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Like json_errors, with the message put in the asker's language by `translate`."""

    def decorate(view: Callable[P, Any]) -> Callable[P, Any]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            try:
                return view(*args, **kwargs)
            except DomainError as exc:
                return error_response(
                    STATUS[type(exc)], exc.code, translate(exc), exc.field, exc.params
                )

        return wrapper

    return decorate


# Methods whose body a route reads. A JSON body must say so: a browser sends text/plain, form
# encodings, or no Content-Type at all (fetch with a Blob) cross-site without a CORS preflight.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON = ("application/json",)
# The routes whose body is not JSON, and what each takes instead (signed routes: no browser
# can send these types cross-site without a preflight either).
BODY_TYPES: dict[str, tuple[str, ...]] = {
    "/actions/{action_id}/photo": tuple(PHOTO_TYPES),
    "/control/actions/{action_id}/photo": tuple(PHOTO_TYPES),
}


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, without parameters, in lower case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def unsupported_media_type(
    method: str, content_type: str | None, accepted: tuple[str, ...] = JSON
) -> Response | None:
    """The 415 for a body not declared as one of `accepted` (parameters allowed); else None."""
    if method not in BODY_METHODS or media_type(content_type) in accepted:
        return None
    given = f"Unsupported media type: {content_type[:100]}" if content_type else "No media type"
    wanted = " or ".join(f"Content-Type: {t}" for t in accepted)
    return error_response(
        415,
        "unsupported_media_type",
        f"{given}; send the body as {wanted}"
        + (" (a charset parameter is allowed)." if accepted == JSON else "."),
    )


def uniform_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: JSON bodies only (or a route's BODY_TYPES), and chalice's own errors
    (405, 500, ...) in the API's error shape."""
    accepted = BODY_TYPES.get(event.path, JSON)
    refused = unsupported_media_type(event.method, event.headers.get("content-type"), accepted)
    if refused is not None:
        return refused  # before any route runs: nothing is counted, stored or sent
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, str) and body.startswith("{"):
        try:
            body = json.loads(body)
        except ValueError:
            return response
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = "internal_error" if response.status_code >= 500 else _snake(str(body["Code"]))
        message = str(body.get("Message", ""))
        if response.status_code >= 500:
            message = (
                "An internal error occurred. Retry the request; POST /actions is safe to retry "
                "with the same Idempotency-Key."
            )
        fixed = error_response(response.status_code, code, message)
        fixed.headers = {**response.headers, **fixed.headers}
        return fixed
    return response


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@functools.cache
def static_file(name: str) -> str:
    """A file of chalicelib/static (built or written), read on first use and kept for the life
    of the Lambda."""
    return (resources.files("chalicelib") / "static" / name).read_text(encoding="utf-8")
