"""A stand-in for the control room's API and Cognito, for browser tests of the page alone.

It answers the page's requests inside Chromium (Playwright's request routing) in the shapes of
docs/api.md's "Control room": the page's own HTML and bundle as the Lambda serves them, the
tiles as the runner's stand-in draws them, Cognito's InitiateAuth, and the /control routes with
ETags. A test changes `actions`, `details` or `refuse` and watches what the page shows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route

from chalicelib.domain.control_page import render
from tools.build_control import STATIC
from tools.tiles_standin import tile

ORIGIN = "http://burgernet.test"
COGNITO = "http://cognito.test/"
TILES = "http://tiles.test/tiles/{z}/{x}/{y}.png"


def token(username: str, groups: list[str]) -> str:
    """An unsigned JWT with the claims the page reads (the page never checks signatures)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"cognito:username": username, "cognito:groups": groups, "token_use": "id"}
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


@dataclass
class ControlApi:
    """What the fake API holds and answers, and what it was asked."""

    users: dict[str, tuple[str, list[str]]] = field(
        default_factory=dict
    )  # name -> password, groups
    actions: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # "POST close"
    down: bool = False  # every /control request fails at the network
    hang: bool = False  # every /control request waits forever for an answer
    hung: list[Route] = field(default_factory=list)
    mfa: dict[str, str] = field(default_factory=dict)  # name -> the TOTP code Cognito asks for
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> name
    live_tokens: set[str] = field(default_factory=set)  # ID tokens the API still accepts
    cognito_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    posted: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    polls: list[tuple[str, str | None, int]] = field(
        default_factory=list
    )  # path, If-None-Match, status

    def attach(self, page: Page) -> None:
        """Answer every request of this tab; nothing reaches the network."""
        page.route("**/*", self._answer)

    def _answer(self, route: Route) -> None:
        request = route.request
        url = urlsplit(request.url)
        if request.url.startswith(COGNITO):
            self._cognito(route)
        elif url.netloc == "tiles.test":
            route.fulfill(status=200, content_type="image/png", body=tile(False))
        elif url.netloc != "burgernet.test":
            route.abort()
        elif url.path == "/control":
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=render(TILES))
        elif url.path.startswith("/control/assets/"):
            name = url.path.rsplit("/", 1)[1]
            kind = "text/css" if name.endswith(".css") else "text/javascript"
            route.fulfill(status=200, content_type=kind, body=(STATIC / name).read_bytes())
        elif url.path == "/signup/assets/signup.css":
            route.fulfill(
                status=200, content_type="text/css", body=(STATIC / "signup.css").read_bytes()
            )
        elif url.path == "/control/config":
            self._json(route, 200, {"endpoint": COGNITO, "client_id": "page", "mfa": "off"})
        elif self.down:
            route.abort("connectionrefused")
        elif self.hang:
            self.hung.append(route)  # never answered: the page must give up on its own
        else:
            self._control(route, url.path)

    def _json(self, route: Route, status: int, body: Any, etag: str | None = None) -> None:
        headers = {"ETag": etag} if etag else {}
        route.fulfill(
            status=status, content_type="application/json", body=json.dumps(body), headers=headers
        )

    def _cognito(self, route: Route) -> None:
        """InitiateAuth (password, or refresh token) and the TOTP challenge, as Cognito answers."""
        operation = route.request.headers.get("x-amz-target", "").rsplit(".", 1)[-1]
        payload = json.loads(route.request.post_data or "{}")
        self.cognito_calls.append((operation, payload))
        params = payload.get("AuthParameters", {})
        if payload.get("AuthFlow") == "REFRESH_TOKEN_AUTH":
            name = self.refresh_tokens.get(params.get("REFRESH_TOKEN", ""))
            if name is None:
                self._json(
                    route,
                    400,
                    {"__type": "NotAuthorizedException", "message": "Refresh Token has expired"},
                )
            else:
                self._json(route, 200, {"AuthenticationResult": {"IdToken": self._issue(name)}})
            return
        if operation == "RespondToAuthChallenge":
            name = payload["ChallengeResponses"]["USERNAME"]
            code = payload["ChallengeResponses"].get("SOFTWARE_TOKEN_MFA_CODE")
            if payload.get("Session") != f"session-{name}" or code != self.mfa.get(name):
                self._json(
                    route,
                    400,
                    {
                        "__type": "CodeMismatchException",
                        "message": "Invalid code received for user",
                    },
                )
            else:
                self._signed_in(route, name)
            return
        user = self.users.get(params.get("USERNAME", ""))
        if user is None or user[0] != params.get("PASSWORD"):
            self._json(
                route,
                400,
                {"__type": "NotAuthorizedException", "message": "Incorrect username or password."},
            )
            return
        name = params["USERNAME"]
        if name in self.mfa:
            challenge = {"ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": f"session-{name}"}
            self._json(route, 200, {**challenge, "ChallengeParameters": {}})
            return
        self._signed_in(route, name)

    def _issue(self, name: str) -> str:
        issued = token(name, self.users[name][1])
        self.live_tokens.add(issued)
        return issued

    def _signed_in(self, route: Route, name: str) -> None:
        refresh = f"refresh-{name}"
        self.refresh_tokens[refresh] = name
        result = {"IdToken": self._issue(name), "RefreshToken": refresh}
        self._json(route, 200, {"AuthenticationResult": result})

    def expire_tokens(self) -> None:
        """Every ID token handed out so far stops being accepted (the API answers 401)."""
        self.live_tokens.clear()

    def _groups(self, route: Route) -> list[str] | None:
        authorization = route.request.headers.get("authorization", "")
        try:
            part = authorization.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except (IndexError, ValueError):
            return None
        return list(claims["cognito:groups"])

    def _control(self, route: Route, path: str) -> None:
        request = route.request
        groups = self._groups(route)
        if groups is None or route.request.headers.get("authorization") not in self.live_tokens:
            self._json(route, 401, {"error": "unauthorized", "message": "Sign in."})
            return
        if "dispatch" not in groups:
            self._json(
                route,
                403,
                {
                    "error": "group_required",
                    "message": "This needs the dispatch group; you are in "
                    f"{', '.join(groups) or 'no group'}.",
                    "group": "dispatch",
                    "groups": groups,
                },
            )
            return
        if request.method != "GET":
            self.posted.append(
                (request.method, path, request.headers, request.post_data_buffer or b"")
            )
            refused = self.refuse.get(f"{request.method} {path.rsplit('/', 1)[1]}")
            if refused:
                self._json(route, *refused)
            else:
                self._json(route, 202, {"update_id": "u-1"})
            return
        body: Any
        if path == "/control/actions":
            body = {"actions": self.actions, "next": None}
        else:
            body = self.details.get(path.rsplit("/", 1)[1])
            if body is None:
                self._json(route, 404, {"error": "action_not_found", "message": "No such action."})
                return
        etag = (
            '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16] + '"'
        )
        asked = request.headers.get("if-none-match")
        status = 304 if asked == etag else 200
        self.polls.append((path, asked, status))
        if status == 304:
            route.fulfill(status=304, headers={"ETag": etag})
        else:
            self._json(route, 200, body, etag)
