"""The control room's Cognito user pool in the emulator, its demo people, and the check of their
tokens that API Gateway's Cognito authorizer makes in AWS and chalice local does not.

chalice local (chalice/local.py, LocalGatewayAuthorizer) decodes a Cognito route's token without
checking its signature, issuer, audience or expiry, and lets a request without one through with
a warning. So `make run` puts `VerifyingAuthorizer` in its place: a route with the Cognito
authorizer gets in only with an ID token this pool signed (RS256, the key from the pool's JWKS),
issued by this pool (`iss`), for the page's app client (`aud`), an ID token (`token_use`), not
expired (`exp`) nor issued in the future (`iat`). The claims then reach the function as API
Gateway passes them: every value a string, several groups comma-separated. Anything else gets
the 401 API Gateway answers (the template's gateway response), before the function runs.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalice.app import CognitoUserPoolAuthorizer
from chalice.local import LocalGatewayAuthorizer, NotAuthorizedError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from chalicelib.domain.people import PersonGroup
from tools.emulator import TEMPLATE

# Locally MFA is off (no authenticator app on a demo machine); prod requires it (the template).
LOCAL_MFA = "OFF"
# The demo people `make run` creates, with known passwords printed in its banner.
DEMO_PEOPLE = {
    "meldkamer": ("Meldkamer-demo-2026", PersonGroup.DISPATCH),
    "gemeente": ("Gemeente-demo-2026", PersonGroup.MUNICIPALITY_ADMIN),
}
# How far a token's iat may lie ahead of this clock (clocks drift); exp gets no grace.
IAT_SKEW_S = 60
# Times API Gateway renders in the claims it passes on: "Fri Jul 29 18:52:53 UTC 2016".
GATEWAY_TIME = "%a %b %d %H:%M:%S UTC %Y"
TIME_CLAIMS = ("exp", "iat", "auth_time")


@dataclass(frozen=True)
class Pool:
    """A user pool in the emulator, as the page and the verifier need it."""

    pool_id: str
    client_id: str
    issuer: str  # what its tokens' iss says: the same form as in AWS
    jwks_url: str  # where the emulator serves its signing keys


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(TEMPLATE.read_text())["Resources"]
    return resources


def create_pool(cognito: Any, emulator: str, region: str) -> Pool:
    """Create the template's pool, app client and groups in the emulator (MFA off)."""
    resources = _resources()
    spec = resources["ControlUserPool"]["Properties"]
    pool = cognito.create_user_pool(
        PoolName="burgernet-control",
        Policies=spec["Policies"],
        AdminCreateUserConfig=spec["AdminCreateUserConfig"],
        AccountRecoverySetting=spec["AccountRecoverySetting"],
        UsernameConfiguration=spec["UsernameConfiguration"],
        MfaConfiguration=LOCAL_MFA,
    )["UserPool"]
    client_spec = resources["ControlPageClient"]["Properties"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"],
        **{k: v for k, v in client_spec.items() if k != "UserPoolId"},
    )["UserPoolClient"]
    for resource in resources.values():
        if resource.get("Type") == "AWS::Cognito::UserPoolGroup":
            props = resource["Properties"]
            cognito.create_group(
                UserPoolId=pool["Id"],
                GroupName=props["GroupName"],
                Description=props.get("Description", ""),
            )
    return Pool(
        pool_id=pool["Id"],
        client_id=client["ClientId"],
        issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool['Id']}",
        jwks_url=f"{emulator}/{pool['Id']}/.well-known/jwks.json",
    )


def create_demo_people(cognito: Any, pool: Pool) -> None:
    """A demo dispatcher and a demo municipality admin, with permanent, known passwords."""
    for username, (password, group) in DEMO_PEOPLE.items():
        cognito.admin_create_user(
            UserPoolId=pool.pool_id, Username=username, MessageAction="SUPPRESS"
        )
        cognito.admin_set_user_password(
            UserPoolId=pool.pool_id, Username=username, Password=password, Permanent=True
        )
        cognito.admin_add_user_to_group(
            UserPoolId=pool.pool_id, Username=username, GroupName=group.value
        )


