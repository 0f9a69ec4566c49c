"""Municipalities' participant lists: which rows become which people, and what is rejected."""

from __future__ import annotations

import re

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.model import Channel, Language
from chalicelib.domain.roster import MAX_PLACES, Person, Rejected, parse_roster

HEADER = "phone,lat,lon,label,language,channel"
PHONE = "06-12345678"
E164 = "+31612345678"
OTHER = "0687654321"
LANDLINE = "030 123 4567"


def parse(*rows: str, header: str = HEADER) -> tuple[list[Person], list[Rejected]]:
    """Parse a CSV whose first line is `header` and whose next lines are `rows`."""
    return parse_roster([header, *rows])


def by_phone(people: list[Person]) -> dict[str, Person]:
    return {p.phone: p for p in people}


def reasons(rejected: list[Rejected]) -> dict[int, str]:
    return {r.line: r.reason for r in rejected}


# --- the header --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "phone,lat,lon,label,language",
        "telefoon,lat,lon,label,language,channel",
        "lat,lon,phone,label,language,channel",
        "phone;lat;lon;label;language;channel",
        "",
    ],
)
def test_given_a_wrong_header_when_parsed_then_invalid_input_names_the_expected_header(
    header: str,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse(f"{PHONE},52.09,5.12,home,nl,sms", header=header)
    assert raised.value.code == "bad_header"
    assert HEADER in raised.value.message


def test_given_no_lines_at_all_when_parsed_then_invalid_input_names_the_expected_header() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_roster([])
    assert HEADER in raised.value.message


def test_given_a_header_in_capitals_with_spaces_when_parsed_then_it_is_accepted() -> None:
    people, rejected = parse(
        f"{PHONE},52.09,5.12,home,nl,sms", header=" Phone, LAT ,lon,Label,language,CHANNEL"
    )
    assert [p.phone for p in people] == [E164]
    assert rejected == []


# --- grouping rows into people -----------------------------------------------------------------


def test_given_one_phone_in_three_dutch_notations_when_parsed_then_it_is_one_person() -> None:
    people, rejected = parse(
        "06-12345678,52.09,5.12,home,nl,sms",
        "+31 6 1234 5678,52.10,5.13,work,nl,sms",
        "0031612345678,52.11,5.14,sport,nl,sms",
    )
    assert rejected == []
    assert len(people) == 1
    person = people[0]
    assert person.phone == E164
    assert [(p.label, p.lat, p.lon, p.line) for p in person.places] == [
        ("home", 52.09, 5.12, 2),
        ("work", 52.10, 5.13, 3),
        ("sport", 52.11, 5.14, 4),
    ]


def test_given_rows_of_two_people_interleaved_when_parsed_then_each_gets_only_their_places() -> (
    None
):
    people, rejected = parse(
        f"{PHONE},52.09,5.12,home,nl,sms",
        f"{OTHER},52.37,4.89,home,en,sms",
        f"{PHONE},52.10,5.13,work,nl,sms",
        f"{LANDLINE},52.08,5.11,home,nl,voice",
    )
    assert rejected == []
    found = by_phone(people)
    assert set(found) == {E164, "+31687654321", "+31301234567"}
    assert [p.label for p in found[E164].places] == ["home", "work"]
    assert [p.label for p in found["+31687654321"].places] == ["home"]
    assert found["+31687654321"].language is Language.EN
    assert found["+31301234567"].channel is Channel.VOICE


def test_given_empty_language_and_channel_when_parsed_then_dutch_and_sms_are_assumed() -> None:
    people, rejected = parse(f"{PHONE},52.09,5.12,home,,")
    assert rejected == []
    assert people[0].language is Language.NL
    assert people[0].channel is Channel.SMS


def test_given_values_in_mixed_case_when_parsed_then_they_are_read_case_insensitively() -> None:
    people, rejected = parse(f"{PHONE}, 52.09 , 5.12 ,Home,EN,SMS")
    assert rejected == []
    assert people[0].language is Language.EN
    assert people[0].places[0].label == "home"


def test_given_exactly_the_maximum_number_of_places_when_parsed_then_all_are_kept() -> None:
    rows = [f"{PHONE},52.0{i},5.12,place{i},nl,sms" for i in range(MAX_PLACES)]
    people, rejected = parse(*rows)
    assert rejected == []
    assert len(people[0].places) == MAX_PLACES


def test_given_blank_lines_when_parsed_then_they_are_ignored_and_line_numbers_stay_true() -> None:
    people, rejected = parse(
        "",
        f"{PHONE},52.09,5.12,home,nl,sms",
        "   ",
        ",,,,,",
        f"{OTHER},52.09,x,home,nl,sms",
        "",
    )
    assert [p.phone for p in people] == [E164]
    assert people[0].places[0].line == 3
    assert [r.line for r in rejected] == [6]


# --- rejected rows -----------------------------------------------------------------------------

REJECTIONS = [
    pytest.param("06-1234,52.09,5.12,home,nl,sms", "phone", id="bad phone"),
    pytest.param("0612345678901,52.09,5.12,home,nl,sms", "phone", id="too long phone"),
    pytest.param("+32 470 12 34 56,52.09,5.12,home,nl,sms", "phone", id="belgian phone"),
    pytest.param("0049 151 23456789,52.09,5.12,home,nl,sms", "phone", id="german phone"),
    pytest.param(f"{LANDLINE},52.09,5.12,home,nl,sms", "phone", id="landline by sms"),
    pytest.param(f"{PHONE},49.50,5.12,home,nl,sms", "lat", id="lat south of NL"),
    pytest.param(f"{PHONE},54.00,5.12,home,nl,sms", "lat", id="lat north of NL"),
    pytest.param(f"{PHONE},5.12,52.09,home,nl,sms", "lat", id="lat and lon swapped"),
    pytest.param(f"{PHONE},nan,5.12,home,nl,sms", "lat", id="lat nan"),
    pytest.param(f"{PHONE},52.09,oost,home,nl,sms", "lon", id="lon not a number"),
    pytest.param(f"{PHONE},52.09,,home,nl,sms", "lon", id="lon empty"),
    pytest.param(f"{PHONE},52.09,9.50,home,nl,sms", "lon", id="lon east of NL"),
    pytest.param(f"{PHONE},52.09,5.12,my home,nl,sms", "label", id="label with space"),
    pytest.param(f"{PHONE},52.09,5.12,,nl,sms", "label", id="label empty"),
    pytest.param(f"{PHONE},52.09,5.12,{'x' * 31},nl,sms", "label", id="label too long"),
    pytest.param(f"{PHONE},52.09,5.12,-home,nl,sms", "label", id="label starts with dash"),
    pytest.param(f"{PHONE},52.09,5.12,thuis!,nl,sms", "label", id="label with punctuation"),
    pytest.param(f"{PHONE},52.09,5.12,home,de,sms", "language", id="bad language"),
    pytest.param(f"{PHONE},52.09,5.12,home,nl,fax", "channel", id="bad channel"),
    pytest.param(f"{PHONE},52.09,5.12,home,nl", "column", id="five columns"),
    pytest.param(f"{PHONE},52.09,5.12,home,nl,sms,extra", "column", id="seven columns"),
]


@pytest.mark.parametrize(("row", "mentions"), REJECTIONS)
def test_given_an_invalid_row_when_parsed_then_it_is_reported_by_line_with_a_reason(
    row: str, mentions: str
) -> None:
    people, rejected = parse(f"{OTHER},52.09,5.12,home,nl,sms", row)
    assert [p.phone for p in people] == ["+31687654321"], "the valid row must still be taken"
    assert len(rejected) == 1
    assert rejected[0].line == 3
    assert mentions in rejected[0].reason


@pytest.mark.parametrize(("row", "mentions"), REJECTIONS)
def test_given_an_invalid_row_when_rejected_then_the_reason_does_not_contain_the_phone_number(
    row: str, mentions: str
) -> None:
    _, rejected = parse(row)
    raw_phone = row.split(",")[0]
    for reason in reasons(rejected).values():
        digits = re.sub(r"\D", "", reason)
        assert raw_phone not in reason
        assert re.sub(r"\D", "", raw_phone) not in digits
        assert "612345678" not in digits


def test_given_a_landline_by_sms_when_rejected_then_the_reason_suggests_voice() -> None:
    _, rejected = parse(f"{LANDLINE},52.09,5.12,home,nl,sms")
    assert "voice" in rejected[0].reason


def test_given_a_landline_by_voice_when_parsed_then_it_is_accepted() -> None:
    people, rejected = parse(f"{LANDLINE},52.09,5.12,home,nl,voice")
    assert rejected == []
    assert people[0].phone == "+31301234567"


def test_given_a_foreign_phone_when_rejected_then_the_reason_says_only_dutch_numbers() -> None:
    _, rejected = parse("+32 470 12 34 56,52.09,5.12,home,nl,sms")
    assert "+31" in rejected[0].reason or "Dutch" in rejected[0].reason


def test_given_a_label_twice_for_one_phone_when_parsed_then_the_second_is_rejected() -> None:
    people, rejected = parse(
        f"{PHONE},52.09,5.12,home,nl,sms",
        "+31 6 1234 5678,52.20,5.20,Home,nl,sms",
    )
    assert people == []
    found = reasons(rejected)
    assert "home" in found[3] and "twice" in found[3]
    assert "line 3" in found[2]


def test_given_the_same_label_for_two_people_when_parsed_then_both_are_kept() -> None:
    people, rejected = parse(f"{PHONE},52.09,5.12,home,nl,sms", f"{OTHER},52.09,5.12,home,nl,sms")
    assert rejected == []
    assert len(people) == 2


def test_given_one_place_too_many_when_parsed_then_it_is_rejected_and_the_person_skipped() -> None:
    rows = [f"{PHONE},52.0{i},5.12,place{i},nl,sms" for i in range(MAX_PLACES + 1)]
    people, rejected = parse(*rows)
    assert people == []
    found = reasons(rejected)
    last = MAX_PLACES + 2
    assert str(MAX_PLACES) in found[last]
    assert set(found) == set(range(2, last + 1))
    for line in range(2, last):
        assert f"line {last}" in found[line]


@pytest.mark.parametrize(
    ("second", "what"),
    [("en,sms", "language"), ("nl,voice", "channel"), (",voice", "channel")],
)
def test_given_rows_of_one_phone_that_disagree_when_parsed_then_the_later_one_is_rejected(
    second: str, what: str
) -> None:
    people, rejected = parse(
        f"{PHONE},52.09,5.12,home,nl,sms",
        f"{PHONE},52.10,5.13,work,{second}",
    )
    assert people == []
    found = reasons(rejected)
    assert what in found[3]
    assert found[2].startswith("skipped") and "line 3" in found[2]


# --- a person with one bad row is skipped whole ------------------------------------------------


def test_given_a_bad_row_before_good_rows_of_that_person_when_parsed_then_all_are_skipped() -> None:
    people, rejected = parse(
        f"{PHONE},52.09,5.12,home,nl,sms",
        f"{OTHER},52.09,5.12,home,nl,sms",
        "+31 6 1234 5678,52.10,oost,work,nl,sms",
        "0031612345678,52.11,5.14,sport,nl,sms",
    )
    assert [p.phone for p in people] == ["+31687654321"]
    found = reasons(rejected)
    assert sorted(found) == [2, 4, 5]
    assert "lon" in found[4]
    for line in (2, 5):
        assert "skipped" in found[line]
        assert "line 4" in found[line]


def test_given_a_bad_row_first_when_parsed_then_the_later_good_rows_name_it() -> None:
    people, rejected = parse(
        f"{PHONE},52.09,5.12,home,xx,sms",
        f"{PHONE},52.10,5.13,work,nl,sms",
    )
    assert people == []
    found = reasons(rejected)
    assert "language" in found[2]
    assert "skipped" in found[3] and "line 2" in found[3]


def test_given_two_bad_rows_of_one_person_when_parsed_then_the_good_rows_name_the_first() -> None:
    people, rejected = parse(
        f"{PHONE},52.09,5.12,home,nl,sms",
        f"{PHONE},60,5.13,work,nl,sms",
        f"{PHONE},52.11,5.14,sport,nl,fax",
    )
    assert people == []
    found = reasons(rejected)
    assert "line 3" in found[2]
    assert "lat" in found[3]
    assert "channel" in found[4]


def test_given_rejections_when_parsed_then_they_come_in_line_order() -> None:
    _, rejected = parse(
        f"{PHONE},52.09,5.12,home,nl,sms",
        "bad,52.09,5.12,home,nl,sms",
        f"{PHONE},52.10,5.13,work,en,sms",
    )
    assert [r.line for r in rejected] == [2, 3, 4]
