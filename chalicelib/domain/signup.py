"""Signup and preference requests: validated, answered in the participant's language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.errors import DomainError, InvalidInput
from chalicelib.domain.geo.service_area import SERVICE_AREA
from chalicelib.domain.model import Channel, Language
from chalicelib.domain.outlines import check_code
from chalicelib.domain.phones import is_mobile, recipient
from chalicelib.domain.validation import check_fields, required

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MIN_AGE = 16
MAX_PLACES = 5
# Dutch postcodes: four digits not starting with 0, two letters (SA, SD and SS are never issued).
POSTCODE = re.compile(r"([1-9][0-9]{3}) ?(?!SA|SD|SS)([A-Z]{2})")
HOUSE_NUMBER = re.compile(r"[1-9][0-9]{0,4}")
ADDITION = re.compile(r"[A-Z0-9]{1,4}")
LABEL = re.compile(r"[a-z][a-z0-9_-]{0,19}")
CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
CODE = re.compile(r"[0-9]{6}")

# The fields each body takes; the OpenAPI schemas are built from the same tuples.
PREFERENCES_FIELDS = ("language", "channel", "places", "quiet_hours")
SIGNUP_FIELDS = ("municipality", "phone", "birth_date", *PREFERENCES_FIELDS)
PHONE_FIELDS = ("phone", "language")
CODE_FIELDS = ("code", "language")  # after the id field the code answers
ADDRESS_FIELDS = ("label", "postcode", "house_number", "addition")
POINT_FIELDS = ("label", "lat", "lon")
QUIET_HOURS_FIELDS = ("from", "to")


@dataclass(frozen=True)
class Address:
    """A BAG address with its position and municipality."""

    postcode: str
    house_number: str
    addition: str | None
    lat: float
    lon: float
    municipality: str  # CBS code, GM + 4 digits


@dataclass(frozen=True)
class AddressInput:
    """A place given as a Dutch address, still to be looked up."""

    label: str
    postcode: str  # normalised: 1234AB
    house_number: str
    addition: str | None


@dataclass(frozen=True)
class Place:
    """A place with its position, and its address and municipality where known."""

    label: str
    lat: float
    lon: float
    postcode: str | None = None
    house_number: str | None = None
    addition: str | None = None
    municipality: str | None = None


@dataclass(frozen=True)
class QuietHours:
    """A daily window (Europe/Amsterdam) without voice calls; it may run past midnight."""

    start: str  # HH:MM
    end: str

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` falls inside the window, in Dutch local time."""
        now = moment.astimezone(AMSTERDAM).time()
        start, end = time.fromisoformat(self.start), time.fromisoformat(self.end)
        return start <= now < end if start <= end else now >= start or now < end

    def ends_after(self, moment: datetime) -> datetime:
        """The first end of the window after `moment` (UTC), in Dutch local time's calendar."""
        local = moment.astimezone(AMSTERDAM)
        end = time.fromisoformat(self.end)
        for days in (0, 1):
            day = local.date() + timedelta(days=days)
            candidate = datetime.combine(day, end, tzinfo=AMSTERDAM).astimezone(UTC)
            if candidate > moment:
                return candidate
        raise AssertionError("unreachable: a daily window ends within a day")


@dataclass(frozen=True)
class Preferences:
    """How a participant wants to be reached; None leaves a field as it is."""

    language: Language | None = None
    channel: Channel | None = None
    places: tuple[AddressInput | Place, ...] | None = None
    quiet_hours: QuietHours | None = None
    clear_quiet_hours: bool = False


@dataclass(frozen=True)
class SignupRequest:
    """A validated signup, before its addresses are looked up."""

    municipality: str
    phone: str
    language: Language
    channel: Channel
    places: tuple[AddressInput | Place, ...]
    quiet_hours: QuietHours | None


def language_of(body: Mapping[str, Any] | None, accept_language: str | None) -> Language:
    """The language to answer in: the body's `language`, else Accept-Language, else Dutch."""
    chosen = (body or {}).get("language")
    if chosen in ("nl", "en"):
        return Language(chosen)
    if accept_language and accept_language.strip().lower().startswith("en"):
        return Language.EN
    return Language.NL


