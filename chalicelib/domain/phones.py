"""Phone numbers: parsed and checked with libphonenumber, never with a hand-written pattern."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from chalicelib.domain.errors import InvalidInput

HOME_REGION = "NL"
MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
# Codes and alerts go to a person's own mobile or a landline at a place, nothing else. Refused,
# by libphonenumber's type: PREMIUM_RATE 0900/0906/0909 and UAN 084/087 (the caller pays more:
# toll fraud), UAN 088 and 14 0xx (company and municipality switchboards, not a person), TOLL_FREE
# 0800 (we pay; service lines), VOIP 085/091 (nomadic, no place), PAGER 066 (cannot take SMS or
# speech), and SHARED_COST, PERSONAL_NUMBER, VOICEMAIL, UNKNOWN should NL metadata ever list them.
RECIPIENT_TYPES = (
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
)
# 097: machine-to-machine numbers (SIMs in meters and cars), which libphonenumber types MOBILE.
M2M_PREFIX = "97"
NOT_ALLOWED = (
    "Only a Dutch mobile number (06) or a landline with an area code (such as 010 or 0595) can "
    "receive codes and alerts; not 0800, 084, 085, 087, 088, 090x, 091, 097 or 066 numbers."
)


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


def recipient(raw: str, field: str = "phone") -> str:
    """A number codes and alerts may go to, as E.164; InvalidInput (number_not_allowed) if not."""
    e164 = normalise(raw, field)
    number = phonenumbers.parse(e164)
    if phonenumbers.number_type(number) not in RECIPIENT_TYPES or str(
        number.national_number
    ).startswith(M2M_PREFIX):
        raise InvalidInput("number_not_allowed", NOT_ALLOWED, field)
    return e164


def is_mobile(e164: str) -> bool:
    """Whether an E.164 number can receive SMS."""
    return phonenumbers.number_type(phonenumbers.parse(e164)) in MOBILE_TYPES
