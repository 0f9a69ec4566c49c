"""Codes by SMS or call that prove a person holds a phone: their limits, sending, redeeming,
and the login sessions they unlock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from chalicelib.adapters.errors import SendFailed
from chalicelib.dal import ratelimits, verifications
from chalicelib.dal.participants import find_by_phone, get_participant
from chalicelib.dal.records import ParticipantRecord, VerificationRecord
from chalicelib.domain import messages
from chalicelib.domain.errors import NotFound, ServiceUnavailable, TooManyRequests
from chalicelib.domain.model import Language
from chalicelib.domain.phones import is_mobile
from chalicelib.logic.ports import Services
from chalicelib.logs import log_event

CODES_PER_PHONE_PER_HOUR = 3
CODES_PER_ADDRESS_PER_HOUR = 20  # a household, an office or a library behind one address
CHECKS_PER_ADDRESS_PER_10_MIN = 30
# Guesses a phone may get wrong over all its requests in a day: two requests' worth, so a
# script cannot try 5 codes on each of many fresh requests.
WRONG_CODES_PER_PHONE_PER_DAY = 10
DAY_S = 86_400


def limit_source(source: str, now: datetime) -> None:
    """Count one code asked for from this address (20 an hour)."""
    ratelimits.hit("codes-from", source, CODES_PER_ADDRESS_PER_HOUR, 3600, now, "too_many_requests")


def limit_phone(phone: str, now: datetime) -> None:
    """Count one code asked for to this phone (3 an hour)."""
    ratelimits.hit("codes-to", phone, CODES_PER_PHONE_PER_HOUR, 3600, now, "too_many_codes")


def spend_code_budget(services: Services, now: datetime) -> None:
    """Take one code from the hour's budget of the whole service; 503 once it is spent.

    Counted where the code is asked for, member or not, so the answer stays the same for all.
    """
    try:
        ratelimits.hit("codes-all", "all", services.codes_per_hour, 3600, now, "codes_unavailable")
    except TooManyRequests as exc:
        # The ops alarm counts these (infra/template.json, CodeBudgetExhaustedAlarm).
        log_event("code_budget_exhausted", logging.WARNING, budget=services.codes_per_hour)
        retry_after = int(exc.params["retry_after"])
        raise ServiceUnavailable(
            "codes_unavailable",
            f"No codes can be sent right now; try again in {retry_after} seconds.",
            retry_after=retry_after,
        ) from None


def redeem(purpose: str, verification_id: str, code: str, now: datetime) -> VerificationRecord:
    """The verification this right code belongs to, used up (it works once).

    Each guess is counted before it is judged: against its request (5) and its phone (10 wrong
    a day, whatever the request); a right code is given back to the phone's count.
    """
    record = verifications.count_attempt(verification_id, purpose, now)
    try:
        ratelimits.hit(
            "wrong-codes",
            str(record.phone),
            WRONG_CODES_PER_PHONE_PER_DAY,
            DAY_S,
            now,
            "too_many_wrong_codes",
        )
    except TooManyRequests as exc:
        raise TooManyRequests(
            exc.code,
            f"Too many wrong codes for this phone; try again in {exc.params['retry_after']} "
            "seconds.",
            "code",
            retry_after=exc.params["retry_after"],
        ) from None
    if not verifications.matches(record, code):
        raise verifications.wrong_code(record)
    ratelimits.give_back("wrong-codes", str(record.phone), DAY_S, now)
    verifications.consume(record)
    return record


def limit_checks(source: str, now: datetime) -> None:
    """Guard the code-checking routes against guessing from one address."""
    ratelimits.hit("checks", source, CHECKS_PER_ADDRESS_PER_10_MIN, 600, now, "too_many_requests")


def _deliver_code(
    services: Services, purpose: str, phone: str, language: Language, code: str, reference: str
) -> None:
    """By SMS to a mobile; a landline gets a call that reads the code out, digit by digit."""
    text = messages.render_code(purpose, code, language)
    if is_mobile(phone) or services.voice is None:
        services.sms.send(phone, text)
    else:
        spoken = text.replace(code, ", ".join(code))
        services.voice.call(phone, spoken, language, f"code:{reference}")


def send_code(
    services: Services, purpose: str, phone: str, language: Language, code: str, reference: str
) -> None:
    """Deliver a code while the asker waits; a failure is a 429 to try again shortly."""
    try:
        _deliver_code(services, purpose, phone, language, code, reference)
    except SendFailed as exc:
        log_event("code_not_sent", purpose=purpose, code=exc.code)
        raise TooManyRequests(
            "too_many_requests",
            "The code could not be sent now; try again shortly.",
            retry_after=60,
        ) from None


def start_code_login(
    purpose: str, phone: str, language: Language, source: str, services: Services, now: datetime
) -> tuple[str, int]:
    """Ask for a login or unsubscribe code to be sent to a participant's phone.

    Member or not, the same work happens here (a verification, one queued job) and the same
    answer goes back; only the code_sender worker finds out whether the phone takes part.
    """
    limit_source(source, now)
    limit_phone(phone, now)
    spend_code_budget(services, now)
    record = verifications.create(purpose, phone, None, now)
    services.codes.send(
        [{"kind": purpose, "verification_id": record.verification_id, "language": language.value}]
    )
    return record.verification_id, int(verifications.CODE_VALID.total_seconds())


def send_member_code(item: dict[str, Any], services: Services, now: datetime) -> bool:
    """The code_sender worker: give a queued login or unsubscribe its code, members only.

    A non-member's verification keeps a code nobody knows, so checking it answers exactly as
    a member's does. Whether a code went out is never logged with the number (nor the code).
    """
    purpose, verification_id = str(item["kind"]), str(item["verification_id"])
    record = verifications.pending(verification_id, now)
    participant = find_by_phone(str(record.phone)) if record is not None else None
    if record is None or participant is None:
        return False
    code = verifications.new_code()
    if not verifications.set_code(record, code, str(participant.participant_id)):
        return False
    language = Language(participant.language or item.get("language") or Language.NL.value)
    try:
        _deliver_code(services, purpose, str(record.phone), language, code, verification_id)
    except SendFailed as exc:
        log_event("code_not_sent", purpose=purpose, code=exc.code)
        if exc.retryable:
            raise  # nothing went out: SQS brings the job back, with a new code then
        return False
    return True


def participant_for(
    purpose: str, verification_id: str, code: str, now: datetime
) -> tuple[ParticipantRecord, VerificationRecord]:
    """Whose login or unsubscribe code this is, and its verification, used up (see redeem)."""
    record = redeem(purpose, verification_id, code, now)
    participant = get_participant(record.participant_id) if record.participant_id else None
    if participant is None:
        raise NotFound("not_found", "Unknown or finished request; start again.", "code")
    return participant, record


@contextmanager
def given_back_if_failed(record: VerificationRecord) -> Iterator[None]:
    """Give a used code back when the work it unlocked fails, so the person can retry it."""
    try:
        yield
    except Exception:
        verifications.give_back(record)
        raise


def verify_login(login_id: str, code: str, now: datetime) -> tuple[str, int]:
    """Exchange a login code for a short-lived token; returns (token, seconds it lasts)."""
    participant, record = participant_for("login", login_id, code, now)
    with given_back_if_failed(record):
        token = verifications.start_session(participant.participant_id, now)
    return token, int(verifications.SESSION_VALID.total_seconds())


def session_participant(token: str | None, now: datetime) -> str:
    """Whose session a bearer token is, or Unauthorized (the handlers' way to the sessions)."""
    return verifications.session_participant(token, now)
