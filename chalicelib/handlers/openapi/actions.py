"""The dispatch API's actions in the OpenAPI document: areas, actions, updates, closing, reach."""

from __future__ import annotations

from chalicelib.domain import photos as photo_rules
from chalicelib.domain import requests as rules
from chalicelib.domain.model import Channel, IfIncomplete, Incident
from chalicelib.domain.validation import READABLE_PATTERN, READABLE_RULE
from chalicelib.handlers.http import MAX_IDEMPOTENCY_KEY
from chalicelib.handlers.openapi.common import (
    IAM,
    NULLABLE_TEXT,
    NULLABLE_TIME,
    PAGE_PARAMETERS,
    TIME,
    Schema,
    error,
    json_answer,
    obj,
    op,
    path_parameter,
    ref,
    request_object,
)
from chalicelib.logic import timeline

ACTION_ID = path_parameter("action_id", "The action's id, from POST /actions.")
# Every free text dispatch sends: the pattern says what a validator can; the words say the rest.
READABLE = f"Text: {READABLE_RULE}; runs of whitespace become one space."


def free_text(description: str, nullable: bool = False, **limits: int) -> Schema:
    """A free-text field's schema: a string no reader of the alerts and feeds chokes on."""
    kind: Schema = {"type": ["string", "null"]} if nullable else {"type": "string", "minLength": 1}
    return {
        **kind,
        **limits,
        "pattern": READABLE_PATTERN,
        "description": f"{description} {READABLE}",
    }


def schemas() -> dict[str, Schema]:
    """Areas, the dispatch requests and the action as answered."""
    counts = [
        "targeted",
        "queued",
        "sent",
        "failed",
        "cancelled",
        "unknown",
        "results_sent",
        "results_failed",
        "results_unknown",
    ]
    return {
        "ActionRequest": request_object(
            rules.ACTION_FIELDS,
            {
                "incident": {"type": "string", "enum": [i.value for i in Incident]},
                "description": free_text("Whom to look out for."),
                "area": ref("Area"),
                "duration_minutes": {
                    "type": "integer",
                    "minimum": rules.MIN_DURATION,
                    "maximum": rules.MAX_DURATION,
                    "default": rules.DEFAULT_DURATION,
                },
                "channels": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "enum": ["sms", "voice"]},
                },
                "public": {
                    "type": "boolean",
                    "default": True,
                    "description": "Shown in the public feeds, on its page and on social "
                    "networks; false keeps it out of all of them.",
                },
                "exercise": {
                    "type": "boolean",
                    "default": False,
                    "description": "A drill: its public messages say so (CAP status Test).",
                },
                "place": free_text(
                    "The area's name for people; by default the municipality's.",
                    maxLength=rules.MAX_PLACE,
                ),
                "if_incomplete": {
                    "type": "string",
                    "enum": [i.value for i in IfIncomplete],
                    "default": IfIncomplete.SEND.value,
                    "description": "`reject`: if `expected` says anyone would be cut off by the "
                    "duration, start nothing and answer 409 `reach_exceeds_duration`.",
                },
            },
            ("incident", "description", "area"),
        ),
        "ChannelExpected": obj(
            {
                "people": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "People alerted on this channel (after quiet hours and "
                    "preferences).",
                },
                "seconds_to_last": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Seconds from the start to the last alert at the configured "
                    "rate (other actions sending at the same time share it).",
                },
                "cancelled": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "People whose alert would still wait when the action ends.",
                },
            },
            ("people", "seconds_to_last", "cancelled"),
        ),
        "Expected": obj(
            {channel.value: ref("ChannelExpected") for channel in Channel},
            tuple(channel.value for channel in Channel),
        ),
        "StartedAction": {
            "allOf": [
                ref("Action"),
                obj({"expected": ref("Expected")}, ("expected",), closed=False),
            ],
        },
        "UpdateRequest": request_object(
            rules.UPDATE_FIELDS,
            {
                "message": free_text(
                    "What changed, as sent to everyone alerted; it must fit the "
                    "update SMS (three segments) in every language."
                ),
                "description": free_text(
                    "A new description of whom to look out for, for the alerts "
                    "still to go and the public page; the alert's length rules apply."
                ),
            },
            ("message",),
        ),
        "CloseRequest": request_object(
            rules.CLOSE_FIELDS,
            {
                "outcome": {"type": "string", "enum": [o.value for o in rules.CLOSE_OUTCOMES]},
                "message": free_text(
                    "The result, after the outcome's own sentence.", nullable=True
                ),
            },
            ("outcome",),
        ),
        "Action": {
            "type": "object",
            "required": ["action_id", "ref", "status", "incident", "area", "counts"],
            "properties": {
                "action_id": {"type": "string"},
                "ref": {"type": "string"},
                "status": {"type": "string", "enum": ["active", "closed"]},
                "incident": {"type": "string"},
                "description": NULLABLE_TEXT,
                "area": ref("Area"),
                "channels": {"type": "array", "items": {"type": "string"}},
                "public": {"type": "boolean"},
                "exercise": {"type": "boolean"},
                "place": NULLABLE_TEXT,
                "photo": {
                    "type": ["object", "null"],
                    "description": "Public URLs of the photo at 1280 px and 320 px, or null.",
                    "properties": {"large": {"type": "string"}, "small": {"type": "string"}},
                    "required": ["large", "small"],
                },
                "updates": {
                    "type": "array",
                    "items": obj(
                        {
                            "update_id": {"type": "string"},
                            "at": TIME,
                            "message": NULLABLE_TEXT,
                            "description": NULLABLE_TEXT,
                            "queued": {"type": "boolean"},
                            "counts": obj(
                                {
                                    c: {"type": "integer", "minimum": 0}
                                    for c in ("sent", "failed", "unknown")
                                },
                                ("sent", "failed", "unknown"),
                            ),
                        },
                        ("update_id", "at", "message", "queued", "counts"),
                    ),
                },
                "created_by": {"type": "string"},
                "created_at": TIME,
                "expires_at": TIME,
                "closed_at": NULLABLE_TIME,
                "outcome": NULLABLE_TEXT,
                "result_message": NULLABLE_TEXT,
                "redacted_at": NULLABLE_TIME,
                "targeting": {"type": "string", "enum": ["pending", "done"]},
                "counts": obj(
                    {c: {"type": "integer", "minimum": 0} for c in counts}, tuple(counts)
                ),
            },
        },
        "TimelineEvent": obj(
            {
                "at": TIME,
                "event": {
                    "type": "string",
                    "enum": list(timeline.ORDER),
                },
                "channel": {"type": "string", "enum": [c.value for c in Channel]},
                "count": {"type": "integer", "minimum": 0},
                "detail": {
                    "type": "object",
                    "description": "targeted: `seconds` targeting took; closed and expired: "
                    "`outcome` and `by` (the caller, or `sweeper`); started: `incident`; "
                    "update_sent: `update_id`.",
                },
            },
            ("at", "event"),
        ),
    }


