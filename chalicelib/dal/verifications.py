"""Codes sent by SMS to prove a person holds a phone, and the short-lived sessions they unlock."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.dal.models import Session, Verification
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
    code: str,
    now: datetime,
    participant_id: str | None = None,
    request: str | None = None,
) -> Verification:
    """Remember that `code` was sent to `phone` for `purpose`; only its hash is stored."""
    verification_id = str(uuid.uuid4())
    record = Verification(
        verification_id,
        purpose=purpose,
        phone=phone,
        code_hash=_hash(verification_id, code),
        valid_until=now + CODE_VALID,
        attempts=0,
        participant_id=participant_id,
        request=request,
        expires=now + KEEP_FOR,
    )
    record.save()
    return record


def check(verification_id: str, purpose: str, code: str, now: datetime) -> Verification:
    """The verification if `code` is right; otherwise a clear error (wrong, locked, expired)."""
    try:
        record = Verification.get(verification_id, consistent_read=True)
    except DoesNotExist:
        record = None
    if record is None or record.purpose != purpose:
        raise NotFound("not_found", "Unknown or finished request; start again.", "code")
    if record.attempts >= MAX_ATTEMPTS:
        raise Locked("locked", "Too many wrong codes; start again.", "code")
    if now >= record.valid_until:
        raise Expired("code_expired", "This code has expired; ask for a new one.", "code")
    if hmac.compare_digest(record.code_hash, _hash(verification_id, code)):
        return record
    try:
        record.update(
            actions=[Verification.attempts.add(1)],
            condition=Verification.attempts < MAX_ATTEMPTS,
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    left = MAX_ATTEMPTS - int(record.attempts)
    if left <= 0:
        raise Locked("locked", "Too many wrong codes; start again.", "code")
    raise InvalidInput(
        "wrong_code", f"This code is not right; {left} attempts left.", "code", attempts_left=left
    )


def finish(record: Verification) -> None:
    """A used code cannot be used again."""
    record.delete()


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
