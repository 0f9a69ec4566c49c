"""An ambiguous push is tried once more, under the same collapse id, and never a third time.

SNS mobile push sends no receipt, so nothing settles an ambiguous push. Each try of one alert
carries the alert's collapse id (APNs' apns-collapse-id through SNS's message attribute, FCM's
collapse key and notification tag), so a second try replaces the first on the phone instead of
adding one. moto keeps a platform endpoint's messages but not the request's message attributes:
each Publish request is read as botocore builds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from moto.core.models import botocore_stubber

from chalicelib.adapters.push import APNS_COLLAPSE_ID
from chalicelib.dal import deliveries as ledger
from chalicelib.domain.model import Channel, DeliveryStatus, Kind
from chalicelib.domain.receipts import RECEIPT_WINDOW, SENDER_CUT_OFF
from chalicelib.queues import PUSH_QUEUE, SENDER_TIMEOUT_S, TARGETING_QUEUE, hold_s
from chalicelib.runtime import runtime
from tests.support.builders import UTRECHT
from tests.support.devices import pushes, put_location, register, start_action
from tests.support.fanout import counts
from tests.support.system import System


@dataclass
class Publishes:
    """Every push Publish request the sender made, and how many answers to lose."""

    lose: int = 0  # the next this many publishes reach SNS, but their answer is lost
    requests: list[dict[str, Any]] = field(default_factory=list)

    def collapse_ids(self) -> list[tuple[str, str, str]]:
        """Per publish: APNs' collapse id attribute, FCM's collapse key and notification tag."""
        found = []
        for request in self.requests:
            fcm = json.loads(json.loads(request["Message"])["GCM"])["fcmV1Message"]["message"]
            found.append(
                (
                    request["MessageAttributes"][APNS_COLLAPSE_ID]["StringValue"],
                    fcm["android"]["collapse_key"],
                    fcm["android"]["notification"]["tag"],
                )
            )
        return found


@pytest.fixture
def publishes(app: System) -> Iterator[Publishes]:
    """Watches the push sender's SNS client: its requests, and answers lost on demand."""
    push = runtime().push
    assert push is not None
    events = (push.publisher or push.client).meta.events
    seen = Publishes()

    def params(params: dict[str, Any], **_: Any) -> None:
        seen.requests.append(dict(params))

    def answer(request: Any, event_name: str, **_: Any) -> Any:
        if seen.lose:
            seen.lose -= 1
            botocore_stubber(event_name, request)  # SNS (moto) takes it
            raise ReadTimeoutError(endpoint_url=request.url)
        return None

    events.register("provide-client-params.sns.Publish", params)
    events.register_first("before-send.sns.Publish", answer)
    yield seen
    events.unregister("provide-client-params.sns.Publish", params)
    events.unregister("before-send.sns.Publish", answer)


def test_a_push_whose_answer_was_lost_is_sent_once_more_under_the_same_collapse_id(
    app: System, publishes: Publishes
) -> None:
    # Given: an app user at the scene; SNS takes the first push, but its answer is lost
    put_location(app, register(app), *UTRECHT)
    publishes.lose = 1

    # When: the action is sent
    action_id = start_action(app)["action_id"]
    app.run_queues()

    # Then: a second try went out at once, with the first's collapse id on every platform, so
    # the phone shows one notification; dispatch sees the alert sent
    assert len(pushes()) == 2
    [first, second] = publishes.collapse_ids()
    assert first == second == (f"{action_id}:alert",) * 3
    got = counts(app, action_id)
    assert (got["sent"], got["unknown"]) == (1, 0)


def test_a_push_ambiguous_twice_is_never_tried_a_third_time(
    app: System, publishes: Publishes, clock: Callable[[timedelta], datetime]
) -> None:
    # Given: both tries of the push end ambiguously
    put_location(app, register(app), *UTRECHT)
    publishes.lose = 2
    action_id = start_action(app)["action_id"]
    app.run_queues()
    assert len(pushes()) == 2
    assert counts(app, action_id)["unknown"] == 1

    # When: time passes, the sweep runs and any work left is sent
    clock(RECEIPT_WINDOW * 3)
    app.sweep()
    app.run_queues()

    # Then: still two tries: the ledger allows one retry, and it was used
    assert len(pushes()) == 2
    assert counts(app, action_id)["unknown"] == 1


def a_push_left_sending(app: System, began: datetime) -> tuple[str, dict[str, Any]]:
    """An action whose one push alert a sender took (`sending` since `began`) and died with:
    the action's id, and the chunk as SQS will hand it back."""
    put_location(app, register(app), *UTRECHT)
    action_id = start_action(app)["action_id"]
    for message in app.emulator.drain(TARGETING_QUEUE):
        app.invoke("targeting_worker", TARGETING_QUEUE, [message])
    [chunk] = app.emulator.drain(PUSH_QUEUE)
    [delivery] = ledger.ledger(action_id)
    assert ledger.start_sending(delivery, Kind.ALERT, began)
    return action_id, chunk


def test_a_push_left_sending_by_a_dead_sender_is_tried_once_more_only_after_its_cut_off(
    app: System, publishes: Publishes, clock: Callable[[timedelta], datetime]
) -> None:
    # Given: a push sender took the alert (sending) and died before anything was recorded
    action_id, chunk = a_push_left_sending(app, datetime.now(UTC))

    # When: the chunk comes round again before that sender's time is surely up (a duplicate
    # delivery of the message may be sending it right now)
    app.invoke("push_sender", PUSH_QUEUE, [chunk])

    # Then: nothing is sent yet
    assert pushes() == []

    # When: it comes round after the push sender's cut-off, and then once more
    clock(SENDER_CUT_OFF[Channel.PUSH] + timedelta(seconds=1))
    app.invoke("push_sender", PUSH_QUEUE, [chunk])
    app.invoke("push_sender", PUSH_QUEUE, [chunk])

    # Then: it was tried exactly once more, under the alert's collapse id
    assert len(pushes()) == 1
    assert publishes.collapse_ids() == [(f"{action_id}:alert",) * 3]
    [settled] = ledger.ledger(action_id)
    assert settled.alert_status is DeliveryStatus.SENT and settled.alert_retried


def test_a_push_chunk_whose_sender_died_at_its_last_moment_comes_back_able_to_try_it_again(
    app: System, clock: Callable[[timedelta], datetime]
) -> None:
    # Given: a push sender began the alert (sending) at the last moment its timeout allowed, and
    # died there
    began = datetime.now(UTC) + timedelta(seconds=SENDER_TIMEOUT_S[Channel.PUSH])
    action_id, chunk = a_push_left_sending(app, began)

    # When: its chunk comes back, as soon as the sender's hold on it ends
    clock(timedelta(seconds=hold_s(Channel.PUSH)))
    app.invoke("push_sender", PUSH_QUEUE, [chunk])

    # Then: that return tries the push once more; no later one is needed
    assert len(pushes()) == 1
    [settled] = ledger.ledger(action_id)
    assert settled.alert_status is DeliveryStatus.SENT and settled.alert_retried
