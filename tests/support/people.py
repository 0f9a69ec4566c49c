"""People signing in to the control room: tokens as the test client and API Gateway see them."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from tests.support.system import System

POOL = "eu-west-1_TestPool1"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "testclient0000000000000001"


def _part(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def id_token(username: str, groups: Any = ("dispatch",)) -> str:
    """An ID token's shape with these claims, unsigned.

    chalice's test client (like `chalice local`) decodes the payload without checking anything,
    and passes it on as API Gateway passes a verified token's claims; what refuses a bad token
    before that is API Gateway in prod and tools/local.py's verifier locally (tested there).
    `groups` as a list is what a token holds; as a string, what API Gateway passes on.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": f"sub-{username}",
        "aud": CLIENT,
        "iss": ISSUER,
        "token_use": "id",
        "cognito:username": username,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
    }
    if groups is not None:
        claims["cognito:groups"] = list(groups) if isinstance(groups, tuple) else groups
    return ".".join([_part({"kid": "test", "alg": "RS256"}), _part(claims), "c2lnbmF0dXJl"])


DISPATCHER = id_token("meldkamer-jansen")
ADMIN = id_token("gemeente-pietersen", ("municipality-admin",))


def as_person(token: str | None, **headers: str) -> dict[str, str]:
    """Request headers carrying `token` as the page sends it (the ID token, no Bearer)."""
    return {**({"Authorization": token} if token else {}), **headers}


def control_get(system: System, path: str, token: str | None = DISPATCHER, **headers: str) -> Any:
    """GET a control room path as a signed-in person."""
    return system.client.http.get(path, headers=as_person(token, **headers))


def control_post(
    system: System, path: str, body: Any, token: str | None = DISPATCHER, **headers: str
) -> Any:
    """POST a JSON body to a control room path as a signed-in person."""
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return system.client.http.post(
        path, body=raw, headers=as_person(token, **{"Content-Type": "application/json", **headers})
    )
