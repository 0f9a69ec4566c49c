"""What every public route shows of an action: its reference, never its internal id, and its place
to about 100 m, never the exact point (often the victim's home). Read as anyone reads them, over
HTTP, for the start, an update with a photo, and the result."""

from __future__ import annotations

from typing import Any

from tests.support.photos import jpeg_with_gps
from tests.support.system import System

HOME = (52.090749, 5.121449)  # the exact point dispatch sends: digits no public answer may hold
EXACT = ("52.0907", "5.1214")


def public_answers(system: System, ref: str) -> dict[str, str]:
    """Every public route's body that shows this action, by route."""
    routes = ["/public/alerts", "/public/actions", "/public/feed.atom"]
    routes += [f"/public/actions/{ref}.cap", f"/a/{ref}"]
    answers = {}
    for route in routes:
        response = system.client.http.get(route)
        assert response.status_code == 200, (route, response.status_code)
        body = response.body.decode()
        assert ref in body, route  # it does show the action
        answers[route] = body
    return answers


def assert_nothing_internal(answers: dict[str, str], action_id: str) -> None:
    internal = {action_id, action_id.replace("-", ""), action_id.split("-")[0]}
    for route, body in answers.items():
        for text in internal:
            assert text not in body, f"{route} shows the internal id ({text})"
        for digits in EXACT:
            assert digits not in body, f"{route} shows the exact point ({digits})"


def test_no_public_route_shows_the_internal_id_or_the_exact_point(system: System) -> None:
    body: dict[str, Any] = {
        "incident": "burglary",
        "description": "Man, circa 30 jaar, rode jas",
        "area": {"lat": HOME[0], "lon": HOME[1], "radius_m": 1500},
        "place": "Utrecht, Binnenstad",
    }
    started = system.post("/actions", body)
    assert started.status_code == 202, started.body
    action_id, ref = started.json_body["action_id"], started.json_body["ref"]
    assert_nothing_internal(public_answers(system, ref), action_id)

    photo = system.client.http.put(
        f"/actions/{action_id}/photo",
        body=jpeg_with_gps(800, 600),
        headers={"Content-Type": "image/jpeg"},
    )
    assert photo.status_code == 200, photo.body
    updated = system.post(f"/actions/{action_id}/updates", {"message": "Nu te voet."})
    assert updated.status_code == 202, updated.body
    answers = public_answers(system, ref)
    large = photo.json_body["photo"]["large"]
    assert large in answers[f"/public/actions/{ref}.cap"]  # the photo's URL is public too
    assert_nothing_internal(answers, action_id)

    closed = system.post(f"/actions/{action_id}/close", {"outcome": "arrested"})
    assert closed.status_code in (200, 202), closed.body
    assert_nothing_internal(public_answers(system, ref), action_id)
