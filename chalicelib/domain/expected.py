"""What an action will do before it starts: per channel, how many people, when the last alert
goes out at the configured rates, and how many its duration would cut off.

Pure arithmetic on the counts targeting's channel choice produces (docs/api.md, "Expected").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypedDict

from chalicelib.domain.model import Channel

# The length of a Burgernet call the arithmetic assumes: the alert read out once, repeated on
# request, and the goodbye (the fan-out bench draws calls of 20-60 s). A call holds its line
# for that long, so with 10 lines Connect starts at most 10 / 40 = 0.25 calls a second.
AVERAGE_CALL_S = 40.0
# SNS Publish, standard topics, per account in eu-west-1 (Europe, Ireland): 9,000 messages a
# second, shared by SMS and push publishes. AWS General Reference, "Amazon Simple Notification
# Service endpoints and quotas", https://docs.aws.amazon.com/general/latest/gr/sns.html.
SNS_PUBLISH_PER_SECOND = 9000.0


@dataclass(frozen=True)
class Rates:
    """The rates a deployment sends at (its settings)."""

    sms_per_second: float
    voice_starts_per_second: float
    voice_lines: int
    push_per_second: float

    def per_second(self, channel: Channel) -> float:
        """Alerts a second the channel can make at most: voice is bound by its lines."""
        if channel is Channel.SMS:
            return self.sms_per_second
        if channel is Channel.VOICE:
            return min(self.voice_starts_per_second, self.voice_lines / AVERAGE_CALL_S)
        # Push shares the account's Publish quota with SMS (at least 1/s, so an SMS rate at the
        # whole quota still leaves a rate to divide by).
        return max(1.0, min(self.push_per_second, SNS_PUBLISH_PER_SECOND - self.sms_per_second))


class ChannelExpected(TypedDict):
    """One channel's expectation."""

    people: int
    seconds_to_last: int  # from the start until the last alert, at the configured rate
    cancelled: int  # people whose alert would still wait when the action ends


def expect(
    waits: Mapping[Channel, Iterable[float]], rates: Rates, duration_s: float
) -> dict[str, ChannelExpected]:
    """Every channel's expectation; `waits` holds, per channel, each person's seconds until they
    may be sent (0, or the end of their quiet hours)."""
    return {
        channel.value: _channel(waits.get(channel, ()), rates.per_second(channel), duration_s)
        for channel in Channel
    }


def _channel(waits: Iterable[float], per_second: float, duration_s: float) -> ChannelExpected:
    """Sends one after the other at `per_second`, each person no earlier than their wait."""
    slot = 1 / per_second
    free = 0.0  # when the next send may go
    last = 0.0
    people = cancelled = 0
    for at, n in sorted(Counter(waits).items()):
        start = max(free, at)
        last = start + (n - 1) * slot
        free = last + slot
        people += n
        # The 1e-9 keeps a send due exactly at the end in time despite float rounding.
        in_time = math.floor((duration_s - start) * per_second + 1e-9) + 1
        cancelled += n - max(0, min(n, in_time))
    return ChannelExpected(
        people=people, seconds_to_last=math.ceil(last - 1e-9) if people else 0, cancelled=cancelled
    )


def incomplete(expected: Mapping[str, ChannelExpected]) -> bool:
    """Whether anyone would be cut off by the action's end."""
    return any(c["cancelled"] for c in expected.values())


def cut_off_by_channel(expected: Mapping[str, ChannelExpected]) -> dict[str, int]:
    """The channels that would cut people off, and how many each."""
    return {channel: c["cancelled"] for channel, c in expected.items() if c["cancelled"]}


def minutes_to_reach_all(expected: Mapping[str, ChannelExpected]) -> int:
    """The shortest duration, in whole minutes, in which every channel's last alert goes out."""
    return max(1, math.ceil(max(c["seconds_to_last"] for c in expected.values()) / 60))


def release_at_s(sent_before: int, per_second: float, lead_s: float) -> float:
    """When a chunk whose first person has `sent_before` people of the same fan-out and channel
    ahead of them should become visible to the senders: its turn at the channel's rate, less
    `lead_s` so the senders never wait for work (docs/architecture.md, "Fair shares")."""
    return max(0.0, sent_before / per_second - lead_s)
