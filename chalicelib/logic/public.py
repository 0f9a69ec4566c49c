"""The public face of actions: Burgernet's alert list, CAP 1.2 messages, their Atom index, the page.

Only public actions appear, and only what may be shown of them. A closed action stays in the alert
list as a Cancel for CANCEL_SHOWN, and in the feed SHOWN_AFTER_CLOSE, when its CAP message and page
answer 410.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta
from typing import Any

from chalicelib.dal import actions as action_store
from chalicelib.dal.records import ActionRecord, BulletinRecord
from chalicelib.domain import atom, cap, page
from chalicelib.domain.action_list import ActionList
from chalicelib.domain.action_list import action_list as action_list_of
from chalicelib.domain.alert_list import CANCEL_SHOWN, alert_item
from chalicelib.domain.errors import DomainError, Expired, NotFound
from chalicelib.domain.messages import REF_LENGTH
from chalicelib.domain.model import Incident, Outcome, Stage
from chalicelib.domain.public import (
    CHANGING_MAX_AGE,
    FINAL_MAX_AGE,
    SHOWN_AFTER_CLOSE,
    Bulletin,
    Photo,
    PublicAction,
    Site,
    Update,
    max_age,
)
from chalicelib.domain.requests import MAX_DURATION
from chalicelib.logic.actions import REF_ALPHABET

# How long before its close a closed action can have started: its longest run, plus time for a
# late sweep to close it.
LONGEST_ACTION = timedelta(minutes=MAX_DURATION, hours=1)
REF = re.compile(f"[{REF_ALPHABET}]{{1,{REF_LENGTH}}}")


def alert_list(site: Site, now: datetime) -> list[dict[str, Any]]:
    """Burgernet's public alert list: running public actions, newest first, then those closed
    less than CANCEL_SHOWN ago as Cancel, latest close first.

    Exercises are in it with State "Exercise": consumers keep only State "Actual", so a display
    at a stop never shows a drill as a real search, and a test display can still be tried out.
    """
    shown = _public_actions(CANCEL_SHOWN, now)
    running = [a for a in shown if a.closed_at is None]
    ended = [a for a in shown if a.closed_at is not None]
    # Running first: a bot that shows the list's first item (Velvox's /amberalert) shows a search.
    running.sort(key=lambda a: _time(a.created_at), reverse=True)
    ended.sort(key=lambda a: _time(str(a.closed_at)), reverse=True)
    return [alert_item(public_view(a), site) for a in (*running, *ended)]


def cap_message(ref: str, site: Site, now: datetime) -> tuple[str, timedelta]:
    """(the action's latest CAP 1.2 message, how long it may be cached); NotFound unless public,
    Expired once gone."""
    action = _shown(ref, now)
    return cap.message(action, site), max_age(action, now)


def feed(site: Site, now: datetime) -> str:
    """The Atom index: active public actions and those closed less than SHOWN_AFTER_CLOSE ago."""
    return atom.feed([public_view(a) for a in _public_actions(SHOWN_AFTER_CLOSE, now)], site)


def action_page(ref: str, site: Site, now: datetime) -> tuple[int, str, list[str], timedelta]:
    """(HTTP status, HTML, origins of its images, how long it may be cached): the page, or why
    there is none."""
    try:
        action = _shown(ref, now)
    except DomainError as exc:
        if isinstance(exc, Expired):
            return 410, page.missing(410), [], FINAL_MAX_AGE  # gone for good
        # Nobody links to a reference before it exists: the short time only spares us repeats.
        return 404, page.missing(404), [], CHANGING_MAX_AGE
    return 200, page.render(action, site), page.image_origins(action), max_age(action, now)


def _shown(ref: str, now: datetime) -> PublicAction:
    """The public action with this reference, while it may be shown."""
    action = None
    if REF.fullmatch(ref):
        with contextlib.suppress(NotFound):
            action = action_store.action_by_ref(ref)
    # A non-public action answers exactly as an unknown reference: its existence stays private.
    if action is None or not action.public:
        raise NotFound(
            "action_not_found",
            f"There is no public action with reference {ref[:20]!r}; a reference is "
            f"{REF_LENGTH} characters of {REF_ALPHABET}.",
        )
    if not _on_show(action, now):
        raise Expired(
            "action_gone",
            f"Action {ref} ended more than {SHOWN_AFTER_CLOSE // timedelta(hours=1)} hours "
            "ago; its public messages are no longer available.",
        )
    return public_view(action)


def _on_show(action: ActionRecord, now: datetime, window: timedelta = SHOWN_AFTER_CLOSE) -> bool:
    """Whether the action is running, or closed less than `window` ago."""
    return action.closed_at is None or _time(action.closed_at) > now - window


def public_view(action: ActionRecord) -> PublicAction:
    """What the public may see of an action (its free text is gone once redacted)."""
    updates = tuple(
        Update(u.update_id, _time(u.at), message=u.message, description=u.description)
        for u in action.updates
    )
    latest_description = next((u.description for u in reversed(updates) if u.description), None)
    return PublicAction(
        ref=action.ref,
        incident=Incident(action.incident),
        description=latest_description or action.description,
        place=action.place,
        area=action_store.area_of(action),
        exercise=bool(action.exercise),
        started=_time(action.created_at),
        expires=_time(action.expires_at),
        closed=_time(action.closed_at) if action.closed_at else None,
        outcome=Outcome(action.outcome) if action.outcome else None,
        result_message=action.result_message,
        photo=Photo(large=action.photo.large, small=action.photo.small) if action.photo else None,
        updates=updates,
        bulletins=tuple(Bulletin(_time(b.sent), b.kind, b.update_id) for b in _bulletins(action)),
    )


def _bulletins(action: ActionRecord) -> list[BulletinRecord]:
    """The action's public states; actions started before they were recorded get theirs here."""
    if action.bulletins:
        return list(action.bulletins)
    made: list[BulletinRecord] = [action_store.bulletin(Stage.START, _time(action.created_at))]
    if action.closed_at:
        made.append(action_store.bulletin(Stage.RESULT, _time(action.closed_at)))
    return made


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def action_list(site: Site, now: datetime) -> ActionList:
    """Burgernet's action list: public actions running or closed less than SHOWN_AFTER_CLOSE
    ago, each with its messages; exercises stay out, as a reading app would show them as real."""
    shown = _public_actions(SHOWN_AFTER_CLOSE, now)
    return action_list_of([public_view(a) for a in shown if not a.exercise], site)


def _public_actions(closed_within: timedelta, now: datetime) -> list[ActionRecord]:
    """Public actions running, or closed less than `closed_within` ago, each once.

    Active first, closed second, kept by id: an action that closes between the two reads is in
    both and shown once, closed (read the other way round, it would be in neither).
    """
    active = action_store.active_actions()
    recent = action_store.closed_actions_created_since(now - closed_within - LONGEST_ACTION)
    shown = {
        a.action_id: a for a in (*active, *recent) if a.public and _on_show(a, now, closed_within)
    }
    return list(shown.values())
