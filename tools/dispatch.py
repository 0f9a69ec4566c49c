"""A dispatch client: start, follow and close actions from a shell or a control room's scripts.

    python -m tools.dispatch [--url URL] start --incident burglary --description "rode jas" \\
        --lat 52.0907 --lon 5.1214 --radius 1500
    python -m tools.dispatch status <action_id>
    python -m tools.dispatch close <action_id> --outcome arrested [--message "Dank!"]
    python -m tools.dispatch reach --lat 52.0907 --lon 5.1214 --radius 1500 [--duration 60]
    python -m tools.dispatch sightings <action_id> [--limit 25] [--next TOKEN]
    python -m tools.dispatch timeline <action_id> [--json]     (also: make ops ACTION=<id>)

A deployed stage (https://…execute-api.<region>.amazonaws.com/api) is called with SigV4 for
`execute-api`, credentials from the standard AWS chain (env, profile, SSO, instance role). The
local runner (`make run`) has no authorizer: requests go unsigned. Without --url it calls
BURGERNET_API_URL, else the local runner on BURGERNET_API_PORT (tools/local_urls.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from tools.local_urls import local_urls

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SERVICE = "execute-api"


class ApiError(Exception):
    """The API refused a request; carries its status and its JSON error."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {json.dumps(body, ensure_ascii=False)}")
        self.status = status
        self.body = body


def region_of(url: str) -> str | None:
    """The region in an execute-api host name (abc123.execute-api.eu-west-1.amazonaws.com)."""
    parts = (urlsplit(url).hostname or "").split(".")
    return parts[2] if len(parts) > 3 and parts[1] == SERVICE else None


def sign(
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    credentials: Any,
    region: str,
) -> dict[str, str]:
    """The headers of the request, SigV4-signed for execute-api (Authorization, X-Amz-Date, …)."""
    request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return dict(request.headers.items())


