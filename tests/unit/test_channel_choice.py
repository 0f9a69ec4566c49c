"""Which channel an alert goes out on: preferences, quiet hours and the missing-person override."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.dal.models import Place
from chalicelib.domain.model import Channel, Incident
from chalicelib.domain.signup import QuietHours
from chalicelib.logic.targeting import choose_channel, quiet_until

MOBILE, LANDLINE = "+31612345678", "+31301234567"
NIGHT = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # 00:30 in Amsterdam
DAY = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)  # 12:00 in Amsterdam
BOTH = ["sms", "voice"]


def place(channel: str, phone: str, quiet: tuple[str, str] | None = ("23:00", "07:00")) -> Place:
    return Place(
        "u178k",
        "sk",
        participant_id="p",
        label="home",
        lat=52.09,
        lon=5.12,
        phone=phone,
        language="nl",
        channel=channel,
        quiet_from=quiet[0] if quiet else None,
        quiet_to=quiet[1] if quiet else None,
    )


@pytest.mark.parametrize(
    ("who", "available", "when", "incident", "expected"),
    [
        (place("voice", MOBILE), BOTH, DAY, Incident.BURGLARY, Channel.VOICE),
        (place("voice", MOBILE), BOTH, NIGHT, Incident.BURGLARY, Channel.SMS),
        (place("voice", LANDLINE), BOTH, NIGHT, Incident.BURGLARY, Channel.VOICE),
        (place("voice", LANDLINE), BOTH, NIGHT, Incident.MISSING_PERSON, Channel.VOICE),
        (place("voice", MOBILE, quiet=None), BOTH, NIGHT, Incident.ROBBERY, Channel.VOICE),
        (place("sms", MOBILE), BOTH, NIGHT, Incident.BURGLARY, Channel.SMS),
        (place("voice", MOBILE), ["sms"], DAY, Incident.BURGLARY, Channel.SMS),
        (place("voice", LANDLINE), ["sms"], DAY, Incident.BURGLARY, None),
    ],
    ids=[
        "voice-by-day",
        "quiet-mobile-gets-sms",
        "quiet-landline-waits",
        "missing-person-overrides-quiet",
        "no-quiet-hours",
        "sms-unaffected",
        "voice-not-offered-mobile",
        "voice-not-offered-landline",
    ],
)
def test_the_channel_follows_the_rules(
    who: Place, available: list[str], when: datetime, incident: Incident, expected: Channel | None
) -> None:
    assert choose_channel(who, available, incident, when) == expected


@pytest.mark.parametrize(
    ("window", "local", "inside"),
    [
        (("23:00", "07:00"), "23:00", True),
        (("23:00", "07:00"), "06:59", True),
        (("23:00", "07:00"), "07:00", False),
        (("23:00", "07:00"), "12:00", False),
        (("13:00", "14:00"), "13:30", True),
        (("13:00", "14:00"), "14:30", False),
    ],
)
def test_quiet_hours_run_past_midnight_in_dutch_time(
    window: tuple[str, str], local: str, inside: bool
) -> None:
    hour, minute = map(int, local.split(":"))
    # 28 November: Amsterdam is UTC+1
    moment = datetime(2026, 11, 28, (hour - 1) % 24, minute, tzinfo=UTC)
    assert QuietHours(*window).contains(moment) is inside


@pytest.mark.parametrize(
    ("who", "when", "incident", "until"),
    [
        # 00:30 in Amsterdam, quiet 23:00-07:00: called at 07:00 Amsterdam (06:00 UTC)
        (
            place("voice", LANDLINE),
            NIGHT,
            Incident.BURGLARY,
            datetime(2026, 11, 29, 6, 0, tzinfo=UTC),
        ),
        # 23:15 in Amsterdam: the window ends the next morning
        (
            place("voice", LANDLINE),
            datetime(2026, 11, 28, 22, 15, tzinfo=UTC),
            Incident.ROBBERY,
            datetime(2026, 11, 29, 6, 0, tzinfo=UTC),
        ),
        # 30 March (UTC+2 after the clocks went forward): 07:00 Amsterdam is 05:00 UTC
        (
            place("voice", LANDLINE),
            datetime(2026, 3, 30, 1, 0, tzinfo=UTC),
            Incident.BURGLARY,
            datetime(2026, 3, 30, 5, 0, tzinfo=UTC),
        ),
        (place("voice", LANDLINE), DAY, Incident.BURGLARY, None),
        (place("voice", LANDLINE), NIGHT, Incident.MISSING_PERSON, None),
        (place("voice", LANDLINE, quiet=None), NIGHT, Incident.BURGLARY, None),
    ],
    ids=["after-midnight", "before-midnight", "summer-time", "by-day", "missing-person", "none"],
)
def test_a_landline_in_its_quiet_hours_is_called_when_they_end(
    who: Place, when: datetime, incident: Incident, until: datetime | None
) -> None:
    assert quiet_until(who, incident, when) == until
