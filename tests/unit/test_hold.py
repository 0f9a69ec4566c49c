"""A sender keeps its message hidden while it works: SMS 4 s at a time, renewed once half of
that has passed; voice and push once, for their whole invocation."""

from __future__ import annotations

from chalicelib.domain.model import Channel
from chalicelib.queues import Hold, WorkQueue, hold_s


class Queue(WorkQueue):
    """A queue that records each ChangeMessageVisibility and never reaches SQS."""

    def __init__(self) -> None:
        super().__init__(client=None, name="burgernet-sms")
        self.holds: list[tuple[float, int]] = []
        self.now = 0.0

    def hold(self, receipt_handle: str, seconds: int) -> bool:
        self.holds.append((self.now, seconds))
        return True


def _renewed_at(channel: Channel, times: list[float]) -> list[tuple[float, int]]:
    queue = Queue()
    held = Hold(queue, "handle", channel, clock=lambda: queue.now)
    for at in times:
        queue.now = at
        held.renew()
    return queue.holds


def test_an_sms_message_is_hidden_again_once_half_its_hold_has_passed() -> None:
    assert _renewed_at(Channel.SMS, [0.0, 0.5, 1.9, 2.1, 3.0, 4.2]) == [
        (0.0, 4),
        (2.1, 4),
        (4.2, 4),
    ]


def test_voice_and_push_hold_their_message_once_for_the_whole_invocation() -> None:
    for channel in (Channel.VOICE, Channel.PUSH):
        assert _renewed_at(channel, [0.0, 2.0, 150.0, 299.0]) == [(0.0, hold_s(channel))]
