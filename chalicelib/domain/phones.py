"""Phone numbers: parsed and checked with libphonenumber, never with a hand-written pattern."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from chalicelib.domain.errors import InvalidInput

HOME_REGION = "NL"
MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalise(raw: str, field: str = "phone") -> str:
    """A Dutch phone number in any usual notation, as E.164; InvalidInput if it is not one."""
    try:
        number = phonenumbers.parse(raw, HOME_REGION)
    except NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput("invalid_phone", "not a valid phone number", field)
    if phonenumbers.region_code_for_number(number) != HOME_REGION:
        raise InvalidInput("foreign_phone", "only Dutch (+31) numbers can take part", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """Whether an E.164 number can receive SMS."""
    return phonenumbers.number_type(phonenumbers.parse(e164)) in MOBILE_TYPES

