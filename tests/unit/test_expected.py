"""What a dispatcher is told to expect: the arithmetic of rates, quiet hours and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.expected import (
    AVERAGE_CALL_S,
    SNS_PUBLISH_PER_SECOND,
    Rates,
    expect,
    incomplete,
    minutes_to_reach_all,
)
from chalicelib.domain.model import Channel
from chalicelib.logic.work import MAX_LEAD_S, SEND_CHUNK, TAPER_MIN, Release
from chalicelib.queues import MAX_DELAY_S, SENDERS

PROD = Rates(sms_per_second=10, voice_starts_per_second=2, voice_lines=10, push_per_second=500)
HOUR = 3600


def test_seventy_thousand_sms_at_ten_a_second_outlast_the_default_hour() -> None:
    """The issue's example: 70,000 SMS at 10/s take two hours; an hour cuts off the rest."""
    expected = expect({Channel.SMS: [0.0] * 70_000}, PROD, HOUR)

    sms = expected["sms"]
    assert sms["people"] == 70_000
    assert sms["seconds_to_last"] == 7_000  # the 70,000th goes at 6,999.9 s
    # Sent at 0, 0.1, ... 3,600.0 s: 36,001 in time.
    assert sms["cancelled"] == 70_000 - 36_001
    assert incomplete(expected)
    assert minutes_to_reach_all(expected) == 117


def test_within_the_duration_nobody_is_cancelled() -> None:
    expected = expect({Channel.SMS: [0.0] * 25_000}, PROD, HOUR)

    assert expected["sms"] == {"people": 25_000, "seconds_to_last": 2_500, "cancelled": 0}
    assert not incomplete(expected)


def test_every_channel_is_answered_even_with_nobody_on_it() -> None:
    expected = expect({}, PROD, HOUR)

    assert set(expected) == {"sms", "voice", "push"}
    assert all(c == {"people": 0, "seconds_to_last": 0, "cancelled": 0} for c in expected.values())
    assert minutes_to_reach_all(expected) == 1


def test_calls_are_bound_by_lines_held_for_the_average_call() -> None:
    assert PROD.per_second(Channel.VOICE) == 10 / AVERAGE_CALL_S  # not the 2 starts a second
    fast_lines = Rates(10, voice_starts_per_second=0.1, voice_lines=100, push_per_second=500)
    assert fast_lines.per_second(Channel.VOICE) == 0.1

    expected = expect({Channel.VOICE: [0.0] * 1_000}, PROD, HOUR)

    assert expected["voice"]["seconds_to_last"] == 3_996  # 999 calls after the first, 4 s apart
    assert expected["voice"]["cancelled"] == 1_000 - 901


def test_push_shares_the_regions_publish_quota_with_sms() -> None:
    greedy = Rates(100, 2, 10, push_per_second=20_000)

    assert greedy.per_second(Channel.PUSH) == SNS_PUBLISH_PER_SECOND - 100
    assert PROD.per_second(Channel.PUSH) == 500
    all_sms = Rates(SNS_PUBLISH_PER_SECOND, 2, 10, push_per_second=500)
    assert expect({Channel.PUSH: [0.0] * 3}, all_sms, HOUR)["push"]["seconds_to_last"] == 2


def test_a_landline_in_its_quiet_hours_is_called_when_they_end() -> None:
    """Two calls now, three held until 07:00 (8 hours away): the held ones end the list."""
    waits = [0.0, 0.0, 8 * HOUR, 8 * HOUR, 8 * HOUR]

    short = expect({Channel.VOICE: waits}, PROD, HOUR)["voice"]
    long = expect({Channel.VOICE: waits}, PROD, 8 * HOUR + 8)["voice"]

    assert short == {"people": 5, "seconds_to_last": 8 * HOUR + 8, "cancelled": 3}
    # At 8 h + 8 s the third held call (due at 8 h + 8 s) is still in time.
    assert long["cancelled"] == 0


def test_a_held_group_behind_a_long_list_waits_for_the_list() -> None:
    """People due at 10 s join the queue behind those still being sent from 0 s."""
    rates = Rates(1, 2, 10, 500)

    sms = expect({Channel.SMS: [0.0] * 20 + [10.0] * 5}, rates, HOUR)["sms"]

    assert sms["seconds_to_last"] == 24


