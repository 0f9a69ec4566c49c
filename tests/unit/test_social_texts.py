"""What a public post says, and that it always fits: X's 280 (a link counts 23), Mastodon's 500."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.model import Incident, Outcome
from chalicelib.domain.requests import MAX_PLACE
from chalicelib.domain.social import KINDS, LIMITS, MASTODON, NETWORKS, Post, X, render
from chalicelib.domain.social import weighted_length as length

LINK = "https://www.burgernet.nl/a/ABC123"
TYPICAL = Post(
    kind="start",
    incident=Incident.BURGLARY,
    ref="ABC123",
    link=LINK,
    callback_number="0800-0011",
    description="man, circa 30 jaar, rode jas, zwarte fiets",
    place="Utrecht",
)
LONG_DESCRIPTION = (
    "Man, ongeveer 30 jaar, 1,80 m lang, slank postuur, donkere jas met capuchon, blauwe "
    "spijkerbroek en witte sneakers, draagt een grijze rugzak, vluchtte op een zwarte scooter "
    "zonder kenteken richting het centrum, mogelijk gewond aan de linkerhand en agressief"
)
LONG_MESSAGE = (
    "Verdachte nu te voet gezien bij het Centraal Station, richting Hoog Catharijne. " * 3
)
WORST = replace(
    TYPICAL,
    incident=Incident.HIT_AND_RUN,  # the longest headline
    ref="XXXXXX",
    description=LONG_DESCRIPTION,
    place="P" * MAX_PLACE,
    exercise=True,
    message=LONG_MESSAGE,
    outcome=Outcome.NOT_FOUND,
)


def test_a_start_post_reads_as_burgernets_call_with_everything_someone_needs() -> None:
    text = render(TYPICAL, X)

    assert text == (
        "Burgernet: inbraak in Utrecht. De politie zoekt: man, circa 30 jaar, rode jas, zwarte "
        "fiets. Ziet u deze persoon of dit voertuig? Bel direct gratis 0800-0011 en noem ref. "
        f"ABC123. {LINK}"
    )


def test_an_update_and_the_result_say_what_changed_and_keep_the_callback_line() -> None:
    update = render(replace(TYPICAL, kind="update", message="Nu te voet richting station"), X)
    result = render(replace(TYPICAL, kind="result", outcome=Outcome.ARRESTED), X)

    assert update.startswith("Update Burgernet, inbraak in Utrecht: Nu te voet richting station.")
    assert "Signalement: man, circa 30 jaar" in update
    assert "Er is een verdachte aangehouden." in result
    assert "Gezocht werd: man, circa 30 jaar" in result
    for text in (update, result):
        assert "0800-0011 en noem ref. ABC123." in text
        assert text.endswith(LINK)


def test_an_exercise_says_so_first_and_a_missing_person_asks_for_no_vehicle() -> None:
    drill = render(replace(TYPICAL, exercise=True, incident=Incident.MISSING_PERSON), MASTODON)

    assert drill.startswith("OEFENING, geen echte actie. Burgernet: vermiste persoon in Utrecht.")
    assert "Ziet u deze persoon?" in drill
    assert "voertuig" not in drill


def test_a_redacted_description_and_an_unknown_place_leave_no_gaps() -> None:
    text = render(replace(TYPICAL, kind="result", description=None, place=None), MASTODON)

    assert text.startswith("Burgernet, inbraak: de actie is beëindigd.")
    assert "Gezocht werd" not in text
    assert "  " not in text


@pytest.mark.parametrize(("kind", "network"), list(itertools.product(KINDS, NETWORKS)))
def test_the_longest_texts_are_shortened_to_the_networks_limit_keeping_the_fixed_parts(
    kind: str, network: str
) -> None:
    text = render(replace(WORST, kind=kind), network)

    assert length(text, network) <= LIMITS[network]
    assert length(text, network) >= LIMITS[network] - 25  # shortened, not emptied
    assert "…" in text
    assert "0800-0011 en noem ref. XXXXXX." in text
    assert text.startswith("OEFENING, geen echte actie.")
    assert text.endswith(LINK)


def test_shortening_keeps_some_of_each_free_text_rather_than_all_of_one() -> None:
    text = render(replace(WORST, kind="update"), X)

    assert "PPPP" in text  # the place
    assert "Verdachte nu te voet" in text  # the update
    assert "Signalement: Man, ongeveer 30 jaar" in text  # the description


def test_a_description_that_fits_is_not_touched() -> None:
    assert LONG_DESCRIPTION in render(replace(TYPICAL, description=LONG_DESCRIPTION), MASTODON)
    assert "…" in render(replace(TYPICAL, description=LONG_DESCRIPTION), X)


def test_x_counts_a_link_as_23_and_emoji_or_cjk_as_two() -> None:
    assert length(f"zie {LINK}", X) == 4 + 23
    assert length("zie https://a.nl", X) == 4 + 23  # a short link counts 23 too
    assert length("politie.nl", X) == 23  # X links a bare domain
    assert length("(zie https://politie.nl/tips).", X) == 5 + 23 + 2  # punctuation is no link
    assert length("😀", X) == 2
    assert length("警察", X) == 4
    assert length("😀", MASTODON) == 1
    assert length("beëindigd", X) == 9


@given(
    description=st.text(min_size=1, max_size=600),
    message=st.text(max_size=600),
    place=st.text(max_size=MAX_PLACE),
    kind=st.sampled_from(KINDS),
)
def test_whatever_dispatch_types_every_post_fits_every_network(
    description: str, message: str, place: str, kind: str
) -> None:
    post = replace(WORST, kind=kind, description=description, message=message, place=place)
    for network in NETWORKS:
        text = render(post, network)
        assert length(text, network) <= LIMITS[network]
        assert "ref. XXXXXX." in text
