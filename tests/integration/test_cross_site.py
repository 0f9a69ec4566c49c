"""What another web site can make its visitors' browsers do with us: frame a page, post a body.

Browsers send text/plain, form encodings and Blob bodies without a Content-Type cross-site with
no CORS preflight; only a declared JSON body gets past the API's door. No page of ours can be
shown in a frame on another site.
"""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from chalice.test import Client

from app import app
from chalicelib.handlers.http import BODY_TYPES, JSON
from tests.support.builders import UTRECHT, UTRECHT_AREA, add_participant
from tests.support.system import REGION, System
from tools.emulator import ROOT

BODY_METHODS = ("POST", "PUT", "PATCH")
ROUTES_WITH_A_BODY = sorted(
    (path, method)
    for path, methods in app.routes.items()
    for method in methods
    if method in BODY_METHODS
)
PAGES = sorted(path for path, methods in app.routes.items() if "GET" in methods)
# What a cross-site browser request can carry without a preflight, and other near misses.
NOT_JSON = {
    "text/plain": "text/plain;charset=UTF-8",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=x",
    "no header": None,
    "any": "*/*",
    "a list": "text/plain, application/json",
    "json-ish": "application/json-patch+json",
}
SIGNUP = {
    "municipality": "GM0344",
    "phone": "06-12345678",
    "birth_date": "1990-04-01",
    "places": [{"label": "home", "postcode": "3511 LX", "house_number": "1"}],
}


def concrete(path: str) -> str:
    """A route's path with each {parameter} filled in."""
    return re.sub(r"\{(\w+)\}", lambda m: {"name": "signup.js"}.get(m.group(1), "x-1"), path)


def everything_stored() -> dict[str, list[dict[str, Any]]]:
    """Every item of every table, and every message waiting in a queue."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    stored: dict[str, list[dict[str, Any]]] = {}
    for table in dynamodb.list_tables()["TableNames"]:
        stored[table] = dynamodb.scan(TableName=table)["Items"]
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        stored[url] = [{"messages": attributes["ApproximateNumberOfMessages"]}]
    return stored


def send(client: Client, method: str, path: str, body: str, content_type: str | None) -> Any:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return client.http.request(method, path, headers=headers, body=body.encode())


# --- 415 for every body that is not declared as JSON -------------------------------------------


def test_the_sweep_covers_the_public_routes() -> None:
    public = {(p, m) for p, m in ROUTES_WITH_A_BODY if app.routes[p][m].authorizer is None}
    assert {("/signup", "POST"), ("/participants/me", "PUT"), ("/devices", "POST")} <= public
    assert ("/actions", "POST") in ROUTES_WITH_A_BODY  # dispatch follows the same rule


@pytest.mark.parametrize(("path", "method"), ROUTES_WITH_A_BODY)
def test_every_route_with_a_body_refuses_anything_but_json_and_stores_nothing(
    system: System, path: str, method: str
) -> None:
    system.post("/municipalities", UTRECHT_AREA)
    before = everything_stored()

    for name, content_type in NOT_JSON.items():
        response = send(system.client, method, concrete(path), json.dumps(SIGNUP), content_type)

        assert response.status_code == 415, (name, response.body)
        body = json.loads(response.body)
        assert body["error"] == "unsupported_media_type", name
        for accepted in BODY_TYPES.get(path, JSON):  # the photo route takes images instead
            assert f"Content-Type: {accepted}" in body["message"], name
        assert response.headers["Content-Type"] == "application/json"
    assert everything_stored() == before
    assert system.emulator.sms() == []


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_cross_site_signup_sends_no_code_and_counts_nothing(
    system: System, content_type: str | None
) -> None:
    # A complete, valid signup: without the door it would send an SMS and count the address.
    system.post("/municipalities", UTRECHT_AREA)
    before = everything_stored()

    response = send(system.client, "POST", "/signup", json.dumps(SIGNUP), content_type)

    assert response.status_code == 415
    assert system.emulator.sms() == []
    assert everything_stored() == before


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_with_or_without_a_charset_gets_through(system: System, content_type: str) -> None:
    system.post("/municipalities", UTRECHT_AREA)

    response = send(system.client, "POST", "/signup", json.dumps(SIGNUP), content_type)

    assert response.status_code == 202, response.body
    assert len(system.emulator.sms()) == 1


def test_reading_and_deleting_need_no_content_type(system: System) -> None:
    add_participant("+31612340001", UTRECHT)
    assert system.client.http.get("/signup?municipality=GM0344").status_code == 200
    assert system.client.http.delete("/participants/me").status_code == 401  # not 415


def test_the_signup_page_script_declares_json_on_every_request() -> None:
    script = (ROOT / "chalicelib" / "static" / "signup.js").read_text(encoding="utf-8")
    calls = script.count("fetch(")
    assert calls >= 1
    assert script.count('"Content-Type": "application/json"') >= calls


# --- no page in another site's frame ------------------------------------------------------------


def test_no_page_can_be_framed_by_another_site(client: Client) -> None:
    pages = {}
    for path in PAGES:  # every GET route: whichever answers HTML is a page
        response = client.http.get(concrete(path) + "?municipality=GM0344")
        if response.headers.get("Content-Type", "").startswith("text/html"):
            pages[path] = response.headers

    assert "/signup" in pages
    for path, headers in pages.items():
        policy = [part.strip() for part in headers["Content-Security-Policy"].split(";")]
        assert "frame-ancestors 'none'" in policy, path
        assert headers["X-Frame-Options"] == "DENY", path
