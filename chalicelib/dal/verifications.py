"""Codes sent by SMS to prove a person holds a phone, and the short-lived sessions they unlock."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from chalicelib.dal.models import Session, Verification, copied
from chalicelib.dal.records import VerificationRecord
from chalicelib.domain.errors import Expired, InvalidInput, Locked, NotFound, Unauthorized

CODE_VALID = timedelta(minutes=15)
MAX_ATTEMPTS = 5
SESSION_VALID = timedelta(minutes=30)
KEEP_FOR = timedelta(days=1)  # then TTL removes the item itself


def new_code() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(1_000_000):06d}"


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def create(
    purpose: str,
    phone: str,
    code: str | None,
    now: datetime,
    participant_id: str | None = None,
    request: str | None = None,
) -> Verification:
    """Remember that `code` goes to `phone` for `purpose`; only its hash is stored.

    Without a code the record matches no guess until set_code gives it one (codes sent later).
    """
    verification_id = str(uuid.uuid4())
    record = Verification(
        verification_id,
        purpose=purpose,
        phone=phone,
        code_hash=_hash(verification_id, code if code is not None else secrets.token_hex(32)),
        valid_until=now + CODE_VALID,
        attempts=0,
        participant_id=participant_id,
        request=request,
        expires=now + KEEP_FOR,
    )
    record.save()
    return record


def pending(verification_id: str, now: datetime) -> Verification | None:
    """A verification whose code may still be sent, or None (used, expired or erased).

    A locked one is refused by set_code, in the same write that would give it its code.
    """
    try:
        record = Verification.get(verification_id, consistent_read=True)
    except DoesNotExist:
        return None
    return record if now < record.valid_until else None


def set_code(record: Verification, code: str, participant_id: str) -> bool:
    """Give a pending verification its code and whose it is; False if gone or locked meanwhile."""
    try:
        record.update(
            actions=[
                Verification.code_hash.set(_hash(str(record.verification_id), code)),
                Verification.participant_id.set(participant_id),
            ],
            condition=Verification.verification_id.exists()
            & (Verification.attempts < MAX_ATTEMPTS),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _unknown() -> NotFound:
    return NotFound("not_found", "Unknown or finished request; start again.", "code")


def _locked() -> Locked:
    return Locked("locked", "Too many wrong codes; start again.", "code")


def count_attempt(verification_id: str, purpose: str, now: datetime) -> Verification:
    """Count one attempt on a verification, before its code is judged; the counted record.

    One conditional write (attempts below the limit) counts it, so of any number of
    simultaneous guesses at most MAX_ATTEMPTS are ever judged; the rest are Locked unjudged.
    """
    try:
        record = Verification.get(verification_id, consistent_read=True)
    except DoesNotExist:
        raise _unknown() from None
    if record.purpose != purpose:
        raise _unknown()
    if record.attempts >= MAX_ATTEMPTS:
        raise _locked()
    if now >= record.valid_until:
        raise Expired("code_expired", "This code has expired; ask for a new one.", "code")
    try:
        # The update returns the item as written: record.attempts is this attempt's number.
        record.update(
            actions=[Verification.attempts.add(1)],
            condition=Verification.verification_id.exists()
            & (Verification.attempts < MAX_ATTEMPTS),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        if not _exists(verification_id):
            raise _unknown() from None  # used (or erased) meanwhile
        raise _locked() from None
    return record


def _exists(verification_id: str) -> bool:
    try:
        Verification.get(verification_id, consistent_read=True)
    except DoesNotExist:
        return False
    return True


def matches(record: Verification, code: str) -> bool:
    """Whether `code` is this verification's code (compared in constant time)."""
    return hmac.compare_digest(str(record.code_hash), _hash(str(record.verification_id), code))


def wrong_code(record: Verification) -> InvalidInput:
    """The answer to a wrong code: how many attempts this verification has left."""
    left = max(0, MAX_ATTEMPTS - int(record.attempts))
    return InvalidInput(
        "wrong_code",
        f"This code is not right; {left} attempts left."
        + (" Ask for a new code." if left == 0 else ""),
        "code",
        attempts_left=left,
    )


def consume(record: Verification) -> None:
    """Use a right code up, so it works once: a conditional delete that only one use wins."""
    try:
        record.delete(condition=Verification.verification_id.exists())
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise _unknown() from None


def give_back(record: VerificationRecord) -> None:
    """Put a consumed code back after the work it unlocked failed, so the person can retry it."""
    try:
        copied(record, Verification).save(condition=Verification.verification_id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def start_session(participant_id: str, now: datetime) -> str:
    """A bearer token for this participant, valid for half an hour."""
    token = secrets.token_urlsafe(32)
    Session(
        hashlib.sha256(token.encode()).hexdigest(),
        participant_id=participant_id,
        valid_until=now + SESSION_VALID,
        expires=now + SESSION_VALID,
    ).save()
    return token


def session_participant(token: str | None, now: datetime) -> str:
    """Whose session this token is, or Unauthorized."""
    if token:
        try:
            session = Session.get(hashlib.sha256(token.encode()).hexdigest())
        except DoesNotExist:
            session = None
        if session is not None and now < session.valid_until:
            return str(session.participant_id)
    raise Unauthorized(
        "unauthorized", "Log in again with a code by SMS (POST /participants/login)."
    )


def end_sessions(participant_id: str) -> int:
    """Delete every session of a participant (erasure); how many there were."""
    keys = list(Session.by_participant.query(participant_id))
    for key in keys:
        Session(key.token_hash).delete()
    return len(keys)


def forget_phone(phone: str) -> int:
    """Delete every outstanding code sent to this phone (erasure); how many there were."""
    keys = list(Verification.by_phone.query(phone))
    for key in keys:
        Verification(key.verification_id).delete()
    return len(keys)
