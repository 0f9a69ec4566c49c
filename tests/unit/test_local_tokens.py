"""The local runner lets a person in as API Gateway's Cognito authorizer would, and no one else.

Tokens are made here with a key of our own, as the pool signs them; no network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from chalicelib.domain.people import SIGN_IN_MESSAGE, dispatcher
from tools.control_pool import (
    Pool,
    Refused,
    TokenVerifier,
    as_api_gateway_passes,
    unauthorized_body,
)

POOL = Pool(
    pool_id="eu-west-1_Abc123",
    client_id="pageclient123",
    issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc123",
    jwks_url="http://127.0.0.1:5000/eu-west-1_Abc123/.well-known/jwks.json",
)
NOW = 1_800_000_000
KEY = RSAKey.generate_key(2048, parameters={"kid": "pool-key"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "pool-key"})  # same kid, not ours


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": POOL.issuer,
        "aud": POOL.client_id,
        "token_use": "id",
        "sub": "8b6dc52e",
        "cognito:username": "meldkamer",
        "cognito:groups": ["dispatch"],
        "iat": NOW - 10,
        "auth_time": NOW - 10,
        "exp": NOW + 3600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(key: Any = KEY, alg: str = "RS256", **changes: Any) -> str:
    return jwt.encode({"alg": alg, "kid": "pool-key"}, _claims(**changes), key)


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier({"keys": [KEY.as_dict(private=False)]}, POOL, clock=lambda: NOW)


def test_an_id_token_of_the_pools_page_client_is_taken(verifier: TokenVerifier) -> None:
    claims = verifier.claims(_token())
    assert dispatcher(as_api_gateway_passes(claims)) == "cognito:meldkamer"


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (None, "no token"),
        ("", "no token"),
        ("not.a.token", "not a token this pool signed"),
        (_token(OTHER_KEY), "not a token this pool signed"),  # forged: signed by another key
        (
            _token(iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"),
            "another issuer",
        ),
        (_token(token_use="access", aud=None, client_id=POOL.client_id), "not an ID token"),
        (_token(aud="anotherclient"), "another app client"),
        (_token(exp=NOW), "expired"),
        (_token(exp=NOW - 1), "expired"),
        (_token(exp=None), "expired"),
        (_token(iat=NOW + 3600), "issued in the future"),
    ],
    ids=[
        "missing",
        "empty",
        "garbage",
        "forged",
        "other-pool",
        "access-token",
        "other-client",
        "expires-now",
        "expired",
        "no-expiry",
        "future",
    ],
)
def test_anything_else_is_refused(verifier: TokenVerifier, token: str | None, why: str) -> None:
    with pytest.raises(Refused, match=why):
        verifier.claims(token)


def test_a_token_cannot_pick_its_own_algorithm(verifier: TokenVerifier) -> None:
    """An HMAC token keyed with the pool's public key (algorithm confusion) is refused."""
    signed = ".".join(_part(p) for p in ({"alg": "HS256", "kid": "pool-key"}, _claims()))
    mac = hmac.new(KEY.as_pem(private=False), signed.encode(), hashlib.sha256).digest()
    forged = signed + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(Refused):
        verifier.claims(forged)
    unsigned = ".".join(_part(p) for p in ({"alg": "none"}, _claims())) + "."
    with pytest.raises(Refused):
        verifier.claims(unsigned)


def _part(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_valid_token_with_a_changed_claim_is_refused(verifier: TokenVerifier) -> None:
    """The admin's own token, its groups edited to dispatch: the signature no longer holds."""
    header, payload, signature = _token(**{"cognito:groups": ["municipality-admin"]}).split(".")
    edited = _token(**{"cognito:groups": ["dispatch"]}).split(".")[1]
    with pytest.raises(Refused, match="not a token this pool signed"):
        verifier.claims(".".join([header, edited, signature]))
    assert payload != edited


def test_claims_reach_the_function_as_api_gateway_passes_them() -> None:
    passed = as_api_gateway_passes(
        _claims(**{"cognito:groups": ["municipality-admin", "dispatch"]})
    )
    assert passed["cognito:groups"] == "municipality-admin,dispatch"
    assert passed["exp"] == time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(NOW + 3600))
    assert all(isinstance(v, str) for v in passed.values())
    assert dispatcher(passed) == "cognito:meldkamer"


def test_the_refusal_is_the_gateway_response_prod_answers() -> None:
    assert unauthorized_body() == (
        b'{"error": "unauthorized", "message": "' + SIGN_IN_MESSAGE.encode() + b'"}'
    )
