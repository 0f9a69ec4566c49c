"""A sender stops taking people when its time for sending is spent, and puts the rest of its
chunk back at once: the invocation ends inside its Lambda timeout whatever the rate, so that
timeout, and the visibility timeout a crashed chunk's people wait, can be short."""

from __future__ import annotations

import pytest

from chalicelib import runtime as runtime_module
from chalicelib.domain.model import Channel
from chalicelib.logic import sending
from chalicelib.queues import SMS_QUEUE, TARGETING_QUEUE
from tests.support.fanout import INSIDE_PHONES, alerts_for, assert_each_got_exactly, run, start
from tests.support.system import System


@pytest.mark.usefixtures("neighbourhood")
def test_given_its_time_is_spent_when_a_sender_has_sent_one_then_the_rest_goes_back_at_once(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: an SMS sender whose time for sending is spent as soon as it starts
    monkeypatch.setattr(sending, "SEND_BUDGET_S", {Channel.SMS: 0.0})
    runtime_module.reset()
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    [chunk] = system.emulator.drain(SMS_QUEUE)

    # When: one invocation handles the chunk
    system.invoke("sms_sender", SMS_QUEUE, [chunk])

    # Then: it sent one SMS, and the rest of the chunk waits on the queue, visible at once
    assert len(system.emulator.sms()) == 1
    assert system.emulator.delayed(SMS_QUEUE) == []
    rest = system.emulator.drain(SMS_QUEUE)
    assert len(rest) == 1

    # When: the queue is worked off, one person an invocation
    for _ in INSIDE_PHONES:
        system.invoke("sms_sender", SMS_QUEUE, rest)
        rest = system.emulator.drain(SMS_QUEUE)

    # Then: everyone inside has exactly one alert
    assert rest == []
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, action["ref"]))
