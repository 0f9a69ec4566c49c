"""What a dispatcher does to a running action, whoever signed the request: a dispatch system
(IAM, dispatch.py and photos.py) or a person in the control room (Cognito, control.py). One
parse and one logic call each, so both kinds of caller get the same validation and errors."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice.app import Request, Response

from chalicelib.domain.requests import MAX_DISPATCH_BODY_BYTES, parse_close_request
from chalicelib.domain.validation import parse_json_object
from chalicelib.handlers.http import idempotency_key, media_type
from chalicelib.logic import actions, photos, updates
from chalicelib.runtime import runtime


def post_update(request: Request, action_id: str, caller: str) -> Response:
    """Send an update to everyone the action alerted; 202 with its id."""
    rt = runtime()
    update_id = updates.post_update(
        action_id,
        parse_json_object(request.raw_body, MAX_DISPATCH_BODY_BYTES),
        rt.settings.callback_number,
        rt.targeting,
        datetime.now(UTC),
        rt.posts,
        caller=caller,
        idempotency_key=idempotency_key(request),
    )
    return Response(body={"update_id": update_id}, status_code=202)


def put_photo(request: Request, action_id: str) -> actions.ActionView:
    """Attach the JPEG or PNG in the body; answers once its two sizes are public."""
    body = request.raw_body
    return photos.put_photo(
        action_id,
        body if isinstance(body, bytes) else body.encode(),
        media_type(request.headers.get("content-type")),
        runtime().photos,
    )


def close_action(request: Request, action_id: str, caller: str) -> actions.ActionView:
    """Close with an outcome; everyone the action alerted gets the result."""
    rt = runtime()
    close = parse_close_request(parse_json_object(request.raw_body, MAX_DISPATCH_BODY_BYTES))
    action = actions.close_action(
        action_id, close, caller, rt.targeting, datetime.now(UTC), rt.posts
    )
    return actions.action_view(action)