def paths() -> dict[str, Schema]:
    """Start, list, follow, update and close actions; their photo and timeline; reach."""
    action_id = ACTION_ID
    action = json_answer(ref("Action"), "The action with its live counts.")
    return {
        "/actions": {
            "post": op(
                "Start an action (alerts everyone inside the area)",
                {
                    "202": json_answer(
                        ref("StartedAction"),
                        "Stored; targeting and sending run from queues. `expected` says what "
                        "it will do, per channel.",
                        {"Location": {"schema": {"type": "string"}}},
                    ),
                    "409": error(
                        "`idempotency_key_reused` with a different body; "
                        "`reach_exceeds_duration` (with `if_incomplete` `reject`): nothing was "
                        "started, and the body adds `duration_minutes`, "
                        "`duration_minutes_needed` and `expected`."
                    ),
                },
                security=IAM,
                body=ref("ActionRequest"),
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "description": "The same key and body return the same action, for 24 h.",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_IDEMPOTENCY_KEY,
                        },
                    }
                ],
            ),
            "get": op(
                "List actions, newest first",
                {
                    "200": json_answer(
                        obj(
                            {
                                "actions": {"type": "array", "items": ref("Action")},
                                "next": NULLABLE_TEXT,
                            },
                            ("actions", "next"),
                        ),
                        "A page of actions.",
                    )
                },
                security=IAM,
                parameters=[
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["active", "closed"]},
                    },
                    *PAGE_PARAMETERS,
                ],
            ),
        },
        "/actions/{action_id}": {
            "get": op(
                "Follow an action",
                {"200": action, "404": error("`action_not_found`.")},
                security=IAM,
                parameters=[action_id],
            )
        },
        "/actions/{action_id}/updates": {
            "post": op(
                "Update an action; everyone alerted gets the update once",
                {
                    "202": json_answer(
                        obj({"update_id": {"type": "string"}}, ("update_id",)),
                        "Stored; its messages go out from the queues.",
                    ),
                    "404": error("`action_not_found`."),
                    "409": error(
                        "`action_closed`; `idempotency_key_reused` with a different body or action."
                    ),
                },
                security=IAM,
                body=ref("UpdateRequest"),
                parameters=[
                    action_id,
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "description": "The same key and body return the same update_id and "
                        "send nothing again, for 24 h.",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_IDEMPOTENCY_KEY,
                        },
                    },
                ],
            )
        },
        "/actions/{action_id}/timeline": {
            "get": op(
                "What happened to an action and when, oldest first (cloud ops)",
                {
                    "200": json_answer(
                        obj(
                            {"events": {"type": "array", "items": ref("TimelineEvent")}},
                            ("events",),
                        ),
                        "The action's events; counts agree with `GET /actions/{action_id}`.",
                    ),
                    "404": error("`action_not_found`."),
                },
                security=IAM,
                parameters=[action_id],
            )
        },
        "/actions/{action_id}/close": {
            "post": op(
                "Close an action; everyone alerted gets the result",
                {
                    "200": action,
                    "404": error("`action_not_found`."),
                    "409": error("`action_closed`."),
                },
                security=IAM,
                body=ref("CloseRequest"),
                parameters=[action_id],
            )
        },
        "/actions/{action_id}/photo": {"put": _photo_operation(action_id)},
        "/reach": {
            "post": op(
                "How many people an action here would alert now, and when (sends nothing)",
                {
                    "200": json_answer(
                        obj(
                            {
                                "participants": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "description": "People inside the area.",
                                },
                                "duration_minutes": {
                                    "type": "integer",
                                    "description": "The duration `cancelled` is counted at.",
                                },
                                "expected": ref("Expected"),
                            },
                            ("participants", "duration_minutes", "expected"),
                        ),
                        "The count, and what an action there would do per channel.",
                    )
                },
                security=IAM,
                body=request_object(
                    rules.REACH_FIELDS,
                    {
                        "area": ref("Area"),
                        "incident": {
                            "type": "string",
                            "enum": [i.value for i in Incident],
                            "description": "missing_person ignores quiet hours; by default they "
                            "apply, as for every other incident.",
                        },
                        "channels": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "enum": ["sms", "voice"]},
                        },
                        "duration_minutes": {
                            "type": "integer",
                            "minimum": rules.MIN_DURATION,
                            "maximum": rules.MAX_DURATION,
                            "default": rules.DEFAULT_DURATION,
                        },
                    },
                    ("area",),
                ),
            )
        },
    }