class DispatchClient:
    """The dispatch API over HTTP: signed for a deployed stage, plain for the local runner."""

    def __init__(self, url: str, region: str | None = None, timeout: float = 30) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.signed = urlsplit(self.url).hostname not in LOCAL_HOSTS
        self.credentials: Any = None
        self.region = region or region_of(self.url)
        if self.signed:
            session = botocore.session.get_session()
            self.credentials = session.get_credentials()
            self.region = self.region or session.get_config_variable("region")
            if self.credentials is None:
                raise SystemExit("No AWS credentials found (env, profile, SSO or role).")
            if not self.region:
                raise SystemExit("No region: pass --region or use the execute-api URL.")

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one request; the JSON answer, or ApiError with the API's JSON error."""
        prepared = requests.Request(
            method, self.url + path, params=params or None, headers=headers or {}
        ).prepare()
        data = None if body is None else json.dumps(body).encode()
        all_headers = {k: v for k, v in prepared.headers.items()}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        url = prepared.url or self.url + path
        if self.signed:
            all_headers = sign(method, url, data, all_headers, self.credentials, str(self.region))
        response = requests.request(
            method, url, data=data, headers=all_headers, timeout=self.timeout
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {"error": "not_json", "message": response.text[:500]}
        if response.status_code >= 400:
            raise ApiError(response.status_code, answer)
        return answer

    def start(self, request: dict[str, Any], idempotency_key: str | None = None) -> Any:
        """Start an action; the key makes a retry safe (one is made if none is given)."""
        key = idempotency_key or str(uuid.uuid4())
        return self.call("POST", "/actions", request, headers={"Idempotency-Key": key})

    def status(self, action_id: str) -> Any:
        return self.call("GET", f"/actions/{action_id}")

    def close(self, action_id: str, outcome: str, message: str | None = None) -> Any:
        body: dict[str, Any] = {"outcome": outcome}
        if message:
            body["message"] = message
        return self.call("POST", f"/actions/{action_id}/close", body)

    def reach(self, lat: float, lon: float, radius_m: float, duration: int | None = None) -> Any:
        body: dict[str, Any] = {"area": _area(lat, lon, radius_m)}
        if duration is not None:
            body["duration_minutes"] = duration
        return self.call("POST", "/reach", body)

    def sightings(self, action_id: str, limit: int | None = None, page: str | None = None) -> Any:
        params = {k: str(v) for k, v in (("limit", limit), ("next", page)) if v is not None}
        return self.call("GET", f"/actions/{action_id}/sightings", params=params)

    def timeline(self, action_id: str) -> Any:
        return self.call("GET", f"/actions/{action_id}/timeline")


def timeline_table(answer: dict[str, Any]) -> str:
    """A timeline as a table for people: one event a line, oldest first."""
    rows = [("at", "event", "channel", "count", "detail")]
    for e in answer["events"]:
        detail = " ".join(f"{k}={v}" for k, v in (e.get("detail") or {}).items())
        count = e.get("count")
        rows.append(
            (e["at"], e["event"], e.get("channel", ""), "" if count is None else str(count), detail)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    )


def _area(lat: float, lon: float, radius_m: float) -> dict[str, float]:
    return {"lat": lat, "lon": lon, "radius_m": radius_m}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.dispatch", description=__doc__)
    parser.add_argument(
        "--url",
        default=local_urls().api,
        help="the API's base URL (env BURGERNET_API_URL; default the local runner)",
    )
    parser.add_argument("--region", help="for signing; default from the URL or the AWS config")
    commands = parser.add_subparsers(dest="command", required=True)

    def area(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lat", type=float, required=True)
        p.add_argument("--lon", type=float, required=True)
        p.add_argument("--radius", type=float, required=True, help="metres")

    start = commands.add_parser("start", help="start an action")
    start.add_argument("--incident", required=True)
    start.add_argument("--description", required=True)
    area(start)
    start.add_argument("--duration", type=int, help="minutes (default 60)")
    start.add_argument("--channels", help="comma-separated: sms,voice")
    start.add_argument("--idempotency-key", help="reuse to retry safely; generated if absent")
    start.add_argument(
        "--if-incomplete",
        choices=("send", "reject"),
        help="reject: start nothing if the duration would cut anyone off (default send)",
    )
    commands.add_parser("status", help="an action with its counts").add_argument("action_id")
    close = commands.add_parser("close", help="close an action")
    close.add_argument("action_id")
    close.add_argument("--outcome", required=True, help="found, arrested, not_found, cancelled")
    close.add_argument("--message")
    reach = commands.add_parser("reach", help="how many people an area would alert, and when")
    area(reach)
    reach.add_argument("--duration", type=int, help="minutes `cancelled` is counted at (60)")
    sightings = commands.add_parser("sightings", help="an action's sightings")
    sightings.add_argument("action_id")
    sightings.add_argument("--limit", type=int)
    sightings.add_argument("--next", dest="page")
    timeline = commands.add_parser("timeline", help="what happened to an action, as a table")
    timeline.add_argument("action_id")
    timeline.add_argument("--json", action="store_true", help="the API's JSON instead")
    return parser


def _run(client: DispatchClient, args: argparse.Namespace) -> Any:
    if args.command == "start":
        request: dict[str, Any] = {
            "incident": args.incident,
            "description": args.description,
            "area": _area(args.lat, args.lon, args.radius),
        }
        if args.duration is not None:
            request["duration_minutes"] = args.duration
        if args.channels:
            request["channels"] = [c.strip() for c in args.channels.split(",") if c.strip()]
        if args.if_incomplete:
            request["if_incomplete"] = args.if_incomplete
        return client.start(request, args.idempotency_key)
    if args.command == "status":
        return client.status(args.action_id)
    if args.command == "close":
        return client.close(args.action_id, args.outcome, args.message)
    if args.command == "reach":
        return client.reach(args.lat, args.lon, args.radius, args.duration)
    if args.command == "timeline":
        return client.timeline(args.action_id)
    return client.sightings(args.action_id, args.limit, args.page)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; print the JSON answer, or the API's JSON error on stderr (exit 1)."""
    args = _parser().parse_args(argv)
    client = DispatchClient(args.url, args.region)
    try:
        answer = _run(client, args)
    except ApiError as exc:
        print(f"error: HTTP {exc.status}", file=sys.stderr)
        print(json.dumps(exc.body, indent=2, ensure_ascii=False), file=sys.stderr)
        return 1
    except requests.RequestException as exc:
        print(f"error: cannot reach {client.url}: {exc}", file=sys.stderr)
        return 2
    if args.command == "timeline" and not args.json:
        print(timeline_table(answer))
    else:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
