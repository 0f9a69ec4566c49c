"""Send work: the message that asks a sender to send one chunk of alerts or results, and the
tally of what became of each of its deliveries."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum, auto
from itertools import groupby, islice
from typing import Any, Protocol, TypeVar

from chalicelib.domain.expected import Rates, release_at_s
from chalicelib.domain.metrics import Metric
from chalicelib.domain.model import Channel, Kind
from chalicelib.queues import MAX_DELAY_S, SENDERS, WorkQueue

# Recipients per send message: small enough to finish well inside a visibility timeout.
SEND_CHUNK = 25
# The smallest chunk `Release.split` cuts at the end of a list: smaller ones cost more in
# invocations than they save in the last seconds.
TAPER_MIN = 5
# How far ahead of its turn a released chunk becomes visible: one round of the channel's
# senders (each busy with one chunk), so they all start at once, but never more than this, so a
# later action's first chunk waits behind seconds of work, not a round of slow chunks.
MAX_LEAD_S = 5.0


class Addressed(Protocol):
    """Anything that names a participant and the channel they are reached on."""

    @property
    def participant_id(self) -> str: ...

    @property
    def channel(self) -> str: ...


A = TypeVar("A", bound=Addressed)


@dataclass(frozen=True)
class SendWork:
    """One chunk of one channel's messages of an action.

    `attempt` counts how often the chunk was put back (throttled, lines busy, waiting for an
    alert in flight): each time as a new message, so waiting never uses up SQS receives.
    `not_before` holds calls until someone's quiet hours end.
    """

    kind: Kind
    channel: Channel
    action_id: str
    participant_ids: tuple[str, ...]
    attempt: int = 0
    not_before: datetime | None = None
    update_id: str | None = None  # which update, for kind update

    def to_item(self) -> dict[str, Any]:
        """The JSON body of its SQS message."""
        item: dict[str, Any] = {
            "kind": self.kind.value,
            "channel": self.channel.value,
            "action_id": self.action_id,
            "participant_ids": list(self.participant_ids),
        }
        if self.attempt:
            item["attempt"] = self.attempt
        if self.not_before is not None:
            item["not_before"] = self.not_before.isoformat()
        if self.update_id is not None:
            item["update_id"] = self.update_id
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any], queue_channel: Channel) -> SendWork:
        """Read a message body (as written by to_item) taken from `queue_channel`'s queue.

        A body without a channel was written before channels had a queue each: it is read as
        work of the queue it came from.
        """
        not_before = item.get("not_before")
        return cls(
            Kind(item["kind"]),
            Channel(item.get("channel", queue_channel)),
            str(item["action_id"]),
            tuple(map(str, item["participant_ids"])),
            int(item.get("attempt", 0)),
            datetime.fromisoformat(not_before) if not_before else None,
            item.get("update_id"),
        )

    def later(self, participant_ids: Sequence[str]) -> SendWork:
        """The same work for these people, put back once more."""
        return replace(self, participant_ids=tuple(participant_ids), attempt=self.attempt + 1)


def _now() -> datetime:
    return datetime.now(UTC)


def lead_s(channel: Channel, per_second: float) -> float:
    """How early a released chunk becomes visible: one round of the channel's senders, at most
    MAX_LEAD_S."""
    return min(SENDERS[channel] * SEND_CHUNK / per_second, MAX_LEAD_S)


@dataclass
class Release:
    """Releases one fan-out's chunks onto each channel's queue at that channel's rate, so the
    visible backlog of any one action is seconds deep and a later action's chunks interleave
    with it (docs/architecture.md, "Fair shares").

    A chunk due within SQS's 900 s is delayed by DelaySeconds; a later one is delayed 900 s and
    carries its due time as `not_before`, which its sender honours by putting it back.
    """

    rates: Rates
    clock: Callable[[], datetime] = _now
    _started: dict[Channel, datetime] = field(default_factory=dict)
    _released: Counter[Channel] = field(default_factory=Counter)
    _left: Counter[Channel] = field(default_factory=Counter)  # people still to chunk, if known

    def next_chunk(self, channel: Channel, people: int) -> tuple[int, datetime | None]:
        """The delay (s) and, past 900 s, the due time of the channel's next chunk of `people`."""
        now = self.clock()
        started = self._started.setdefault(channel, now)  # its first chunk: the rate's zero
        per_second = self.rates.per_second(channel)
        offset = release_at_s(self._released[channel], per_second, lead_s(channel, per_second))
        self._released[channel] += people
        due = started + timedelta(seconds=offset)
        wait = (due - now).total_seconds()
        if wait <= MAX_DELAY_S:
            return max(0, int(wait)), None  # rounded down: a chunk is never later than its turn
        return MAX_DELAY_S, due

    def expect(self, people: Iterable[Addressed]) -> None:
        """Note whom this fan-out will release, so `split` can cut each channel's last chunks
        smaller. Not voice: its calls are bound by the lines both instances share, not by each
        instance's share of a rate."""
        self._left.update(
            channel for person in people if (channel := Channel(person.channel)) != Channel.VOICE
        )

    def split(self, channel: Channel, ids: Sequence[str]) -> Iterator[list[str]]:
        """`ids` in chunks of SEND_CHUNK; among a channel's last people (if `expect`ed), chunks of
        a SENDERS-th of the people left, at least TAPER_MIN. Each instance sends at its share of
        the rate, so one last full chunk would keep the channel at 1/SENDERS of its rate for a
        whole chunk's time (a 1,500-person action lost 6 % of its quota so)."""
        i = 0
        while i < len(ids):
            left = self._left[channel]
            size = SEND_CHUNK
            if left:
                size = max(TAPER_MIN, min(SEND_CHUNK, math.ceil(left / SENDERS[channel])))
            chunk = list(ids[i : i + size])
            self._left[channel] = max(0, left - len(chunk))
            i += len(chunk)
            yield chunk

    def in_turn(self, people: Sequence[A]) -> list[A]:
        """`people` in the order their channels' rates reach them, each channel's own order kept:
        claimed in this order, every channel's first chunks are ready at once, not after all of a
        faster channel's people (70,000 pushes are 27 s of claims)."""
        seen: Counter[Channel] = Counter()
        turns: list[float] = []
        for person in people:
            channel = Channel(person.channel)
            turns.append(seen[channel] / self.rates.per_second(channel))
            seen[channel] += 1
        return [people[i] for i in sorted(range(len(people)), key=turns.__getitem__)]


