"""Phone numbers as people write them, and the pacing that keeps SMS within the account's rate."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest

from chalicelib import runtime
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.model import Channel
from chalicelib.domain.pacing import RateLimiter
from chalicelib.domain.phones import is_mobile, normalise
from chalicelib.settings import Settings
from tools.emulator import stage_environment

# --- normalise ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0612345678",
        "06-12345678",
        "06 12345678",
        "06 12 34 56 78",
        "06-1234 5678",
        "(06) 12345678",
        "+31612345678",
        "+31 6 1234 5678",
        "+31 (0)6 12345678",
        "+31(0)612345678",
        "0031612345678",
        "0031 6 12345678",
        " 0612345678 ",
    ],
)
def test_given_a_dutch_mobile_in_any_usual_notation_when_normalised_then_it_is_e164(
    raw: str,
) -> None:
    assert normalise(raw) == "+31612345678"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("030 123 4567", "+31301234567"),
        ("030-1234567", "+31301234567"),
        ("+31 30 123 4567", "+31301234567"),
        ("0031301234567", "+31301234567"),
        ("020-1234567", "+31201234567"),
        ("010 123 45 67", "+31101234567"),
    ],
)
def test_given_a_dutch_landline_when_normalised_then_it_is_e164(raw: str, e164: str) -> None:
    assert normalise(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "+32 470 12 34 56",  # Belgian mobile
        "0032470123456",  # the same, with the international prefix
        "+49 151 23456789",  # German mobile
        "+44 7911 123456",  # British mobile
    ],
)
def test_given_a_valid_foreign_number_when_normalised_then_foreign_phone(raw: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        normalise(raw)
    assert raised.value.code == "foreign_phone"
    assert raised.value.field == "phone"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "12345",
        "06-1234",
        "061234567",  # one digit short
        "06123456789",  # one digit too many
        "0612345678901",
        "+31",
        "+31 6",
        "06-1234567x",
        "+999 123456789",  # no such country
    ],
)
def test_given_a_malformed_number_when_normalised_then_invalid_phone(raw: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        normalise(raw)
    assert raised.value.code == "invalid_phone"
    assert raised.value.field == "phone"


def test_given_a_field_name_when_normalise_rejects_then_the_error_names_that_field() -> None:
    with pytest.raises(InvalidInput) as raised:
        normalise("12345", field="callback")
    assert raised.value.field == "callback"


def test_given_an_invalid_number_when_rejected_then_the_message_does_not_repeat_it() -> None:
    for raw in ("0612345", "+32 470 12 34 56"):
        with pytest.raises(InvalidInput) as raised:
            normalise(raw)
        digits = "".join(c for c in raw if c.isdigit())
        assert digits not in raised.value.message


# --- is_mobile ---------------------------------------------------------------------------------


@pytest.mark.parametrize("e164", ["+31612345678", "+31687654321", "+31650000000"])
def test_given_a_dutch_mobile_when_checked_then_it_can_receive_sms(e164: str) -> None:
    assert is_mobile(e164)


@pytest.mark.parametrize("e164", ["+31301234567", "+31201234567", "+31101234567", "+318001234"])
def test_given_a_dutch_landline_or_freephone_when_checked_then_it_cannot_receive_sms(
    e164: str,
) -> None:
    assert not is_mobile(e164)


def test_given_any_mobile_notation_when_normalised_then_it_is_mobile() -> None:
    assert is_mobile(normalise("+31 6 1234 5678"))
    assert not is_mobile(normalise("030 123 4567"))


# --- RateLimiter -------------------------------------------------------------------------------


class FakeTime:
    """A simulated clock; sleeping advances it, and every sleep is recorded."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.now += seconds

    def limiter(self, per_second: float, burst: float = 1.0) -> RateLimiter:
        return RateLimiter(per_second, burst=burst, clock=self.clock, sleep=self.sleep)


def call_times(limiter: RateLimiter, fake: FakeTime, n: int, gap: float = 0.0) -> list[float]:
    """When each of `n` calls went ahead, the caller taking `gap` seconds between calls."""
    times = []
    for _ in range(n):
        limiter.wait()
        times.append(fake.now)
        fake.now += gap
    return times


def most_in_any_second(times: list[float]) -> int:
    """The largest number of calls in any half-open one-second window."""
    return max(sum(1 for t in times if start <= t < start + 1 - 1e-9) for start in times)


