"""The control room's JSON routes: people signed in with Cognito, in the dispatch group.

Each acting route calls the same logic function as its IAM twin in dispatch.py and photos.py,
with the same validation and the same errors; only who may call differs (docs/deploy.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypedDict

from chalice import Blueprint, Response

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.people import dispatcher
from chalicelib.domain.photos import MEDIA_TYPES
from chalicelib.domain.requests import (
    parse_list_query,
)
from chalicelib.handlers import acts
from chalicelib.handlers.http import json_errors, people, wired
from chalicelib.logic import actions, control
from chalicelib.runtime import runtime

control_room = Blueprint(__name__)

P = ParamSpec("P")
# Read by a person, possibly on a shared screen: cached by nobody but that browser, and
# revalidated on every poll (If-None-Match).
PRIVATE = {"Cache-Control": "private, no-cache"}


class ControlConfig(TypedDict):
    """Where and how the page signs people in."""

    region: str
    user_pool_id: str
    client_id: str
    endpoint: str
    mfa: str


def _dispatcher() -> str:
    """The signed-in person as a caller (cognito:<username>); 401 or 403 for anyone else."""
    context = control_room.current_request.context or {}
    return dispatcher((context.get("authorizer") or {}).get("claims"))


def dispatch_group(view: Callable[P, Any]) -> Callable[P, Any]:
    """Refuse (401/403) anyone but a signed-in dispatcher before `view` reads or does anything."""

    @functools.wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
        _dispatcher()
        return view(*args, **kwargs)

    return guarded


@control_room.route("/control/config", methods=["GET"])
@json_errors
@wired
def config() -> ControlConfig:
    """Where the control room's page signs people in: the pool, its app client, MFA or not."""
    settings = runtime().settings
    if not (settings.control_user_pool_id and settings.control_client_id):
        raise ServiceUnavailable(
            "control_room_unavailable",
            "This deployment has no control room sign-in (CONTROL_USER_POOL_ID is not set).",
        )
    endpoint = settings.endpoint_url or f"https://cognito-idp.{settings.region}.amazonaws.com"
    return ControlConfig(
        region=settings.region,
        user_pool_id=settings.control_user_pool_id,
        client_id=settings.control_client_id,
        endpoint=endpoint.rstrip("/") + "/",
        mfa=settings.control_mfa,
    )


@control_room.route("/control/actions", methods=["GET"], authorizer=people)
@json_errors
@dispatch_group
@wired
def list_actions() -> Response:
    """Actions with a status, newest first, a page at a time (as GET /actions), with an ETag."""
    status, limit, page = parse_list_query(control_room.current_request.query_params)
    listed = actions.list_actions(status, limit, page)
    return _polled(control.etag_of(listed), listed)


@control_room.route("/control/actions/{action_id}", methods=["GET"], authorizer=people)
@json_errors
@dispatch_group
@wired
def get_action(action_id: str) -> Response:
    """One action for the live view: counts per channel and minute, updates, sightings."""
    polled = control.control_view(
        action_id, control_room.current_request.headers.get("if-none-match")
    )
    return _polled(polled.etag, polled.view)


def _polled(etag: str, body: Any) -> Response:
    """200 with the body and its ETag, or 304 with no body when the poller already has it."""
    headers: dict[str, str | list[str]] = {**PRIVATE, "ETag": etag}
    if body is None or control.matches(
        control_room.current_request.headers.get("if-none-match"), etag
    ):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=body, status_code=200, headers=headers)


@control_room.route("/control/actions/{action_id}/updates", methods=["POST"], authorizer=people)
@json_errors
@dispatch_group
@wired
def post_update(action_id: str) -> Response:
    """Send an update (as POST /actions/{action_id}/updates)."""
    return acts.post_update(control_room.current_request, action_id, _dispatcher())


@control_room.route(
    "/control/actions/{action_id}/photo",
    methods=["PUT"],
    authorizer=people,
    content_types=list(MEDIA_TYPES),  # binary types: API Gateway passes the bytes as they came
)
@json_errors
@dispatch_group
@wired
def put_photo(action_id: str) -> actions.ActionView:
    """Attach a JPEG or PNG (as PUT /actions/{action_id}/photo)."""
    return acts.put_photo(control_room.current_request, action_id)


@control_room.route("/control/actions/{action_id}/close", methods=["POST"], authorizer=people)
@json_errors
@dispatch_group
@wired
def close_action(action_id: str) -> actions.ActionView:
    """Close with an outcome (as POST /actions/{action_id}/close)."""
    return acts.close_action(control_room.current_request, action_id, _dispatcher())
