"""Public actions on social networks: a thread per action, each post made once.

Starting, updating and closing an action only enqueue (`enqueue`); the social_poster worker
posts (`post`), so a network's outage never delays an alert. The ledger on the action
(dal/actions.record_post) holds each post's id: a retried message posts only what is missing,
and a reply waits, through SQS retries, until its thread's start post exists.

Redaction takes the posts back (`enqueue_take_back`, then `take_back` in the same worker): each
post is deleted once, its state in the ledger (PostState) says so, and a delete the network
refuses stays delete_failed, and outstanding, until SQS brings the message round again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.social import PostFailed
from chalicelib.dal import actions as action_store
from chalicelib.dal.records import ActionRecord
from chalicelib.domain.model import Incident, Outcome, PostState, Stage
from chalicelib.domain.social import KINDS, Post, render
from chalicelib.logic.ports import Network
from chalicelib.logs import log_event
from chalicelib.queues import QueueError, WorkQueue

# The social queue's message kind that takes an action's posts down (the others are a Stage).
TAKE_BACK = "take_back"


class PostsOutstanding(Exception):
    """Some posts of a message are not made (or deleted) yet; SQS delivers it again later."""


def enqueue(
    queue: WorkQueue | None, action_id: str, kind: Stage, update_id: str | None = None
) -> None:
    """Hand a public state of an action (start, an update, result) to the social poster.

    `queue` is None where no network is configured. SQS refusing never fails the caller: the
    action and its messages to people matter more than a post, so a lost enqueue is logged.
    """
    if queue is None:
        return
    if kind not in KINDS or (kind == Stage.UPDATE) != (update_id is not None):
        raise ValueError(f"a {kind!r} post with update_id {update_id!r}")
    try:
        queue.send([{"action_id": action_id, "kind": kind, "update_id": update_id}])
    except QueueError as exc:
        log_event("social_enqueue_failed", action_id=action_id, kind=kind, error=exc.cause)


def enqueue_take_back(queue: WorkQueue | None, action_id: str) -> None:
    """Ask the social poster to delete every post of the action. Raises QueueError: the sweep
    then leaves the action due, and asks again a minute later."""
    if queue is not None:
        queue.send([{"action_id": action_id, "kind": TAKE_BACK}])


def work(
    item: Mapping[str, Any],
    networks: Mapping[str, Network],
    public_url: str,
    callback_number: str,
    post_exercises: bool = False,
) -> None:
    """One social queue message: take an action's posts back, or make a public state's posts."""
    if item["kind"] == TAKE_BACK:
        take_back(str(item["action_id"]), networks)
    else:
        post(item, networks, public_url, callback_number, post_exercises=post_exercises)


def take_back(action_id: str, networks: Mapping[str, Network]) -> None:
    """Delete each of the action's posts that is not deleted yet, noting each in the ledger.

    Replies go before the start post they answer, so no reader finds a thread without its head.
    """
    action = action_store.get_action(action_id)
    waiting = []
    made = action_store.made_posts(action)
    for key in sorted(made, key=lambda k: k.endswith(f":{Stage.START.value}")):
        if action_store.post_state(action, key) is PostState.DELETED:
            continue  # deleted by an earlier delivery of this message: never asked twice
        name = key.split(":", 1)[0]
        network = networks.get(name)
        if network is None:  # no longer configured: nothing here can delete it
            waiting.append(f"{name}:not_configured")
            continue
        try:
            network.delete(made[key])
        except PostFailed as exc:
            log_event("social_delete_failed", action_id=action_id, network=name, error=exc.code)
            action_store.record_post_state(action_id, key, PostState.DELETE_FAILED)
            waiting.append(f"{name}:{exc.code}")
            continue
        action_store.record_post_state(action_id, key, PostState.DELETED)
        log_event("social_deleted", action_id=action_id, network=name)
    if waiting:
        raise PostsOutstanding(", ".join(waiting))


def post(
    item: Mapping[str, Any],
    networks: Mapping[str, Network],
    public_url: str,
    callback_number: str,
    post_exercises: bool = False,
) -> None:
    """Make the posts one message asks for on every network that lacks them; an exercise only
    where the region posts exercises (SOCIAL_POST_EXERCISES)."""
    action = action_store.get_action(str(item["action_id"]))
    kind, update_id = Stage(item["kind"]), item.get("update_id")
    if not action.public:
        log_event("social_skipped", action_id=action.action_id, kind=kind, reason="not_public")
        return
    if action.redacted_at is not None:  # taken back already: a late message posts nothing
        log_event("social_skipped", action_id=action.action_id, kind=kind, reason="redacted")
        return
    if action.exercise and not post_exercises:
        log_event("social_skipped", action_id=action.action_id, kind=kind, reason="exercise")
        return
    slot = str(update_id) if kind is Stage.UPDATE else kind.value
    content = _content(action, kind, slot, public_url, callback_number)
    photo = action.photo.large if action.photo and kind is not Stage.RESULT else None
    waiting = []
    for name, network in networks.items():
        if action_store.posted(action, name, slot):
            continue  # made by an earlier delivery of this message
        thread = action_store.posted(action, name, Stage.START) if kind is not Stage.START else None
        if kind is not Stage.START and thread is None:
            waiting.append(f"{name}:no_start_post")  # the start post is still to come
            continue
        try:
            post_id = network.post(
                render(content, name),
                reply_to=thread,
                photo_url=photo,
                key=f"burgernet-{action.action_id}-{slot}",
            )
        except PostFailed as exc:
            log_event(
                "social_post_failed",
                action_id=action.action_id,
                network=name,
                kind=kind,
                error=exc.code,
            )
            waiting.append(f"{name}:{exc.code}")
            continue
        action_store.record_post(action.action_id, name, slot, post_id)
        log_event("social_posted", action_id=action.action_id, network=name, kind=kind)
    if waiting:
        raise PostsOutstanding(", ".join(waiting))


def _content(
    action: ActionRecord, kind: Stage, slot: str, public_url: str, callback_number: str
) -> Post:
    """What the post for one public state of the action says."""
    message, description = None, action.description
    if kind is Stage.UPDATE:
        update = next((u for u in action.updates if u.update_id == slot), None)
        if update is None:
            raise PostsOutstanding(f"update {slot} is not stored (yet)")
        message, description = update.message, update.description or description
    elif kind is Stage.RESULT:
        message = action.result_message
    return Post(
        kind=kind,
        incident=Incident(action.incident),
        ref=action.ref,
        link=f"{public_url}/a/{action.ref}",
        callback_number=callback_number,
        description=description,
        place=action.place,
        exercise=bool(action.exercise),
        message=message,
        outcome=Outcome(action.outcome) if kind is Stage.RESULT and action.outcome else None,
    )