def parse_signup(body: Mapping[str, Any], today: date) -> SignupRequest:
    """Validate POST /signup; `today` is the Dutch calendar date the age is checked on."""
    check_fields(body, SIGNUP_FIELDS)
    municipality = check_code(required(body, "municipality"), "municipality")
    channel = _channel(body.get("channel", "sms"))
    phone = _phone(required(body, "phone"), channel)
    _check_age(required(body, "birth_date"), today)
    prefs = parse_preferences(
        {k: body[k] for k in ("language", "places", "quiet_hours") if k in body}
    )
    if prefs.places is None:
        raise InvalidInput("no_places", "Give at least one place.", "places")
    return SignupRequest(
        municipality,
        phone,
        prefs.language or Language.NL,
        channel,
        prefs.places,
        prefs.quiet_hours,
    )


def parse_preferences(body: Mapping[str, Any]) -> Preferences:
    """Validate PUT /participants/me (and the shared parts of a signup)."""
    check_fields(body, PREFERENCES_FIELDS)
    language = None
    if "language" in body:
        if body["language"] not in ("nl", "en"):
            raise InvalidInput("invalid_language", "language must be nl or en.", "language")
        language = Language(body["language"])
    channel = _channel(body["channel"]) if "channel" in body else None
    places = _places(body["places"]) if "places" in body else None
    quiet = body.get("quiet_hours")
    return Preferences(
        language=language,
        channel=channel,
        places=places,
        quiet_hours=_quiet_hours(quiet) if quiet is not None else None,
        clear_quiet_hours="quiet_hours" in body and quiet is None,
    )


def parse_phone_request(body: Mapping[str, Any]) -> str:
    """Validate a body that names only a phone (login, unsubscribe)."""
    check_fields(body, PHONE_FIELDS)
    return _phone(required(body, "phone"), Channel.VOICE)


def parse_code(body: Mapping[str, Any], id_field: str) -> tuple[str, str]:
    """Validate a {<id_field>, code} body."""
    check_fields(body, (id_field, *CODE_FIELDS))
    ident = required(body, id_field)
    code = required(body, "code")
    if not isinstance(ident, str) or not 1 <= len(ident) <= 64:
        raise InvalidInput(
            "wrong_type", f"{id_field} must be the id from the earlier answer.", id_field
        )
    if not isinstance(code, str) or not CODE.fullmatch(code.strip()):
        raise InvalidInput("invalid_code", "The code is six digits.", "code")
    return ident, code.strip()


def _channel(value: Any) -> Channel:
    if value not in ("sms", "voice"):
        raise InvalidInput("invalid_channel", "channel must be sms or voice.", "channel")
    return Channel(value)


def _phone(value: Any, channel: Channel) -> str:
    if not isinstance(value, str):
        raise InvalidInput("invalid_phone", "not a valid phone number", "phone")
    phone = recipient(value)
    if channel is Channel.SMS and not is_mobile(phone):
        raise InvalidInput(
            "not_mobile", "SMS needs a mobile number; choose voice for a landline", "phone"
        )
    return phone


def _check_age(value: Any, today: date) -> None:
    try:
        born = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        born = None
    if born is None or born > today or born.year < 1900:
        raise InvalidInput(
            "invalid_birth_date", "birth_date must be a date like 1990-04-01.", "birth_date"
        )
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < MIN_AGE:
        raise InvalidInput(
            "too_young", "Burgernet is open to everyone aged 16 or older.", "birth_date"
        )


