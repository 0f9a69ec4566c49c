"""No route goes out without IAM unless chalicelib/handlers/open_routes.py says why it may; the
control room's routes, for people, take the Cognito authorizer and nothing else does.

The test client (like `chalice local`) ignores authorizers, so no behavioural test can notice a
dispatch route that lost `authorizer=iam`; this one reads the routes the deployment will have.
"""

from __future__ import annotations

from app import app
from chalicelib.handlers.open_routes import OPEN_ROUTES


def _routes() -> dict[tuple[str, str], object]:
    return {
        (path, method): entry.authorizer
        for path, methods in app.routes.items()
        for method, entry in methods.items()
    }


def test_every_route_needs_iam_or_a_stated_reason_to_be_public() -> None:
    open_routes = sorted(
        f"{method} {path}"
        for (path, method), authorizer in _routes().items()
        if authorizer is None and (path, method) not in OPEN_ROUTES
    )
    assert open_routes == [], (
        "these routes have no authorizer: add authorizer=iam, or list them with a reason in "
        "chalicelib/handlers/open_routes.py"
    )


def test_public_routes_are_really_open_and_really_exist() -> None:
    """A stale entry would silently let a future route of that name go out unguarded."""
    routes = _routes()
    assert sorted(set(OPEN_ROUTES) - set(routes)) == []
    assert sorted(k for k in OPEN_ROUTES if routes[k] is not None) == []


def test_dispatch_and_admin_routes_are_signed_and_people_sign_in_under_control_only() -> None:
    routes = _routes()
    signed = {k for k, authorizer in routes.items() if authorizer is not None}
    assert ("/actions", "POST") in signed
    assert ("/municipalities", "POST") in signed
    kinds = {k: type(routes[k]).__name__ for k in signed}
    people = sorted(k for k, kind in kinds.items() if kind == "CognitoUserPoolAuthorizer")
    assert people == sorted(k for k in signed if k[0].startswith("/control/"))
    assert ("/control/actions/{action_id}/close", "POST") in people
    assert all(kind == "IAMAuthorizer" for k, kind in kinds.items() if k not in people)
