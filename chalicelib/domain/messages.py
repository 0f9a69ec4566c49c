"""The SMS texts participants receive, kept in GSM-7 so they stay short, cheap and legible."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable

from chalicelib.domain.model import Incident, Language, Outcome

MAX_SEGMENTS = 3
REF_LENGTH = 6  # the longest action reference we hand out; used as the worst case when sizing
SINGLE_SEGMENT_SEPTETS = 160
CONCATENATED_SEGMENT_SEPTETS = 153  # 7 septets of every segment go to the concatenation header

# GSM 03.38 default alphabet, in table order (0x1B, the escape to the extension table, left out).
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each of these is sent as escape + character, so it costs two septets.
_GSM7_EXTENSION = "\f^{}\\[~]|€"
_GSM7 = frozenset(_GSM7_BASIC + _GSM7_EXTENSION)

# Characters people (and word processors) type that GSM-7 lacks, mapped to what a reader expects.
# One of these anywhere would switch the whole SMS to UCS-2: 70 characters a segment, not 160.
_TRANSLITERATIONS: dict[str, str] = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "`": "'",
    "´": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "″": '"',
    "«": '"',
    "»": '"',
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "•": "-",
    "…": "...",
    "ĳ": "ij",
    "Ĳ": "IJ",
    "œ": "oe",
    "Œ": "OE",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    "×": "x",
    "⁄": "/",  # fraction slash, what NFKD turns ½ into
}

# Stands in for "?" until the end, so a lost emoji is not mistaken for a question mark.
_UNKNOWN = "\ufffd"
_ZERO_WIDTH_JOINER = "\u200d"
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)  # skin tones: part of the emoji before them
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)  # two of these make one flag


def _transliterate(char: str) -> str:
    """Return the GSM-7 text for one character: itself, a look-alike, nothing or _UNKNOWN."""
    if char in _GSM7:
        return char
    if char.isspace():  # NBSP, thin space, ...: collapsed with the rest afterwards
        return " "
    if char in _TRANSLITERATIONS:
        return _TRANSLITERATIONS[char]
    category = unicodedata.category(char)
    if category in ("Cc", "Cf"):  # invisible controls, soft hyphen, zero-width space
        return ""
    if category.startswith("M"):  # an accent NFC could not fold into its letter: drop it
        return ""
    # ë -> e + diaeresis, ﬁ -> f i, ｆ -> f: keep the base letters when GSM-7 has them all.
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(
        _TRANSLITERATIONS.get(part, part) for part in decomposed if not unicodedata.combining(part)
    )
    if base and all(part in _GSM7 for part in base):
        return base
    return _UNKNOWN  # emoji, CJK, ...: shown as "?", visibly lost rather than silently dropped


def to_gsm7(text: str) -> str:
    """Transliterate text to GSM-7 and collapse all whitespace runs into single spaces."""
    return _to_gsm7(text).replace(_UNKNOWN, "?")


def _to_gsm7(text: str) -> str:
    """Do to_gsm7, but leave each unrepresentable character as the _UNKNOWN marker."""
    out: list[str] = []
    joined = False  # the previous emoji asked (via ZWJ) for the next one to join it
    in_flag = False  # the previous character opened a two-letter flag
    # NFC first, so an e followed by a combining diaeresis is handled like a typed ë.
    for char in unicodedata.normalize("NFC", text):
        code = ord(char)
        if char == _ZERO_WIDTH_JOINER:
            joined = bool(out) and out[-1] == _UNKNOWN
            continue
        if code in _EMOJI_MODIFIERS or unicodedata.category(char) == "Mn":
            continue  # skin tones, variation selectors, stray accents belong to what came before
        if code in _REGIONAL_INDICATORS:
            if not in_flag:
                out.append(_UNKNOWN)  # one "?" per flag, not per half
            in_flag = not in_flag
            continue
        in_flag = False
        replacement = _transliterate(char)
        if joined and replacement == _UNKNOWN:
            joined = False
            continue  # 👨‍👩‍👧 is one picture to the reader, so one "?"
        joined = False
        out.append(replacement)
    return " ".join("".join(out).split())


def septets(text: str) -> int:
    """Count the GSM-7 septets text takes; ValueError if it holds a non-GSM-7 character."""
    total = 0
    for position, char in enumerate(text):
        if char in _GSM7_EXTENSION:
            total += 2
        elif char in _GSM7:
            total += 1
        else:
            raise ValueError(f"not GSM-7: {char!r} at position {position}; use to_gsm7() first")
    return total


def sms_segments(text: str) -> int:
    """Count the SMS segments a GSM-7 text is sent as."""
    count = septets(text)
    if count <= SINGLE_SEGMENT_SEPTETS:
        return 1
    return math.ceil(count / CONCATENATED_SEGMENT_SEPTETS)


def _septet_budget(segments: int) -> int:
    """Return how many septets fit in the given number of segments."""
    if segments == 1:
        return SINGLE_SEGMENT_SEPTETS
    return segments * CONCATENATED_SEGMENT_SEPTETS


def _sentence(text: str) -> str:
    """Return caller text as GSM-7 ending in a full stop unless it already ends a sentence."""
    marked = _to_gsm7(text)
    if marked and marked[-1] not in ".!?":  # a trailing lost emoji is no question mark
        marked += "."
    return marked.replace(_UNKNOWN, "?")


# What happened, as the headline after "Burgernet:".
_HEADLINES: dict[Language, dict[Incident, str]] = {
    Language.NL: {
        Incident.BURGLARY: "inbraak",
        Incident.ROBBERY: "overval",
        Incident.HIT_AND_RUN: "doorrijden na een ongeval",
        Incident.MISSING_PERSON: "vermiste persoon",
        Incident.SHOPLIFTING: "winkeldiefstal",
        Incident.OTHER: "oproep",
    },
    Language.EN: {
        Incident.BURGLARY: "burglary",
        Incident.ROBBERY: "robbery",
        Incident.HIT_AND_RUN: "hit-and-run",
        Incident.MISSING_PERSON: "missing person",
        Incident.SHOPLIFTING: "shoplifting",
        Incident.OTHER: "police appeal",
    },
}


def headline(incident: Incident, language: Language) -> str:
    """What happened, in a few words (e.g. "inbraak"): alerts and public posts say it alike."""
    return _HEADLINES[language][incident]


# A missing person has no vehicle to look out for; every other incident may have one.
_QUESTIONS: dict[Language, tuple[str, str]] = {
    Language.NL: ("Ziet u deze persoon?", "Ziet u deze persoon of dit voertuig?"),
    Language.EN: ("Do you see this person?", "Do you see this person or vehicle?"),
}

_ALERTS: dict[Language, str] = {
    Language.NL: (
        "Burgernet: {headline}. De politie zoekt: {description} {question} "
        "Bel dan direct gratis {callback} en noem ref. {ref}. Onderneem zelf geen actie."
    ),
    Language.EN: (
        "Burgernet: {headline}. The police are looking for: {description} {question} "
        "Call the free number {callback} right away and quote ref. {ref}. "
        "Do not take action yourself."
    ),
}

_UPDATES: dict[Language, str] = {
    Language.NL: (
        "Burgernet update, {headline}: {message} {question} "
        "Bel dan direct gratis {callback} en noem ref. {ref}."
    ),
    Language.EN: (
        "Burgernet update, {headline}: {message} {question} "
        "Call the free number {callback} right away and quote ref. {ref}."
    ),
}

# Neutral on purpose: render_result is not told the incident, and FOUND may end a search for a
# missing person or for a suspect. Written with their accents; to_gsm7 folds them (beëindigd).
_OUTCOMES: dict[Language, dict[Outcome, str]] = {
    Language.NL: {
        Outcome.FOUND: "de actie is beëindigd. De gezochte persoon is gevonden.",
        Outcome.ARRESTED: "de actie is beëindigd. Er is een verdachte aangehouden.",
        Outcome.NOT_FOUND: "de actie is beëindigd. De gezochte persoon is niet gevonden.",
        Outcome.CANCELLED: "de politie heeft de actie ingetrokken.",
        Outcome.EXPIRED: "de actie is beëindigd.",
    },
    Language.EN: {
        Outcome.FOUND: "the search has ended. The person being sought has been found.",
        Outcome.ARRESTED: "the search has ended. A suspect has been arrested.",
        Outcome.NOT_FOUND: "the search has ended. The person being sought has not been found.",
        Outcome.CANCELLED: "the police have called off the search.",
        Outcome.EXPIRED: "the search has ended.",
    },
}


def outcome_text(outcome: Outcome, language: Language) -> str:
    """How an action ended, as the result SMS and public posts say it (no leading capital)."""
    return _OUTCOMES[language][outcome]


_THANKS: dict[Language, str] = {
    Language.NL: "Bedankt voor uw hulp!",
    Language.EN: "Thank you for your help!",
}


def render_alert(
    incident: Incident, description: str, ref: str, language: Language, callback_number: str
) -> str:
    """Render the GSM-7 alert SMS asking participants to look out and call in."""
    just_a_person, person_or_vehicle = _QUESTIONS[language]
    text = _ALERTS[language].format(
        headline=_HEADLINES[language][incident],
        description=_sentence(description),
        question=just_a_person if incident is Incident.MISSING_PERSON else person_or_vehicle,
        callback=to_gsm7(callback_number),
        ref=to_gsm7(ref),
    )
    return to_gsm7(text)


def render_update(
    incident: Incident, message: str, ref: str, language: Language, callback_number: str
) -> str:
    """Render the GSM-7 update SMS sent during an action to everyone it alerted."""
    just_a_person, person_or_vehicle = _QUESTIONS[language]
    text = _UPDATES[language].format(
        headline=_HEADLINES[language][incident],
        message=_sentence(message),
        question=just_a_person if incident is Incident.MISSING_PERSON else person_or_vehicle,
        callback=to_gsm7(callback_number),
        ref=to_gsm7(ref),
    )
    return to_gsm7(text)


def render_result(
    outcome: Outcome, ref: str, language: Language, message: str | None = None
) -> str:
    """Render the GSM-7 result SMS sent to everyone alerted once the action ends."""
    parts = ["Burgernet:", _OUTCOMES[language][outcome]]
    if message is not None:
        parts.append(_sentence(message))  # blank after cleaning: its extra space collapses below
    parts += [_THANKS[language], f"(ref. {to_gsm7(ref)})"]
    return to_gsm7(" ".join(parts))


_WORST_CASE_REF = "X" * REF_LENGTH


def _overflow(render: Callable[[Language], str]) -> int:
    """By how many septets a message overruns MAX_SEGMENTS in the worst language: both languages
    are sent for one action, so the longer rendering decides."""
    longest = max(septets(render(language)) for language in Language)
    return max(0, longest - _septet_budget(MAX_SEGMENTS))


def description_overflow(incident: Incident, description: str, callback_number: str) -> int:
    """Return by how many septets the description overruns MAX_SEGMENTS in the worst language."""
    return _overflow(
        lambda lang: render_alert(incident, description, _WORST_CASE_REF, lang, callback_number)
    )


def update_message_overflow(incident: Incident, message: str, callback_number: str) -> int:
    """Return by how many septets an update overruns MAX_SEGMENTS in the worst language."""
    return _overflow(
        lambda lang: render_update(incident, message, _WORST_CASE_REF, lang, callback_number)
    )


def result_message_overflow(outcome: Outcome, message: str) -> int:
    """Return by how many septets the close message overruns MAX_SEGMENTS in the worst language."""
    return _overflow(lambda lang: render_result(outcome, _WORST_CASE_REF, lang, message))


_CODE_TEXTS = {
    "signup": {
        Language.NL: "Uw Burgernet-code is {code}. Vul deze in om uw aanmelding af te ronden. "
        "De code is 15 minuten geldig. Deel hem met niemand.",
        Language.EN: "Your Burgernet code is {code}. Enter it to finish signing up. "
        "It is valid for 15 minutes. Do not share it with anyone.",
    },
    "login": {
        Language.NL: "Uw Burgernet-code is {code}. Hiermee wijzigt u uw gegevens. "
        "De code is 15 minuten geldig. Deel hem met niemand.",
        Language.EN: "Your Burgernet code is {code}. Use it to change your details. "
        "It is valid for 15 minutes. Do not share it with anyone.",
    },
    "unsubscribe": {
        Language.NL: "Uw Burgernet-code is {code}. Vul deze in om u af te melden. "
        "De code is 15 minuten geldig.",
        Language.EN: "Your Burgernet code is {code}. Enter it to leave Burgernet. "
        "It is valid for 15 minutes.",
    },
}

_GOODBYE = {
    Language.NL: "U bent afgemeld bij Burgernet en ontvangt geen berichten meer. "
    "Bedankt voor uw hulp.",
    Language.EN: "You have left Burgernet and will receive no more messages. "
    "Thank you for your help.",
}


def render_code(purpose: str, code: str, language: Language) -> str:
    """The SMS that carries a verification code (purpose: signup, login or unsubscribe)."""
    return to_gsm7(_CODE_TEXTS[purpose][language].format(code=code))


def render_goodbye(language: Language) -> str:
    """The SMS confirming that someone left."""
    return to_gsm7(_GOODBYE[language])


_REFERENCE_WORD = {Language.NL: "referentie", Language.EN: "reference"}


def speakable(text: str, ref: str, language: Language) -> str:
    """An SMS text made fit to be read out in a call: the reference spelled letter by letter."""
    spelled = f"{_REFERENCE_WORD[language]} {', '.join(ref)}"
    return text.replace(f"ref. {ref}", spelled)


def incident_name(incident: Incident, language: Language) -> str:
    """What happened, in words ("inbraak", "missing person"): the public feeds' wording too."""
    return _HEADLINES[language][incident]


def outcome_sentence(outcome: Outcome, language: Language) -> str:
    """How an action ended, as a sentence of its own (with its accents: not for SMS)."""
    text = _OUTCOMES[language][outcome]
    return text[:1].upper() + text[1:]