def test_the_duration_needed_is_rounded_up_to_whole_minutes() -> None:
    expected = expect({Channel.SMS: [0.0] * 602}, PROD, 60)  # the last at 60.1 s

    assert expected["sms"]["seconds_to_last"] == 61
    assert expected["sms"]["cancelled"] == 1
    assert minutes_to_reach_all(expected) == 2


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_release_keeps_each_chunk_to_its_turn_at_the_rate() -> None:
    """At 10 SMS/s a chunk of 25 takes 2.5 s of the channel; the first ones (up to the lead)
    go at once, the rest at their turn, rounded down to whole seconds."""
    clock = Clock()
    release = Release(PROD, clock=clock)
    lead = min(SENDERS[Channel.SMS] * SEND_CHUNK / 10, MAX_LEAD_S)

    delays = [release.next_chunk(Channel.SMS, SEND_CHUNK) for _ in range(6)]

    assert lead == MAX_LEAD_S
    assert [d for d, _ in delays] == [0, 0, 0, 2, 5, 7]
    assert all(due is None for _, due in delays)


def test_release_counts_time_spent_claiming() -> None:
    clock = Clock()
    release = Release(PROD, clock=clock)
    for _ in range(4):
        release.next_chunk(Channel.SMS, SEND_CHUNK)  # turns at 0, 0, 0, 2.5 s
    clock.now += timedelta(seconds=6)

    # Its turn is at 10 - 5 = 5 s from the first chunk, already past: at once.
    assert release.next_chunk(Channel.SMS, SEND_CHUNK) == (0, None)


def test_release_past_sqs_longest_delay_carries_its_due_time() -> None:
    clock = Clock()
    release = Release(PROD, clock=clock)
    release.next_chunk(Channel.SMS, 10_000)  # 1,000 s of SMS ahead

    delay, due = release.next_chunk(Channel.SMS, SEND_CHUNK)

    assert delay == MAX_DELAY_S
    assert due == clock.now + timedelta(seconds=1_000 - MAX_LEAD_S)


@pytest.mark.parametrize("channel", list(Channel))
def test_each_channel_is_paced_on_its_own(channel: Channel) -> None:
    release = Release(PROD, clock=Clock())
    release.next_chunk(Channel.SMS, 100_000)  # a long SMS list

    assert release.next_chunk(channel, SEND_CHUNK)[0] == (0 if channel != Channel.SMS else 900)


class Person:
    def __init__(self, participant_id: str, channel: Channel) -> None:
        self.participant_id = participant_id
        self.channel = channel


def test_people_are_claimed_in_their_channels_turns_not_fastest_channel_first() -> None:
    """Targeting finds 3,000 app users nearer than 100 SMS people. At 500 pushes and 10 SMS a
    second, the first SMS chunk (25 people, 2.5 s of SMS) is claimed beside the first 2.5 s of
    pushes, not after all 3,000 of them (6 s of pushes)."""
    push = [Person(f"p{n}", Channel.PUSH) for n in range(3000)]
    sms = [Person(f"s{n}", Channel.SMS) for n in range(100)]

    order = Release(PROD, clock=Clock()).in_turn(push + sms)

    position = {person.participant_id: i for i, person in enumerate(order)}
    # The 25th SMS person's turn is 2.4 s: after the pushes due by then (1,201), no more.
    assert position["s24"] == 1201 + 24
    assert position["s1"] < position["p60"]
    # Each channel keeps its own order (nearest first), and everyone is there once.
    assert [p for p in order if p.channel is Channel.PUSH] == push
    assert [p for p in order if p.channel is Channel.SMS] == sms


def _last_send_s(sizes: list[int], per_second: float) -> float:
    """When the last chunk ends if each becomes visible at its turn and one instance sends it at
    its share of the rate."""
    share = per_second / SENDERS[Channel.SMS]
    ends, before = [], 0
    for size in sizes:
        ends.append(before / per_second + size / share)
        before += size
    return max(ends)


@pytest.mark.parametrize("people", [1475, 180, 25_000])
def test_a_lists_last_chunks_are_cut_so_the_senders_finish_together(people: int) -> None:
    """1,475 SMS at 50 a second are 29.5 s of the channel; each of the 8 instances sends 6.25 a
    second, so a last chunk of 25 takes one of them 4 s. Cut smaller at the end, the last SMS
    goes within a smallest chunk's time of the list's own."""
    ids = [f"p{n}" for n in range(people)]
    release = Release(PROD, clock=Clock())
    release.expect(Person(i, Channel.SMS) for i in ids)

    sizes = [len(chunk) for chunk in release.split(Channel.SMS, ids)]

    assert sum(sizes) == people
    full = max(0, people - SENDERS[Channel.SMS] * SEND_CHUNK)
    assert sizes[: full // SEND_CHUNK] == [SEND_CHUNK] * (full // SEND_CHUNK)
    assert min(sizes[:-1]) >= TAPER_MIN  # the last holds what is left
    tail = TAPER_MIN * SENDERS[Channel.SMS] / 50
    assert _last_send_s(sizes, 50) <= people / 50 + tail
    # Uncut, the last full chunk would end a whole chunk's time late.
    uncut = [len(chunk) for chunk in Release(PROD, clock=Clock()).split(Channel.SMS, ids)]
    assert _last_send_s(uncut, 50) > people / 50 + tail
