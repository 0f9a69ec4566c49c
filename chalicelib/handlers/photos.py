"""An action's photo: the dispatch route that takes it, and the function that resizes it."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.domain.photos import MEDIA_TYPES
from chalicelib.handlers import acts
from chalicelib.handlers.http import iam, json_errors
from chalicelib.logic import actions, photos
from chalicelib.runtime import photo_store

action_photos = Blueprint(__name__)


@action_photos.route(
    "/actions/{action_id}/photo",
    methods=["PUT"],
    authorizer=iam,
    content_types=list(MEDIA_TYPES),  # binary types: API Gateway passes the bytes as they came
)
@json_errors
def put_photo(action_id: str) -> actions.ActionView:
    """Attach a JPEG or PNG to an active action; answers once its two sizes are public."""
    return acts.put_photo(action_photos.current_request, action_id)


@action_photos.lambda_function(name="photo_resizer")
def photo_resizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Make a stored upload's sizes, for the photo route (which waits for the answer)."""
    return photos.resize(event, photo_store())