def _places(value: Any) -> tuple[AddressInput | Place, ...]:
    if not isinstance(value, list):
        raise InvalidInput("wrong_type", "places must be a list.", "places")
    if not value:
        raise InvalidInput("no_places", "Give at least one place.", "places")
    if len(value) > MAX_PLACES:
        raise InvalidInput(
            "too_many_places", f"At most {MAX_PLACES} places.", "places", limit=MAX_PLACES
        )
    places = tuple(_place(raw, f"places[{i}]") for i, raw in enumerate(value))
    labels = [p.label for p in places]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            raise InvalidInput(
                "duplicate_label", "Each place needs its own label.", f"places[{i}].label"
            )
    return places


def _place(raw: Any, where: str) -> AddressInput | Place:
    if not isinstance(raw, dict):
        raise InvalidInput("wrong_type", "A place is an object.", where)
    label = raw.get("label", "home")
    if not isinstance(label, str) or not LABEL.fullmatch(label.strip().lower()):
        raise InvalidInput(
            "invalid_label", "A label is a short word such as home or work.", f"{where}.label"
        )
    label = label.strip().lower()
    if "postcode" in raw or "house_number" in raw:
        check_fields(raw, ADDRESS_FIELDS, f"{where}.")
        return _address(raw, label, where)
    check_fields(raw, POINT_FIELDS, f"{where}.")
    lat, lon = required(raw, "lat", f"{where}."), required(raw, "lon", f"{where}.")
    for name, value in (("lat", lat), ("lon", lon)):
        low, high = SERVICE_AREA[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise InvalidInput(
                "outside_service_area",
                f"The place must lie in the Netherlands ({name} {low}–{high}).",
                f"{where}.{name}",
            )
    return Place(label, float(lat), float(lon))


def _address(raw: Mapping[str, Any], label: str, where: str) -> AddressInput:
    postcode = required(raw, "postcode", f"{where}.")
    match = POSTCODE.fullmatch(postcode.strip().upper()) if isinstance(postcode, str) else None
    if match is None:
        raise InvalidInput(
            "invalid_postcode",
            "A postcode is four digits and two letters, e.g. 3511 LX.",
            f"{where}.postcode",
        )
    number = required(raw, "house_number", f"{where}.")
    number = (
        str(number).strip()
        if isinstance(number, int | str) and not isinstance(number, bool)
        else ""
    )
    if not HOUSE_NUMBER.fullmatch(number):
        raise InvalidInput(
            "invalid_house_number",
            "A house number is a whole number, e.g. 12.",
            f"{where}.house_number",
        )
    addition = raw.get("addition")
    if addition is not None and addition != "":
        if not isinstance(addition, str) or not ADDITION.fullmatch(addition.strip().upper()):
            raise InvalidInput(
                "invalid_addition",
                "An addition is a letter or up to four letters and digits.",
                f"{where}.addition",
            )
        addition = addition.strip().upper()
    return AddressInput(label, match.group(1) + match.group(2), number, addition or None)


def _quiet_hours(value: Any) -> QuietHours:
    if not isinstance(value, dict) or set(value) != set(QUIET_HOURS_FIELDS):
        raise InvalidInput(
            "invalid_quiet_hours", 'quiet_hours is {"from": "HH:MM", "to": "HH:MM"}.', "quiet_hours"
        )
    start, end = value["from"], value["to"]
    if not all(isinstance(v, str) and CLOCK.fullmatch(v) for v in (start, end)) or start == end:
        raise InvalidInput(
            "invalid_quiet_hours",
            'quiet_hours is {"from": "HH:MM", "to": "HH:MM"}, two different times.',
            "quiet_hours",
        )
    return QuietHours(start, end)


STOP_WORDS = frozenset({"STOP", "STOPPEN", "AFMELDEN", "UNSUBSCRIBE"})


def is_stop(reply: str) -> bool:
    """Whether an SMS reply asks to leave (STOP, in any case, with or without punctuation)."""
    return reply.strip().strip(".!").upper() in STOP_WORDS


def places_to_json(places: tuple[Place, ...]) -> list[dict[str, Any]]:
    """Resolved places as plain data (stored with a pending signup)."""
    return [asdict(p) for p in places]


def places_from_json(data: list[dict[str, Any]]) -> tuple[Place, ...]:
    """The inverse of places_to_json."""
    return tuple(Place(**p) for p in data)


# What participants read when something is wrong, by error code. English is the code's own
# message; Dutch is here. Placeholders come from the error's params.
DUTCH = {
    "invalid_phone": "Dit is geen geldig telefoonnummer.",
    "foreign_phone": "Alleen Nederlandse telefoonnummers (+31) kunnen meedoen.",
    "number_not_allowed": "Alleen een mobiel nummer (06) of een vast nummer met netnummer "
    "(zoals 010 of 0595) kan codes en meldingen krijgen; geen 0800-, 084-, 085-, 087-, 088-, "
    "090x-, 091-, 097- of 066-nummers.",
    "not_mobile": "Voor sms is een mobiel nummer nodig; kies 'gebeld worden' voor een vast nummer.",
    "voice_not_available": "Bellen kan nog niet, dus een vast nummer kan de code niet ontvangen. "
    "Meld u aan met een mobiel nummer.",
    "too_young": "Burgernet is voor iedereen van 16 jaar of ouder.",
    "invalid_birth_date": "Vul uw geboortedatum in, bijvoorbeeld 1990-04-01.",
    "invalid_municipality_code": "Onbekende gemeente.",
    "unknown_municipality": "Deze gemeente doet (nog) niet mee.",
    "invalid_postcode": "Een postcode is vier cijfers en twee letters, bijvoorbeeld 3511 LX.",
    "invalid_house_number": "Een huisnummer is een heel getal, bijvoorbeeld 12.",
    "invalid_addition": "Een toevoeging is een letter of maximaal vier letters en cijfers.",
    "address_not_found": "Dit adres bestaat niet. Controleer postcode en huisnummer.",
    "geocoder_unavailable": "Adressen opzoeken lukt nu even niet. Probeer het straks opnieuw.",
    "no_places": "Geef minstens één adres op.",
    "too_many_places": "Maximaal {limit} adressen.",
    "duplicate_label": "Geef elk adres een eigen naam.",
    "invalid_label": "Een naam is een kort woord, zoals thuis of werk.",
    "outside_service_area": "Dit adres ligt niet in Nederland.",
    "invalid_quiet_hours": "Vul twee verschillende tijden in, zoals 23:00 en 07:00.",
    "invalid_language": "Kies Nederlands (nl) of Engels (en).",
    "invalid_channel": "Kies sms of gebeld worden.",
    "invalid_code": "De code bestaat uit zes cijfers.",
    "wrong_code": "Deze code klopt niet. Nog {attempts_left} pogingen.",
    "locked": "Te vaak een verkeerde code. Begin opnieuw.",
    "code_expired": "Deze code is verlopen. Vraag een nieuwe aan.",
    "not_found": "Onbekende aanvraag. Begin opnieuw.",
    "too_many_codes": "Te veel codes aangevraagd. Probeer het over {retry_after} seconden opnieuw.",
    "too_many_wrong_codes": "Te vaak een verkeerde code voor dit nummer. Probeer het over "
    "{retry_after} seconden opnieuw.",
    "codes_unavailable": "Er kunnen nu even geen codes worden verstuurd. Probeer het over "
    "{retry_after} seconden opnieuw.",
    "too_many_requests": "Te veel verzoeken. Probeer het over {retry_after} seconden opnieuw.",
    "unauthorized": "Log opnieuw in met een code per sms.",
    "missing_field": "Dit veld is verplicht.",
    "wrong_type": "Dit veld heeft een verkeerde vorm.",
    "unknown_field": "Onbekend veld.",
    "malformed_json": "Het verzoek is geen geldige JSON.",
    "invalid_body": "Het verzoek moet een JSON-object zijn.",
    "missing_body": "Het verzoek is leeg.",
    "body_too_large": "Het verzoek is te groot.",
}


def translated(error: DomainError, language: Language) -> str:
    """The error's message in the participant's language."""
    if language is Language.NL and error.code in DUTCH:
        return DUTCH[error.code].format(**error.params)
    return error.message
