"""Bearings for sightings, and which channel reaches an app's current location."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.push import push_payload
from chalicelib.dal.models import Place
from chalicelib.domain.geo.sphere import bearing_deg, haversine_m
from chalicelib.domain.model import Channel, Incident
from chalicelib.logic.targeting import choose_channel

DAY = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
ARN = "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/burgernet/abc"


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ((52.1, 5.0), 0.0),  # north
        ((52.0, 5.1), 90.0),  # east (a little less on a sphere, see tolerance)
        ((51.9, 5.0), 180.0),  # south
        ((52.0, 4.9), 270.0),  # west
    ],
)
def test_bearing_points_the_way_from_the_centre_to_the_sighting(
    to: tuple[float, float], expected: float
) -> None:
    assert bearing_deg(52.0, 5.0, *to) == pytest.approx(expected, abs=0.1)


def test_bearing_is_always_within_0_and_360_and_zero_for_the_same_point() -> None:
    assert 0.0 <= bearing_deg(52.0, 5.0, 51.99, 4.99) < 360.0
    assert bearing_deg(52.0, 5.0, 52.0, 5.0) == 0.0


def test_a_sighting_a_kilometre_north_east_is_a_kilometre_away_at_45_degrees() -> None:
    lat, lon = 52.0 + 0.00636, 5.0 + 0.01033  # about 707 m north and 707 m east
    assert haversine_m(52.0, 5.0, lat, lon) == pytest.approx(1000, rel=0.01)
    assert bearing_deg(52.0, 5.0, lat, lon) == pytest.approx(45, abs=0.5)


def location(phone: str = "") -> Place:
    return Place(
        "u178k",
        "sk",
        participant_id="device:d1",
        label="here",
        lat=52.09,
        lon=5.12,
        phone=phone,
        language="nl",
        channel="push",
        device_id="d1",
    )


def test_an_app_location_with_an_endpoint_is_reached_by_push_whatever_the_action_names() -> None:
    assert choose_channel(location(), ["sms"], Incident.BURGLARY, DAY, ARN) is Channel.PUSH


def test_an_anonymous_app_location_without_an_endpoint_is_not_reached() -> None:
    assert choose_channel(location(), ["sms"], Incident.BURGLARY, DAY, None) is None


def test_a_linked_app_location_without_an_endpoint_falls_back_to_sms() -> None:
    found = choose_channel(location("+31612345678"), ["sms"], Incident.BURGLARY, DAY, None)
    assert found is Channel.SMS


def test_the_push_payload_carries_the_action_id_for_both_platforms() -> None:
    message = json.loads(push_payload("Burgernet B-1", "Let op", "action-123", "action-123:alert"))
    fcm = json.loads(message["GCM"])["fcmV1Message"]["message"]
    assert fcm["data"]["action_id"] == "action-123"
    assert json.loads(message["APNS"])["action_id"] == "action-123"
    assert message["default"] == "Let op"
