"""People signed in to the control room: their groups, and who may do what (no AWS here)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from chalicelib.domain.errors import Forbidden, Unauthorized


class PersonGroup(StrEnum):
    """A Cognito group of the control room's user pool, one per class of IAM caller."""

    DISPATCH = "dispatch"  # as DispatchCallerPrincipals: follows and steers actions
    MUNICIPALITY_ADMIN = "municipality-admin"  # as MunicipalityAdminPrincipals


# What a request without a valid ID token is told, by API Gateway's gateway response in prod
# (infra/template.json: ControlUnauthorized), by the local runner, and by the routes themselves.
SIGN_IN_MESSAGE = (
    "Sign in to the control room: send a valid, unexpired ID token of its Cognito user pool "
    "in the Authorization header."
)
CALLER_PREFIX = "cognito:"  # a person's actions record them as cognito:<username>


def groups_of(claims: Mapping[str, Any]) -> list[str]:
    """The groups a token's `cognito:groups` claim names.

    API Gateway (REST) passes every claim as a string, several groups comma-separated; a decoded
    token (chalice local, the test client) has a JSON list. Either gives the same groups.
    """
    raw = claims.get("cognito:groups")
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(g) for g in raw]
    text = str(raw).strip()
    if text.startswith("[") and text.endswith("]"):  # "[a b]": how HTTP APIs flatten a list
        text = text[1:-1].replace(" ", ",")
    return [g.strip() for g in text.split(",") if g.strip()]


def dispatcher(claims: Mapping[str, Any] | None) -> str:
    """The caller a signed-in dispatcher acts as (cognito:<username>); refuse anyone else.

    No claims (no token reached us) is 401; a person outside the dispatch group is 403 with the
    group they need and the groups they have.
    """
    username = (claims or {}).get("cognito:username")
    if not claims or not isinstance(username, str) or not username:
        raise Unauthorized("unauthorized", SIGN_IN_MESSAGE)
    groups = groups_of(claims)
    if PersonGroup.DISPATCH not in groups:
        have = ", ".join(groups) if groups else "no group"
        raise Forbidden(
            "group_required",
            f"This needs the {PersonGroup.DISPATCH} group; you are in {have}. Ask your Cognito "
            f"administrator to add you to {PersonGroup.DISPATCH}.",
            group=PersonGroup.DISPATCH.value,
            groups=groups,
        )
    return CALLER_PREFIX + username
