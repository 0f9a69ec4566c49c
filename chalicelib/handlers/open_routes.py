"""The routes anyone on the internet may call, and why each may; every other route needs IAM
(systems) or, under /control/, a Cognito ID token (people).

tests/integration/test_route_guard.py fails for a route that has no authorizer and is not here,
so a new route that could reach thousands of phones cannot go out open by accident.
"""

from __future__ import annotations

OPEN_ROUTES: dict[tuple[str, str], str] = {
    # Residents sign up from a municipality's site: no account yet, so nothing to sign with.
    ("/signup", "GET"): "the signup page itself: static HTML, no data",
    ("/signup/assets/{name}", "GET"): "the page's CSS and JS: a fixed list of static files",
    ("/toegankelijkheid", "GET"): "the accessibility statement the law asks for: static HTML",
    ("/signup", "POST"): "starts a signup; rate-limited per phone and source, codes budgeted",
    ("/signup/verify", "POST"): "proves the phone with the SMS code; attempts are counted",
    # Dispatchers open the control room before signing in; its data comes with a Cognito token.
    ("/control", "GET"): "the control room page itself: static HTML, no data",
    ("/control/assets/{name}", "GET"): "the page's CSS and JS: a fixed list of built files",
    # Participants prove who they are with a code sent to their phone, then a session token.
    ("/participants/login", "POST"): "sends a login code; same answer whether or not enrolled",
    ("/participants/login/verify", "POST"): "exchanges the code for a short-lived token",
    ("/participants/me", "GET"): "bearer session token from the login code",
    ("/participants/me", "PUT"): "bearer session token from the login code",
    ("/participants/me", "DELETE"): "bearer session token from the login code",
    ("/participants/me/export", "GET"): "bearer session token from the login code",
    ("/unsubscribe", "POST"): "sends a confirmation code; same answer whether or not enrolled",
    ("/unsubscribe/confirm", "POST"): "leaving needs the code sent to that phone",
    # The app registers installs; each later call carries the device's own secret.
    ("/devices", "POST"): "registers an install; rate-limited per source, attestation if set",
    ("/devices/{device_id}/location", "PUT"): "the device's secret (X-Device-Secret)",
    ("/devices/{device_id}", "DELETE"): "the device's secret (X-Device-Secret)",
    ("/actions/{action_id}/sightings", "POST"): "device secret, and only for alerted devices",
    # What the police publish about public actions, for anyone to read (non-public: 404).
    ("/public/alerts", "GET"): "public actions (closed ones for 3 hours, as a Cancel), as "
    "Burgernet's alert list",
    ("/public/actions", "GET"): "public actions with their messages, as Burgernet's action list",
    ("/public/actions/{name}", "GET"): "a public action's latest CAP 1.2 message",
    ("/public/feed.atom", "GET"): "the Atom index of the CAP messages",
    ("/a/{ref}", "GET"): "a public action's page, linked from its posts and messages",
    # The control room's page must know where to sign in before anyone has signed in.
    ("/control/config", "GET"): "the Cognito pool and public app client ids: no data",
    # Integrators' code generators and the CI fuzzer read the contract; it holds no data.
    ("/openapi.json", "GET"): "the OpenAPI document: the same for everyone, no data",
}
