"""The dal's copies of a record, written in its place, store exactly what the record holds."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.dal.models import Participant, PlaceRef, Verification, copied

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


def test_a_participant_copy_keeps_every_attribute() -> None:
    """Given a participant with every attribute set, its copy has each of them unchanged."""
    place = PlaceRef(
        label="home",
        lat=52.09,
        lon=5.12,
        cell="u178k",
        sk="u178ke1zz#p1#home",
        postcode="3511LX",
        house_number="1",
        addition="A",
        municipality="GM0344",
    )
    original = Participant(
        "p1",
        phone="+31612345678",
        language="nl",
        channel="sms",
        places=[place],
        created_at=NOW,
        quiet_from="22:00",
        quiet_to="07:00",
        municipality="GM0344",
        age_checked=True,
    )
    assert set(original.attribute_values) == set(Participant.get_attributes())
    assert copied(original, Participant).serialize() == original.serialize()


def test_a_participant_copy_leaves_out_what_was_never_set() -> None:
    """Given a participant without quiet hours, municipality or age check, neither has its copy."""
    original = Participant(
        "p2", phone="+31612345679", language="en", channel="voice", places=[], created_at=NOW
    )
    assert copied(original, Participant).serialize() == original.serialize()


def test_a_given_back_verification_keeps_every_attribute() -> None:
    """Given a verification with every attribute set, the copy given back has each of them."""
    original = Verification(
        "v1",
        purpose="login",
        phone="+31612345678",
        code_hash="abc",
        valid_until=NOW,
        attempts=2,
        participant_id="p1",
        request="{}",
        expires=NOW,
    )
    assert set(original.attribute_values) == set(Verification.get_attributes())
    assert copied(original, Verification).serialize() == original.serialize()
