"""The dispatch API: routes that police dispatch systems call (SigV4-signed in deployed stages)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain.requests import (
    MAX_DISPATCH_BODY_BYTES,
    parse_action_request,
    parse_list_query,
    parse_reach_request,
)
from chalicelib.domain.validation import parse_json_object
from chalicelib.handlers import acts
from chalicelib.handlers.http import iam, idempotency_key, json_errors, wired
from chalicelib.logic import actions, timeline
from chalicelib.runtime import runtime

dispatch = Blueprint(__name__)


def _body() -> dict[str, Any]:
    return parse_json_object(dispatch.current_request.raw_body, MAX_DISPATCH_BODY_BYTES)


def _caller() -> str:
    """The signed caller's identity (its IAM ARN); `local` where no authorizer runs."""
    identity = (dispatch.current_request.context or {}).get("identity") or {}
    return str(identity.get("userArn") or identity.get("caller") or "local")


def _idempotency_key() -> str | None:
    return idempotency_key(dispatch.current_request)


@dispatch.route("/actions", methods=["POST"], authorizer=iam)
@json_errors
def start_action() -> Response:
    """Start an action: validate, store, enqueue targeting; answer 202 at once."""
    rt = runtime()
    request = parse_action_request(_body(), rt.settings.channels, rt.settings.callback_number)
    action, expected = actions.start_told(
        request,
        _caller(),
        _idempotency_key(),
        rt.targeting,
        datetime.now(UTC),
        rt.settings.rates,
        rt.posts,
    )
    return Response(
        body={**actions.action_view(action), "expected": expected},
        status_code=202,
        headers={"Location": f"/actions/{action.action_id}"},
    )


@dispatch.route("/actions", methods=["GET"], authorizer=iam)
@json_errors
@wired
def list_actions() -> actions.ActionPage:
    """Actions with a status, newest first, a page at a time."""
    status, limit, page = parse_list_query(dispatch.current_request.query_params)
    return actions.list_actions(status, limit, page)


@dispatch.route("/actions/{action_id}", methods=["GET"], authorizer=iam)
@json_errors
@wired
def get_action(action_id: str) -> actions.ActionView:
    """One action with its live counts."""
    return actions.get_action(action_id)


@dispatch.route("/actions/{action_id}/updates", methods=["POST"], authorizer=iam)
@json_errors
def post_update(action_id: str) -> Response:
    """Correct or sharpen an action: everyone alerted gets the update once, retries included."""
    return acts.post_update(dispatch.current_request, action_id, _caller())


@dispatch.route("/actions/{action_id}/timeline", methods=["GET"], authorizer=iam)
@json_errors
@wired
def action_timeline(action_id: str) -> timeline.Timeline:
    """What happened to an action and when, oldest first (for cloud ops)."""
    return timeline.timeline(action_id)


@dispatch.route("/actions/{action_id}/close", methods=["POST"], authorizer=iam)
@json_errors
def close_action(action_id: str) -> actions.ActionView:
    """Close an action; everyone it alerted gets the result."""
    return acts.close_action(dispatch.current_request, action_id, _caller())


@dispatch.route("/reach", methods=["POST"], authorizer=iam)
@json_errors
@wired
def reach() -> actions.Reach:
    """How many people an action in this area would reach, and when; sends nothing."""
    settings = runtime().settings
    request = parse_reach_request(_body(), settings.channels)
    return actions.reach(request, settings.rates, datetime.now(UTC))
