"""Signing in to the control room through the local runner, as the page does: Cognito (the
emulator's) gives the demo dispatcher an ID token, and the control routes take it; a forged or
expired token, or the demo municipality admin, gets nothing. Local refuses what prod refuses."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey
from moto.utilities.utils import load_resource

from chalicelib.domain.people import SIGN_IN_MESSAGE
from tests.support.local import LocalSystem
from tools.control_pool import DEMO_PEOPLE

pytestmark = pytest.mark.e2e

ACTION = {
    "incident": "burglary",
    "description": "man, circa 30 jaar, rode jas, zwarte fiets",
    "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 1500},
}


def _config(system: LocalSystem) -> dict[str, Any]:
    answer = requests.get(f"{system.api}/control/config", timeout=10)
    assert answer.status_code == 200, answer.text
    config: dict[str, Any] = answer.json()
    return config


def _sign_in(config: dict[str, Any], username: str) -> dict[str, Any]:
    """InitiateAuth with USER_PASSWORD_AUTH, as the page calls cognito-idp (no challenge here)."""
    cognito = boto3.client(
        "cognito-idp",
        region_name=config["region"],
        endpoint_url=config["endpoint"],
        aws_access_key_id="none",  # InitiateAuth is unsigned in AWS; the emulator wants a key
        aws_secret_access_key="none",
    )
    password, _ = DEMO_PEOPLE[username]
    answer = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=config["client_id"],
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    assert "ChallengeName" not in answer  # no MFA locally, as the banner says
    result: dict[str, Any] = answer["AuthenticationResult"]
    return result


def _get(system: LocalSystem, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": token} if token is not None else {}
    return requests.get(f"{system.api}{path}", headers=headers, timeout=30)


def _payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return claims


def _refused(answer: requests.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {"error": "unauthorized", "message": SIGN_IN_MESSAGE}


def test_the_demo_dispatcher_signs_in_and_reads_the_actions(local_system: LocalSystem) -> None:
    config = _config(local_system)
    assert config["mfa"] == "off"
    started = requests.post(f"{local_system.api}/actions", json=ACTION, timeout=30)
    assert started.status_code == 202, started.text
    token = _sign_in(config, "meldkamer")["IdToken"]

    listed = _get(local_system, "/control/actions", token)
    assert listed.status_code == 200, listed.text
    assert [a["action_id"] for a in listed.json()["actions"]] == [started.json()["action_id"]]

    view = _get(local_system, f"/control/actions/{started.json()['action_id']}", token)
    assert view.status_code == 200, view.text
    assert view.json()["action"]["ref"] == started.json()["ref"]
    again = requests.get(
        view.url,
        headers={"Authorization": token, "If-None-Match": view.headers["ETag"]},
        timeout=30,
    )
    assert again.status_code in (200, 304)  # 304 unless a sender moved the counts meanwhile

    closed = requests.post(
        f"{view.url}/close",
        json={"outcome": "cancelled"},
        headers={"Authorization": token},
        timeout=30,
    )
    assert closed.status_code == 200, closed.text
    action_id = started.json()["action_id"]
    timeline = requests.get(f"{local_system.api}/actions/{action_id}/timeline", timeout=30)
    [closing] = [e for e in timeline.json()["events"] if e["event"] == "closed"]
    assert closing["detail"]["by"] == "cognito:meldkamer"


def test_a_forged_an_expired_or_no_token_is_refused(local_system: LocalSystem) -> None:
    config = _config(local_system)
    admin = _sign_in(config, "gemeente")
    header, _, signature = admin["IdToken"].split(".")
    claims = _payload(admin["IdToken"])

    # The admin's own token, with the dispatch group written in: its signature no longer holds.
    promoted = {**claims, "cognito:groups": ["dispatch"]}
    edited = base64.urlsafe_b64encode(json.dumps(promoted).encode()).rstrip(b"=").decode()
    _refused(_get(local_system, "/control/actions", f"{header}.{edited}.{signature}"))

    # Signed with the emulator's own key (the pool's), but an hour past its expiry.
    pool_key = RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    now = int(time.time())
    expired = {**claims, "cognito:groups": ["dispatch"], "iat": now - 7200, "exp": now - 3600}
    stale = jwt.encode({"alg": "RS256", "kid": "dummy"}, expired, pool_key)
    _refused(_get(local_system, "/control/actions", stale))
    # The same key and claims, not yet expired: only the expiry refused it.
    fresh = jwt.encode({"alg": "RS256", "kid": "dummy"}, {**expired, "exp": now + 600}, pool_key)
    assert _get(local_system, "/control/actions", fresh).status_code == 200

    _refused(_get(local_system, "/control/actions", admin["AccessToken"]))  # not an ID token
    _refused(_get(local_system, "/control/actions", None))
    _refused(_get(local_system, "/control/actions", "Bearer " + admin["IdToken"]))


def test_the_municipality_admin_is_refused_the_dispatch_routes(local_system: LocalSystem) -> None:
    config = _config(local_system)
    token = _sign_in(config, "gemeente")["IdToken"]

    answer = _get(local_system, "/control/actions", token)
    closing = requests.post(
        f"{local_system.api}/control/actions/any/close",
        json={"outcome": "cancelled"},
        headers={"Authorization": token},
        timeout=30,
    )

    for refused in (answer, closing):
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "group_required"
        assert refused.json()["groups"] == ["municipality-admin"]
        assert "dispatch group" in refused.json()["message"]
