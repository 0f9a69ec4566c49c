"""Who may act in the control room, read from a token's claims as API Gateway passes them."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import Forbidden, Unauthorized
from chalicelib.domain.people import dispatcher, groups_of


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        ("dispatch", ["dispatch"]),
        ("municipality-admin,dispatch", ["municipality-admin", "dispatch"]),
        ("[municipality-admin dispatch]", ["municipality-admin", "dispatch"]),
        (["dispatch"], ["dispatch"]),
        (None, []),
        ("", []),
    ],
)
def test_groups_read_the_same_however_the_claim_is_written(claim: Any, groups: list[str]) -> None:
    claims = {} if claim is None else {"cognito:groups": claim}
    assert groups_of(claims) == groups


def test_a_dispatcher_acts_under_their_username() -> None:
    claims = {"cognito:username": "meldkamer", "cognito:groups": "dispatch"}
    assert dispatcher(claims) == "cognito:meldkamer"


@pytest.mark.parametrize("claims", [None, {}, {"cognito:groups": "dispatch"}])
def test_no_signed_in_person_is_unauthorized(claims: Any) -> None:
    with pytest.raises(Unauthorized):
        dispatcher(claims)


@pytest.mark.parametrize("groups", ["municipality-admin", "dispatchers", "Dispatch", None])
def test_anyone_outside_the_dispatch_group_is_forbidden_and_told_which_group(groups: Any) -> None:
    claims = {"cognito:username": "gemeente", "cognito:groups": groups}
    with pytest.raises(Forbidden) as refused:
        dispatcher({k: v for k, v in claims.items() if v is not None})
    assert refused.value.params["group"] == "dispatch"
    assert "dispatch group" in refused.value.message
