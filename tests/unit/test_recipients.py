"""Which Dutch numbers may receive codes and alerts: a person's mobile or a landline at a place.

Each example says what libphonenumber calls it, so a metadata update that moves a range shows up
here first.
"""

from __future__ import annotations

import phonenumbers
import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.phones import recipient
from chalicelib.domain.roster import parse_roster

ALLOWED = [
    pytest.param("06 12345678", "MOBILE", id="mobile-06"),
    pytest.param("030 1234567", "FIXED_LINE", id="landline-utrecht"),
    pytest.param("0595 123456", "FIXED_LINE", id="landline-warffum"),
]
REFUSED = [
    pytest.param("0900 1234567", "PREMIUM_RATE", id="premium-0900"),
    pytest.param("0906 1234567", "PREMIUM_RATE", id="premium-0906-adult"),
    pytest.param("0909 1234567", "PREMIUM_RATE", id="premium-0909-entertainment"),
    pytest.param("0842 123456", "UAN", id="shared-cost-084"),
    pytest.param("0870 123456", "UAN", id="shared-cost-087"),
    pytest.param("088 1234567", "UAN", id="company-088"),
    pytest.param("14 020", "UAN", id="municipality-14"),
    pytest.param("0800 1234567", "TOLL_FREE", id="toll-free-0800"),
    pytest.param("085 1234567", "VOIP", id="nomadic-voip-085"),
    pytest.param("091 1234567", "VOIP", id="nomadic-voip-091"),
    pytest.param("066 1234567", "PAGER", id="pager-066"),
    pytest.param("0970 12345678", "MOBILE", id="m2m-097"),  # libphonenumber: MOBILE
]


def kind(raw: str) -> str:
    number = phonenumbers.parse(raw, "NL")
    return str(phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(number)))


@pytest.mark.parametrize(("raw", "libphonenumber_type"), ALLOWED)
def test_a_mobile_or_a_geographic_landline_is_accepted(raw: str, libphonenumber_type: str) -> None:
    assert kind(raw) == libphonenumber_type
    assert recipient(raw).startswith("+31")


@pytest.mark.parametrize(("raw", "libphonenumber_type"), REFUSED)
def test_every_other_kind_of_number_is_refused_and_told_which_are_allowed(
    raw: str, libphonenumber_type: str
) -> None:
    assert kind(raw) == libphonenumber_type

    with pytest.raises(InvalidInput) as refused:
        recipient(raw)

    assert (refused.value.code, refused.value.field) == ("number_not_allowed", "phone")
    assert "mobile number (06)" in refused.value.message
    assert "landline with an area code" in refused.value.message


def test_an_import_row_with_a_premium_rate_number_is_rejected_and_the_rest_imported() -> None:
    people, rejected = parse_roster(
        [
            "phone,lat,lon,label,language,channel",
            "0900 1234567,52.09,5.12,home,nl,voice",
            "06-12345678,52.09,5.12,home,nl,sms",
        ]
    )

    assert [p.phone for p in people] == ["+31612345678"]
    assert [r.line for r in rejected] == [2]
    assert "mobile number (06)" in rejected[0].reason
