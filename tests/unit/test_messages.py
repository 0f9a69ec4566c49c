"""What participants read: alert and result SMS texts, kept GSM-7 and within three segments."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.messages import (
    MAX_SEGMENTS,
    REF_LENGTH,
    description_overflow,
    render_alert,
    render_result,
    result_message_overflow,
    septets,
    sms_segments,
    to_gsm7,
)
from chalicelib.domain.model import Incident, Language, Outcome

CALLBACK = "0800-0011"
REF = "ABC123"
TYPICAL_DESCRIPTION = (
    "Man, ongeveer 30 jaar, 1,80 m lang, slank, donkere jas met capuchon en witte sneakers, "
    "vluchtte op een zwarte scooter richting het centrum"
)
UCS2_SEGMENT_CHARS = 70  # what a single non-GSM-7 character would have left per segment

ALERT_CASES = list(itertools.product(Incident, Language))
RESULT_CASES = list(itertools.product(Outcome, Language))


def longest_fitting(fits: Callable[[int], bool]) -> int:
    """Return the largest n for which fits(n) holds, fits being monotone and fits(0) true."""
    low, high = 0, 1
    while fits(high):
        low, high = high, high * 2
    while high - low > 1:  # fits(low) and not fits(high)
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


# --- alerts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("incident", "language"), ALERT_CASES)
def test_alert_carries_callback_ref_and_description_in_gsm7_within_three_segments(
    incident: Incident, language: Language
) -> None:
    text = render_alert(incident, TYPICAL_DESCRIPTION, REF, language, CALLBACK)

    assert CALLBACK in text
    assert f"ref. {REF}" in text
    assert TYPICAL_DESCRIPTION in text
    septets(text)  # raises if anything would push the SMS into UCS-2
    assert sms_segments(text) <= MAX_SEGMENTS


@pytest.mark.parametrize(("incident", "language"), ALERT_CASES)
def test_alert_says_burgernet_and_asks_to_call_without_taking_action(
    incident: Incident, language: Language
) -> None:
    text = render_alert(incident, TYPICAL_DESCRIPTION, REF, language, CALLBACK)

    assert text.startswith("Burgernet")
    if language is Language.NL:
        assert "gratis" in text
        assert "Onderneem zelf geen actie." in text
    else:
        assert "free" in text
        assert "Do not take action yourself." in text


def test_alerts_name_what_happened_differently_per_incident() -> None:
    for language in Language:
        texts = {render_alert(i, "x", REF, language, CALLBACK) for i in Incident}
        assert len(texts) == len(Incident)


def test_missing_person_alert_is_worded_as_a_missing_person() -> None:
    nl = render_alert(Incident.MISSING_PERSON, "vrouw, 82 jaar", REF, Language.NL, CALLBACK)
    en = render_alert(Incident.MISSING_PERSON, "woman, 82", REF, Language.EN, CALLBACK)

    assert "vermiste persoon" in nl
    assert "voertuig" not in nl
    assert "missing person" in en
    assert "vehicle" not in en


def test_alert_is_dutch_by_default_wording_and_english_for_en() -> None:
    nl = render_alert(Incident.BURGLARY, "man", REF, Language.NL, CALLBACK)
    en = render_alert(Incident.BURGLARY, "man", REF, Language.EN, CALLBACK)

    assert "inbraak" in nl
    assert "De politie zoekt: man." in nl
    assert "burglary" in en
    assert "The police are looking for: man." in en


def test_description_keeps_its_own_final_punctuation() -> None:
    text = render_alert(Incident.ROBBERY, "man met rode jas.", REF, Language.NL, CALLBACK)

    assert "rode jas. Ziet u" in text
    assert ".." not in text


def test_description_whitespace_and_newlines_collapse_to_single_spaces() -> None:
    text = render_alert(
        Incident.OTHER, "  man,\n\trode   jas\r\n fiets  ", REF, Language.NL, CALLBACK
    )

    assert "De politie zoekt: man, rode jas fiets." in text
    assert "  " not in text
    assert "\n" not in text


def test_dutch_letters_and_typographic_punctuation_are_transliterated_not_ucs2() -> None:
    description = "Vrouw (ëën jas), ‘Zoë’ geroepen, “naïef” – rijdt op een ĳzeren fiets…"

    text = render_alert(Incident.MISSING_PERSON, description, REF, Language.NL, CALLBACK)

    assert "Vrouw (een jas), 'Zoe' geroepen, \"naief\" - rijdt op een ijzeren fiets..." in text
    septets(text)


def test_150_char_dutch_text_with_e_diaeresis_is_one_segment_not_three() -> None:
    text = ("Zoë en Anaïs zagen een man met een rode jas bij de ingang. " * 3)[:150]
    assert len(text) == 150
    as_ucs2 = -(-len(text) // 67)  # what it would cost if one ë switched it to UCS-2
    assert as_ucs2 == 3

    gsm = to_gsm7(text)

    assert septets(gsm) == 150
    assert sms_segments(gsm) == 1


# --- to_gsm7 ----------------------------------------------------------------------------------


def test_gsm7_letters_are_kept() -> None:
    letters = "éèüöäñàùìòØøÅåÆæßÉÄÖÑÜÇ"

    assert to_gsm7(letters) == letters


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("beëindigd", "beeindigd"),
        ("ïëêçáíóú", "ieecaiou"),
        ("ÏËÊÁÍÓÚÈ", "IEEAIOUE"),
        ("ĳs Ĳmuiden", "ijs IJmuiden"),
        ("‘a’ “b” c–d—e", "'a' \"b\" c-d-e"),
        ("wacht…", "wacht..."),
        ("10\u00a0km", "10 km"),
        ("e\u0308", "e"),  # ë typed as e + combining diaeresis
        ("ﬁets", "fiets"),
        ("€5 [a] {b} ~c|d^ \\", "€5 [a] {b} ~c|d^ \\"),
    ],
)
def test_to_gsm7_transliterates_deliberately(typed: str, sent: str) -> None:
    assert to_gsm7(typed) == sent


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("top 👍", "top ?"),
        ("top 👍🏽", "top ?"),  # skin tone belongs to the thumb
        ("❤️ bedankt", "? bedankt"),  # variation selector is no character of its own
        ("👨‍👩‍👧 gezin", "? gezin"),  # one joined emoji, one "?"
        ("🇳🇱", "?"),  # one flag, one "?"
        ("警察", "??"),
    ],
)
def test_unrepresentable_characters_become_question_marks(typed: str, sent: str) -> None:
    assert to_gsm7(typed) == sent


def test_invisible_characters_are_dropped() -> None:
    assert to_gsm7("zwart\u200bwit\u00adgeel\x07") == "zwartwitgeel"


@given(st.text())
def test_to_gsm7_always_yields_sendable_collapsed_text(text: str) -> None:
    sent = to_gsm7(text)

    septets(sent)
    assert sent == sent.strip()
    assert "  " not in sent
    assert to_gsm7(sent) == sent


# --- septets and segments ---------------------------------------------------------------------


def test_septets_counts_extension_characters_double() -> None:
    assert septets("abc") == 3
    assert septets("€") == 2
    assert septets("^{}\\[~]|€") == 18
    assert septets("a€b") == 4


def test_septets_rejects_text_that_is_not_gsm7() -> None:
    with pytest.raises(ValueError, match="not GSM-7"):
        septets("beëindigd")


@pytest.mark.parametrize(
    ("length", "segments"),
    [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_segments_at_the_boundaries(length: int, segments: int) -> None:
    assert sms_segments("a" * length) == segments


def test_extension_characters_count_double_towards_segments() -> None:
    assert sms_segments("€" * 80) == 1  # 160 septets
    assert sms_segments("€" * 80 + "a") == 2  # 161 septets
    assert sms_segments("a" * 159 + "€") == 2  # 161 septets in 160 characters


# --- description_overflow ---------------------------------------------------------------------


@pytest.mark.parametrize("incident", list(Incident))
def test_typical_description_does_not_overflow(incident: Incident) -> None:
    assert description_overflow(incident, TYPICAL_DESCRIPTION, CALLBACK) == 0


@pytest.mark.parametrize("incident", list(Incident))
def test_description_overflow_is_exactly_the_septets_too_many(incident: Incident) -> None:
    longest = longest_fitting(lambda n: description_overflow(incident, "a" * n, CALLBACK) == 0)
    worst_ref = "W" * REF_LENGTH

    # The longest fitting description fills MAX_SEGMENTS exactly in the worst language.
    fitting = [
        render_alert(incident, "a" * longest, worst_ref, lang, CALLBACK) for lang in Language
    ]
    assert max(sms_segments(text) for text in fitting) == MAX_SEGMENTS
    one_more = [
        render_alert(incident, "a" * (longest + 1), worst_ref, lang, CALLBACK) for lang in Language
    ]
    assert max(sms_segments(text) for text in one_more) == MAX_SEGMENTS + 1

    for too_many in (1, 2, 17, 200):
        assert description_overflow(incident, "a" * (longest + too_many), CALLBACK) == too_many
    assert description_overflow(incident, "a" * (longest - 1) + "€", CALLBACK) == 1


def test_description_overflow_judges_the_text_as_sent() -> None:
    longest = longest_fitting(
        lambda n: description_overflow(Incident.BURGLARY, "a" * n, CALLBACK) == 0
    )

    # ë is sent as e and the extra whitespace is collapsed, so neither costs anything more.
    assert description_overflow(Incident.BURGLARY, "ë" * longest, CALLBACK) == 0
    spaced = "a" * (longest - 2) + "  \n a"  # longest characters once collapsed
    assert description_overflow(Incident.BURGLARY, spaced, CALLBACK) == 0


def test_description_overflow_uses_the_worst_language_and_a_full_length_ref() -> None:
    longest = longest_fitting(
        lambda n: description_overflow(Incident.SHOPLIFTING, "a" * n, CALLBACK) == 0
    )
    budget = MAX_SEGMENTS * 153

    worst = max(
        septets(render_alert(Incident.SHOPLIFTING, "a" * longest, "W" * REF_LENGTH, lang, CALLBACK))
        for lang in Language
    )
    assert worst == budget


# --- results ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("outcome", "language"), RESULT_CASES)
def test_result_without_message_thanks_states_outcome_and_ref(
    outcome: Outcome, language: Language
) -> None:
    text = render_result(outcome, REF, language)

    assert text.startswith("Burgernet:")
    assert f"ref. {REF}" in text
    assert ("Bedankt voor uw hulp" if language is Language.NL else "Thank you") in text
    assert "  " not in text
    septets(text)
    assert sms_segments(text) == 1


@pytest.mark.parametrize(("outcome", "language"), RESULT_CASES)
def test_result_with_message_appends_it(outcome: Outcome, language: Language) -> None:
    message = "Dank aan iedereen die heeft gebeld"

    text = render_result(outcome, REF, language, message)

    assert f"{message}." in text
    assert text.index(message) < text.index(f"ref. {REF}")
    septets(text)
    assert sms_segments(text) <= MAX_SEGMENTS


@pytest.mark.parametrize("language", list(Language))
def test_results_state_a_different_outcome_each(language: Language) -> None:
    texts = {render_result(outcome, REF, language) for outcome in Outcome}

    assert len(texts) == len(Outcome)


def test_result_outcome_wording() -> None:
    assert "De gezochte persoon is gevonden." in render_result(Outcome.FOUND, REF, Language.NL)
    arrested = render_result(Outcome.ARRESTED, REF, Language.NL)
    assert "Er is een verdachte aangehouden." in arrested
    assert "niet gevonden" in render_result(Outcome.NOT_FOUND, REF, Language.NL)
    assert "ingetrokken" in render_result(Outcome.CANCELLED, REF, Language.NL)
    assert "A suspect has been arrested." in render_result(Outcome.ARRESTED, REF, Language.EN)
    assert "has not been found" in render_result(Outcome.NOT_FOUND, REF, Language.EN)
    assert "called off" in render_result(Outcome.CANCELLED, REF, Language.EN)
    assert "the search has ended." in render_result(Outcome.EXPIRED, REF, Language.EN)


def test_dutch_expired_result_says_beeindigd_in_gsm7() -> None:
    text = render_result(Outcome.EXPIRED, REF, Language.NL)

    assert "de actie is beeindigd." in text
    assert "ë" not in text
    septets(text)


def test_blank_message_is_left_out() -> None:
    bare = render_result(Outcome.FOUND, REF, Language.NL)

    assert render_result(Outcome.FOUND, REF, Language.NL, "  \n ") == bare
    assert render_result(Outcome.FOUND, REF, Language.NL, "") == bare


def test_emoji_in_result_message_become_question_marks() -> None:
    text = render_result(Outcome.ARRESTED, REF, Language.NL, "Top gedaan 👏🏼 allemaal 🙏")

    assert "Top gedaan ? allemaal ?." in text
    septets(text)


def test_message_ending_in_a_real_question_mark_gets_no_extra_stop() -> None:
    text = render_result(Outcome.NOT_FOUND, REF, Language.EN, "Seen anything else? Call us")

    assert "Seen anything else? Call us." in text
    assert render_result(Outcome.NOT_FOUND, REF, Language.EN, "Anything else?").count("?.") == 0


# --- result_message_overflow ------------------------------------------------------------------


@pytest.mark.parametrize("outcome", list(Outcome))
def test_result_message_overflow_is_exactly_the_septets_too_many(outcome: Outcome) -> None:
    assert result_message_overflow(outcome, "Dank aan alle melders.") == 0

    longest = longest_fitting(lambda n: result_message_overflow(outcome, "a" * n) == 0)
    worst_ref = "W" * REF_LENGTH
    fitting = [render_result(outcome, worst_ref, lang, "a" * longest) for lang in Language]
    assert max(sms_segments(text) for text in fitting) == MAX_SEGMENTS

    for too_many in (1, 3, 100):
        assert result_message_overflow(outcome, "a" * (longest + too_many)) == too_many
    assert result_message_overflow(outcome, "a" * (longest - 1) + "{") == 1
