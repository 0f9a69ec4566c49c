"""Burgernet's action list: each public action whole, with its messages Start, Update and Afloop.

The shape newer apps read (the Home Assistant NL-Alert app): `{"actions": [...]}`, JSON booleans
and numbers, integer epoch seconds, the radius in metres. docs/api.md, "The action list", gives
every field and how its readers use it. Dutch, as Burgernet's own lists are.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import TypedDict

from chalicelib.domain.messages import outcome_sentence
from chalicelib.domain.model import Incident, Language, Outcome, Stage
from chalicelib.domain.public import (
    Bulletin,
    PublicAction,
    Site,
    Update,
    callback_line,
    looking_for,
    public_circle,
    title,
)

LANGUAGE = Language.NL
_REMOVED = "Deze tekst is verwijderd."  # an update's message once redacted
_NOW_LOOKING_FOR = "De politie zoekt nu:"


class MessageType(StrEnum):
    """A message's place in the action, in Burgernet's words."""

    START = "Start"
    UPDATE = "Update"
    AFLOOP = "Afloop"  # the result


MESSAGE_TYPES = {Stage.START: MessageType.START, Stage.UPDATE: MessageType.UPDATE}


class ActionArea(TypedDict):
    """The circle around the action's area: its centre and radius in whole metres."""

    lat: float
    lng: float
    radius: int


class ActionMessage(TypedDict):
    """One public message of an action."""

    title: str
    body: str
    responseUrl: str
    messageType: MessageType
    lastModifiedTimestamp: int
    speechId: None  # Burgernet's id of a spoken version; we speak no public messages


class ActionItem(TypedDict):
    """One action in the action list."""

    id: str
    municipality: str | None
    actionType: Incident
    amberAlert: bool
    active: bool
    startTimestamp: int
    endTimestamp: int | None
    area: ActionArea
    messages: list[ActionMessage]


class ActionList(TypedDict):
    """The whole list: an object, as its readers require, never a bare array."""

    actions: list[ActionItem]


def action_list(actions: list[PublicAction], site: Site) -> ActionList:
    """The actions as Burgernet's action list, newest start first."""
    newest_first = sorted(actions, key=lambda a: a.started, reverse=True)
    return {"actions": [action_item(a, site) for a in newest_first]}


def action_item(action: PublicAction, site: Site) -> ActionItem:
    """One public action, its area as a circle and its messages oldest first."""
    lat, lon, radius_m = public_circle(action.area)
    return {
        "id": action.ref,  # the public reference: the internal action id is never shown
        "municipality": action.place,
        "actionType": action.incident,
        "amberAlert": False,  # a national AMBER Alert is not started through this API
        "active": action.closed is None,
        "startTimestamp": epoch(action.started),
        "endTimestamp": epoch(action.closed) if action.closed else None,
        # Rounded up, so the circle still holds the whole area.
        "area": {"lat": lat, "lng": lon, "radius": math.ceil(radius_m)},
        "messages": [_message(action, b, site) for b in action.bulletins],
    }


def _message(action: PublicAction, bulletin: Bulletin, site: Site) -> ActionMessage:
    stage = Stage(bulletin.kind)
    if stage is Stage.RESULT:
        kind, text = MessageType.AFLOOP, _result(action)
    else:
        kind = MESSAGE_TYPES[stage]
        update = action.update_of(bulletin) if stage is Stage.UPDATE else None
        said = _update(update) if update else _sentence(looking_for(action, LANGUAGE))
        text = f"{said} {callback_line(action.ref, site.callback_number, LANGUAGE)}"
    return {
        # The result's title says it ended; earlier ones read as they did while it ran.
        "title": title(action if stage is Stage.RESULT else replace(action, closed=None), LANGUAGE),
        "body": text,
        "responseUrl": site.page(action.ref),
        "messageType": kind,
        "lastModifiedTimestamp": epoch(bulletin.sent),
        "speechId": None,
    }


def _update(update: Update) -> str:
    """The dispatcher's update, and the new description if it gave one."""
    parts = [_sentence(update.message or _REMOVED)]
    if update.description:
        parts.append(_sentence(f"{_NOW_LOOKING_FOR} {update.description}"))
    return " ".join(parts)


def _sentence(text: str) -> str:
    """Typed text ending as a sentence, so the line after it does not run on."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _result(action: PublicAction) -> str:
    """How it ended, and the dispatcher's closing words if any."""
    # A result is stored with its outcome; without one it reads as the plain end.
    ended = outcome_sentence(action.outcome or Outcome.EXPIRED, LANGUAGE)
    closing = _sentence(action.result_message) if action.result_message else None
    return " ".join(part for part in (ended, closing) if part)


def epoch(moment: datetime) -> int:
    """Whole Unix seconds, as the action list's timestamps are."""
    return int(moment.timestamp())