def enqueue_by_channel(
    queues: Mapping[Channel, WorkQueue],
    kind: Kind,
    action_id: str,
    people: Sequence[Addressed],
    not_before: datetime | None = None,
    delay_s: int = 0,
    update_id: str | None = None,
    release: Release | None = None,
) -> None:
    """Each channel's people to its own queue, in their order and SEND_CHUNK to a message, so no
    channel waits for another; with a `release`, each chunk when its turn at the rate comes."""
    by_channel: dict[Channel, list[str]] = {}
    for person in people:
        by_channel.setdefault(Channel(person.channel), []).append(person.participant_id)
    for channel, ids in by_channel.items():
        timed: list[tuple[int, datetime | None, list[str]]] = []
        if release is None:
            timed = [(delay_s, not_before, chunk) for chunk in chunks(ids, SEND_CHUNK)]
        else:
            for chunk in release.split(channel, ids):
                delay, due = release.next_chunk(channel, len(chunk))
                held = [d for d in (due, not_before) if d is not None]
                timed.append((max(delay, delay_s), max(held) if held else None, chunk))
        # One SQS request per run of chunks with the same delay (ten messages at most each).
        for delay, run in groupby(timed, key=lambda t: t[0]):
            queues[channel].send(
                (
                    SendWork(
                        kind, channel, action_id, tuple(chunk), not_before=due, update_id=update_id
                    ).to_item()
                    for _, due, chunk in run
                ),
                delay_s=delay,
            )


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Step(Enum):
    """What became of one delivery of a chunk (logged by its lower-case name)."""

    SENT = auto()
    FAILED = auto()  # refused for good: it did not go out
    UNKNOWN = auto()  # it may have gone out: settled by a receipt, or tried once more at most
    RETRIED = auto()  # an ambiguous push, queued again once: sent again at once, same collapse id
    CUT_OFF = auto()  # a result whose alert's sender died mid-send: that alert is unknown
    SETTLED = auto()  # nothing (more) to send: done earlier, cancelled or skipped
    THROTTLED = auto()  # the provider refused for now: the rest of the chunk waits
    LINES_BUSY = auto()  # no call line came free in time: the rest of the chunk waits
    WAIT_ALERT = auto()  # a result whose alert is still being sent
    TIME_UP = auto()  # the invocation's time for sending is spent: the rest of the chunk goes back


@dataclass
class Tally:
    """What one chunk did, as the ledger records it: counted and published once when it ends."""

    steps: Counter[Step] = field(default_factory=Counter)
    last_sent: datetime | None = None
    first_alert: datetime | None = None  # the action's first alert on this channel, if this chunk's

    def note(self, step: Step, at: datetime) -> None:
        """Count one delivery's step (a throttled one once per refusal)."""
        self.steps[step] += 1
        if step is Step.SENT:
            self.last_sent = at

    def values(self, kind: Kind, created_at: datetime) -> dict[Metric, float]:
        """The chunk's metrics; times in milliseconds from the action's start."""
        values: dict[Metric, float] = {Metric.THROTTLED: self.steps[Step.THROTTLED]}
        if kind is Kind.ALERT:
            values[Metric.ALERTS_SENT] = self.steps[Step.SENT]
            values[Metric.ALERTS_FAILED] = self.steps[Step.FAILED] + self.steps[Step.UNKNOWN]
            if self.last_sent is not None:
                values[Metric.TIME_TO_LAST_ALERT] = _ms(self.last_sent - created_at)
        elif kind is Kind.RESULT:
            values[Metric.RESULTS_SENT] = self.steps[Step.SENT]
            values[Metric.ALERTS_FAILED] = self.steps[Step.CUT_OFF]  # found unknown only now
        if self.first_alert is not None:
            values[Metric.TIME_TO_FIRST_ALERT] = _ms(self.first_alert - created_at)
        return values


def _ms(elapsed: timedelta) -> float:
    return round(elapsed.total_seconds() * 1000, 1)