@pytest.mark.parametrize("n", [2, 3, 10, 41])
def test_given_back_to_back_calls_at_2_per_second_then_never_more_than_2_in_any_second(
    n: int,
) -> None:
    fake = FakeTime()
    times = call_times(fake.limiter(per_second=2), fake, n)
    assert most_in_any_second(times) <= 2
    assert sum(fake.sleeps) == pytest.approx((n - 1) / 2)
    assert times[-1] - times[0] == pytest.approx((n - 1) / 2)


def test_given_back_to_back_calls_then_they_are_evenly_spaced() -> None:
    fake = FakeTime()
    times = call_times(fake.limiter(per_second=4), fake, 9)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([0.25] * 8)


def test_given_a_single_call_then_it_never_waits() -> None:
    fake = FakeTime()
    fake.limiter(per_second=2).wait()
    assert sum(fake.sleeps) == 0


@pytest.mark.parametrize("gap", [0.5, 0.6, 1.0, 3.0])
def test_given_calls_slower_than_the_rate_then_nothing_sleeps(gap: float) -> None:
    fake = FakeTime()
    call_times(fake.limiter(per_second=2), fake, 20, gap=gap)
    assert sum(fake.sleeps) == pytest.approx(0)


def test_given_calls_a_bit_faster_than_the_rate_then_they_wait_only_the_difference() -> None:
    fake = FakeTime()
    call_times(fake.limiter(per_second=2), fake, 11, gap=0.4)
    # Each call after the first waits 0.1 s on top of the caller's own 0.4 s.
    assert sum(fake.sleeps) == pytest.approx(10 * 0.1)


def test_given_a_burst_allowance_then_that_many_calls_go_at_once_and_the_rest_are_paced() -> None:
    fake = FakeTime()
    times = call_times(fake.limiter(per_second=2, burst=5), fake, 9)
    assert times[:5] == [times[0]] * 5
    assert [t - times[0] for t in times[5:]] == pytest.approx([0.5, 1.0, 1.5, 2.0])
    assert sum(fake.sleeps) == pytest.approx(2.0)


def test_given_a_long_idle_period_then_the_burst_is_refilled_but_never_beyond_its_size() -> None:
    fake = FakeTime()
    limiter = fake.limiter(per_second=2, burst=3)
    call_times(limiter, fake, 10)
    fake.now += 3600  # an hour of quiet would be 7200 tokens if the bucket did not cap
    fake.sleeps.clear()
    times = call_times(limiter, fake, 6)
    assert times[:3] == [times[0]] * 3
    assert sum(fake.sleeps) == pytest.approx(1.5)
    assert most_in_any_second(times) <= 4  # the burst of 3, then one paced call


def test_given_a_long_run_then_the_average_rate_is_the_configured_rate() -> None:
    fake = FakeTime()
    times = call_times(fake.limiter(per_second=10, burst=4), fake, 1004)
    elapsed = times[-1] - times[0]
    assert math.isclose(1000 / elapsed, 10, rel_tol=1e-6)


def test_given_a_fractional_rate_then_calls_are_seconds_apart() -> None:
    fake = FakeTime()
    times = call_times(fake.limiter(per_second=0.5), fake, 4)
    assert [t - times[0] for t in times] == pytest.approx([0, 2, 4, 6])


def test_given_a_refused_call_is_refunded_then_its_retry_goes_at_once_and_the_pace_holds() -> None:
    fake = FakeTime()
    limiter = fake.limiter(per_second=2)
    limiter.wait()
    started = fake.now
    limiter.refund()  # the provider refused it without counting it
    times = call_times(limiter, fake, 3)
    assert [t - started for t in times] == pytest.approx([0, 0.5, 1.0])


def test_given_an_sms_instance_delayed_between_two_chunks_then_it_catches_up_what_it_lost() -> None:
    # Given: an SMS instance's pacer (100 SMS/s over 8 instances: one every 80 ms), two chunks
    # of 25 sent back to back, with 130 ms between them (delete, receive, reads, counters)
    fake = FakeTime()
    env = {**stage_environment("prod"), "AWS_REGION": "eu-west-1", "SMS_PER_SECOND": "100"}
    settings = Settings.from_env(env)
    pacer = replace(runtime.pacers(settings)[Channel.SMS], clock=fake.clock, sleep=fake.sleep)
    first = call_times(pacer, fake, 25)
    fake.now += 0.13
    second = call_times(pacer, fake, 25)

    # Then: the 50 SMS take no longer than 50 slots at 12.5/s back to back: the gap is caught up
    assert second[-1] - first[0] <= 49 / 12.5
    # and never more than its share plus the catch-up in any second
    assert most_in_any_second(first + second) <= 12.5 + runtime.CATCH_UP
