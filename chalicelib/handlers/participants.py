"""Public routes for residents: signup, login, preferences, export and leaving (rate-limited)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain.errors import DomainError
from chalicelib.domain.signup import (
    AMSTERDAM,
    language_of,
    parse_code,
    parse_phone_request,
    parse_preferences,
    parse_signup,
    translated,
)
from chalicelib.domain.validation import parse_json_object
from chalicelib.handlers.http import json_errors_in, source_ip, wired
from chalicelib.logic import account, codes
from chalicelib.logic import signup as signups
from chalicelib.runtime import runtime

residents = Blueprint(__name__)


def _body() -> dict[str, Any]:
    return parse_json_object(residents.current_request.raw_body)


def _translate(error: DomainError) -> str:
    request = residents.current_request
    try:
        body = parse_json_object(request.raw_body) if request.raw_body else {}
    except DomainError:
        body = {}
    return translated(error, language_of(body, request.headers.get("accept-language")))


answers_in_their_language = json_errors_in(_translate)


def _source() -> str:
    return source_ip(residents.current_request)


def _now() -> datetime:
    return datetime.now(UTC)


def _token() -> str | None:
    header = residents.current_request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _participant_id() -> str:
    return codes.session_participant(_token(), _now())


@residents.route("/signup", methods=["POST"])
@answers_in_their_language
def signup() -> Response:
    """Start a signup: validate, look up addresses, send a code."""
    rt = runtime()
    now = _now()
    request = parse_signup(_body(), now.astimezone(AMSTERDAM).date())
    signup_id, valid = signups.start_signup(request, _source(), rt.services, now)
    return Response(body={"signup_id": signup_id, "expires_in": valid}, status_code=202)


@residents.route("/signup/verify", methods=["POST"])
@answers_in_their_language
@wired
def verify_signup() -> Response:
    """Finish a signup with its code."""
    signup_id, code = parse_code(_body(), "signup_id")
    codes.limit_checks(_source(), _now())
    participant_id = signups.verify_signup(signup_id, code, _now())
    return Response(body={"participant_id": participant_id}, status_code=201)


def _send_code(purpose: str, id_name: str) -> Response:
    """Send a login or unsubscribe code; the same answer whether or not the phone takes part."""
    rt = runtime()
    body = _body()
    phone = parse_phone_request(body)
    language = language_of(body, residents.current_request.headers.get("accept-language"))
    ident, valid = codes.start_code_login(purpose, phone, language, _source(), rt.services, _now())
    return Response(body={id_name: ident, "expires_in": valid}, status_code=202)


@residents.route("/participants/login", methods=["POST"])
@answers_in_their_language
def login() -> Response:
    """Send a login code to a participant's phone."""
    return _send_code("login", "login_id")


@residents.route("/participants/login/verify", methods=["POST"])
@answers_in_their_language
@wired
def verify_login() -> dict[str, Any]:
    """Exchange a login code for a short-lived token."""
    login_id, code = parse_code(_body(), "login_id")
    codes.limit_checks(_source(), _now())
    token, valid = codes.verify_login(login_id, code, _now())
    return {"token": token, "expires_in": valid}


@residents.route("/participants/me", methods=["GET"])
@answers_in_their_language
@wired
def get_me() -> account.ParticipantView:
    """The participant's own data."""
    return account.own_view(_participant_id())


@residents.route("/participants/me", methods=["PUT"])
@answers_in_their_language
def put_me() -> account.ParticipantView:
    """Change language, channel, quiet hours or places."""
    rt = runtime()
    participant_id = _participant_id()
    change = parse_preferences(_body())
    return account.change_preferences(participant_id, change, rt.services.geocoder)


@residents.route("/participants/me/export", methods=["GET"])
@answers_in_their_language
@wired
def export_me() -> account.Export:
    """Everything stored about the participant."""
    return account.export(_participant_id(), _now())


@residents.route("/participants/me", methods=["DELETE"])
@answers_in_their_language
@wired
def delete_me() -> Response:
    """Erase the participant and every place at once."""
    account.erase(_participant_id())
    return Response(body="", status_code=204)


@residents.route("/unsubscribe", methods=["POST"])
@answers_in_their_language
def unsubscribe() -> Response:
    """Send a code to confirm leaving."""
    return _send_code("unsubscribe", "unsubscribe_id")


@residents.route("/unsubscribe/confirm", methods=["POST"])
@answers_in_their_language
def confirm_unsubscribe() -> dict[str, str]:
    """Leave: the participant and every place are removed at once."""
    rt = runtime()
    unsubscribe_id, code = parse_code(_body(), "unsubscribe_id")
    codes.limit_checks(_source(), _now())
    account.confirm_unsubscribe(unsubscribe_id, code, rt.services, _now())
    return {"status": "unsubscribed"}