def unauthorized_body() -> bytes:
    """What API Gateway answers a Cognito route without a valid token (the gateway response)."""
    body = _resources()["RestAPI"]["Properties"]["DefinitionBody"]
    template = body["x-amazon-apigateway-gateway-responses"]["UNAUTHORIZED"]
    return str(template["responseTemplates"]["application/json"]).encode()


class Refused(Exception):
    """A token the authorizer does not accept; the reason is for the runner's log only."""


class TokenVerifier:
    """Checks an ID token as API Gateway's Cognito authorizer does, against one pool."""

    def __init__(
        self, keys: Mapping[str, Any], pool: Pool, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys = KeySet.import_key_set(dict(keys))  # type: ignore[arg-type]
        self._pool = pool
        self._clock = clock

    @classmethod
    def fetch(cls, pool: Pool) -> TokenVerifier:
        """A verifier with the pool's signing keys, read from the emulator's JWKS URL."""
        with urllib.request.urlopen(pool.jwks_url, timeout=10) as answer:
            return cls(json.loads(answer.read()), pool)

    def claims(self, token: str | None) -> dict[str, Any]:
        """The token's claims if it is a valid, unexpired ID token of the pool's app client."""
        if not token:
            raise Refused("no token")
        try:
            # RS256 only: a token may not choose a weaker algorithm (or none) for itself.
            claims = dict(jwt.decode(token, self._keys, algorithms=["RS256"]).claims)
        except (JoseError, ValueError) as exc:
            raise Refused(f"not a token this pool signed: {type(exc).__name__}") from None
        now = self._clock()
        if claims.get("iss") != self._pool.issuer:
            raise Refused("another issuer")
        if claims.get("token_use") != "id":
            raise Refused("not an ID token")
        if claims.get("aud") != self._pool.client_id:
            raise Refused("another app client")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int) or exp <= now:
            raise Refused("expired")
        if not isinstance(iat, int) or iat > now + IAT_SKEW_S:
            raise Refused("issued in the future")
        return claims


def as_api_gateway_passes(claims: Mapping[str, Any]) -> dict[str, str]:
    """A verified token's claims as API Gateway (REST) hands them to the function: strings."""
    passed: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, list):
            passed[name] = ",".join(str(v) for v in value)
        elif name in TIME_CLAIMS and isinstance(value, int):
            passed[name] = time.strftime(GATEWAY_TIME, time.gmtime(value))
        elif isinstance(value, bool):
            passed[name] = str(value).lower()
        else:
            passed[name] = str(value)
    return passed


class VerifyingAuthorizer(LocalGatewayAuthorizer):
    """chalice local's authorizer, with Cognito routes checked as API Gateway checks them."""

    def __init__(self, app_object: Any, verifier: TokenVerifier) -> None:
        super().__init__(app_object)
        self._verifier = verifier

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> tuple[Any, Any]:
        """Let a Cognito route's request in with its claims, or refuse it with API Gateway's
        401; every other route as chalice local does."""
        route = self._route_for_event(lambda_event)
        if route is None or not isinstance(route.authorizer, CognitoUserPoolAuthorizer):
            return super().authorize(raw_path, lambda_event, lambda_context)
        headers = {k.lower(): v for k, v in (lambda_event.get("headers") or {}).items()}
        try:
            claims = self._verifier.claims(headers.get("authorization"))
        except Refused as refused:
            print(f"[control] refused a token: {refused}")  # the reason, never the token
            raise NotAuthorizedError(
                {
                    "x-amzn-RequestId": lambda_context.aws_request_id,
                    "x-amzn-ErrorType": "UnauthorizedException",
                    "Content-Type": "application/json",
                    "Cache-Control": "no-store",
                },
                unauthorized_body(),
            ) from None
        lambda_event["requestContext"]["authorizer"] = {"claims": as_api_gateway_passes(claims)}
        return lambda_event, lambda_context