def _photo_operation(action_id: Schema) -> Schema:
    """PUT /actions/{action_id}/photo: its body is the image itself, not JSON."""
    operation = op(
        "Attach a photo to an active action (replacing its photo); its two sizes become public",
        {
            "200": json_answer(
                ref("Action"),
                "Stored without its metadata (EXIF, GPS); `photo` holds the public URLs of "
                f"the {photo_rules.LARGE_PX} px and {photo_rules.SMALL_PX} px sizes.",
            ),
            "400": error("`empty_photo`, `not_an_image` or `photo_too_many_pixels`."),
            "404": error("`action_not_found`."),
            "409": error("`action_closed`."),
            "413": error(f"`photo_too_large`: over {photo_rules.MAX_PHOTO_BYTES:,} bytes."),
            "415": error("`unsupported_media_type`: not image/jpeg or image/png."),
            "503": error(
                "`photo_unavailable`: nothing was stored, send it again; `photos_unavailable`: "
                "this stage keeps no photos."
            ),
        },
        security=IAM,
        parameters=[action_id],
    )
    operation["requestBody"] = {
        "required": True,
        "description": f"A JPEG or PNG of at most {photo_rules.MAX_PHOTO_BYTES:,} bytes.",
        "content": {
            media_type: {"schema": {"type": "string", "contentMediaType": media_type}}
            for media_type in photo_rules.MEDIA_TYPES
        },
    }
    return operation
