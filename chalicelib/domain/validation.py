"""Generic checks of JSON inputs: a body that is one object, known fields, typed values in range.

Each refusal is an InvalidInput that names the field, so a caller can fix the request.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from chalicelib.domain.errors import InvalidInput, PayloadTooLarge

MAX_BODY_BYTES = 16 * 1024  # far above any valid request; refuses junk before parsing it

E = TypeVar("E", bound=StrEnum)

# Characters no reader of our texts can take: XML 1.0 forbids C0 controls other than tab, LF and
# CR, lone surrogates and U+FFFE/U+FFFF (one makes a whole CAP message or Atom feed unreadable);
# C1 controls are invisible, and XML 1.1 and HTML count them as errors.
# CR is allowed: a Windows client's CR LF is whitespace, and `text` makes it one space.
UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# The same rule as a JSON Schema pattern (ECMA-262) for the OpenAPI document. Lone surrogates are
# left out of it: a validator without the "u" flag would read every emoji's pair as two of them.
READABLE_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]*$"
READABLE_RULE = (
    "tab, newline and carriage return are allowed, but no other control character "
    "(U+0000–U+001F, U+007F–U+009F), no lone surrogate (U+D800–U+DFFF), and not U+FFFE or U+FFFF"
)
# What an XML writer puts in place of such a character found in data stored before the rule.
REPLACEMENT = "\ufffd"


def parse_json_object(raw: bytes | str | None, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """Decode a request body that must be one JSON object."""
    if isinstance(raw, str):
        raw = raw.encode()
    if raw is not None and len(raw) > max_bytes:
        raise PayloadTooLarge(
            "body_too_large", f"The body is {len(raw)} bytes; at most {max_bytes} are allowed."
        )
    if not raw:
        raise InvalidInput("missing_body", "The request needs a JSON object as its body.")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("malformed_json", f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise InvalidInput("malformed_json", "The body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise InvalidInput("invalid_body", "The body must be a JSON object.")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def check_fields(body: Mapping[str, Any], allowed: Sequence[str], where: str = "") -> None:
    """Refuse fields the request does not know (typos would otherwise be silently ignored)."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidInput(
            "unknown_field",
            f"Unknown field '{where}{unknown[0]}'; allowed fields are: {', '.join(allowed)}.",
            field=f"{where}{unknown[0]}",
        )


def required(body: Mapping[str, Any], name: str, where: str = "") -> Any:
    """The value of a required field, or InvalidInput naming it."""
    if name not in body or body[name] is None:
        raise InvalidInput(
            "missing_field", f"The field {where}{name} is required.", f"{where}{name}"
        )
    return body[name]


def is_number(value: Any) -> bool:
    """Whether a JSON value is a finite number."""
    # bool is an int to Python, not to a caller; ints are compared as ints (10**400 stays exact).
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def number(value: Any, field: str, low: float, high: float, unit: str = "") -> float:
    """A number within low..high, as a float."""
    if not is_number(value):
        raise InvalidInput("wrong_type", f"{field} must be a number.", field)
    if not low <= value <= high:
        raise InvalidInput(
            "out_of_range", f"{field} is {value}{unit}; allowed is {low}–{high}{unit}.", field
        )
    return float(value)


def integer(value: Any, field: str, low: int, high: int, unit: str = "") -> int:
    """A whole number within low..high."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("wrong_type", f"{field} must be a whole number.", field)
    number(value, field, low, high, unit)
    return value


def choice(
    value: Any, field: str, kind: type[E], allowed: Sequence[E], noun: str | None = None
) -> E:
    """One of the allowed values of an enum, given as its string value."""
    noun = noun or field
    names = ", ".join(a.value for a in allowed)
    if not isinstance(value, str):
        raise InvalidInput("wrong_type", f"{field} must be a string, one of: {names}.", field)
    try:
        chosen = kind(value)
    except ValueError:
        chosen = None
    if chosen is None or chosen not in allowed:
        raise InvalidInput(f"unknown_{noun}", f"Unknown {noun} {value!r}; allowed: {names}.", field)
    return chosen


def text(value: Any, field: str) -> str:
    """A readable string, trimmed, with each run of whitespace made one space."""
    if not isinstance(value, str):
        raise InvalidInput("wrong_type", f"{field} must be a string.", field)
    readable(value, field)  # before whitespace is collapsed, so the position is the sender's
    return " ".join(value.split())


def readable(value: str, field: str) -> str:
    """The text unchanged, or InvalidInput naming the first character no reader can take."""
    found = UNREADABLE.search(value)
    if found is None:
        return value
    point = ord(found.group())
    position = found.start() + 1  # in characters (code points), counted from 1 as people count
    raise InvalidInput(
        "invalid_character",
        f"{field} holds {_kind(point)}, U+{point:04X}, at character {position}; {READABLE_RULE}.",
        field,
        character=f"U+{point:04X}",
        position=position,
    )


def _kind(point: int) -> str:
    if 0xD800 <= point <= 0xDFFF:
        return "a lone surrogate"
    return "a noncharacter" if point >= 0xFFFE else "a control character"


def legible(value: str) -> str:
    """The text with each character no reader can take replaced by U+FFFD (for old data)."""
    return UNREADABLE.sub(REPLACEMENT, value)


def flag(body: Mapping[str, Any], field: str, default: bool) -> bool:
    """A true/false field, or its default when absent."""
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise InvalidInput("wrong_type", f"{field} must be true or false.", field)
    return value
