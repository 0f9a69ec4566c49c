"""GET /public/alerts as the software that reads Burgernet's list reads it: started, updated and
closed over the API, then read by a consumer written from the published behaviour
(tests/support/burgernet.py) and compared with the CAP message's own circle."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jsonschema
import pytest

from app import app
from chalicelib.dal.models import Action, Photo
from chalicelib.domain.geo.sphere import haversine_m
from chalicelib.domain.public import ROUNDING_MARGIN_M
from tests.support.builders import UTRECHT
from tests.support.burgernet import Shown, decode, shown
from tests.support.cap import CAP_SCHEMA, NS
from tests.support.geometry import destination
from tests.support.system import System
from tools.emulator import stage_environment

ENV = stage_environment("test")
PUBLIC_URL, SENDER = ENV["PUBLIC_URL"], ENV["CAP_SENDER"]
DESCRIPTION = "Man, ongeveer 30 jaar, donkere jas met capuchon, witte sneakers"
PHOTO = Photo(
    large="https://photos.burgernet.example/a/1/large.jpg",
    small="https://photos.burgernet.example/a/1/small.jpg",
)
POLYGON = {
    "type": "Polygon",
    "coordinates": [
        [[5.120, 52.085], [5.140, 52.085], [5.140, 52.098], [5.120, 52.098], [5.120, 52.085]]
    ],
}
CORRIDOR = {
    "type": "LineString",
    "coordinates": [[5.100, 52.080], [5.120, 52.090], [5.150, 52.095]],
    "buffer_m": 300,
}


def circle_area(lat: float = UTRECHT[0], lon: float = UTRECHT[1], radius_m: float = 1000) -> Any:
    return {"lat": lat, "lon": lon, "radius_m": radius_m}


def start(system: System, area: Any = None, **body: Any) -> Any:
    """Start an action over HTTP as dispatch does; its JSON view."""
    request = {
        "incident": "burglary",
        "description": DESCRIPTION,
        "area": area or circle_area(),
        "place": "Utrecht, Binnenstad",
        **body,
    }
    response = system.post("/actions", request)
    assert response.status_code == 202, response.body
    return response.json_body


def update(system: System, action_id: str, message: str, description: str | None = None) -> None:
    body = {"message": message, **({"description": description} if description else {})}
    assert system.post(f"/actions/{action_id}/updates", body).status_code == 202


def close(system: System, action_id: str, **body: Any) -> None:
    response = system.post(f"/actions/{action_id}/close", {"outcome": "arrested", **body})
    assert response.status_code == 200, response.body


def raw(system: System) -> bytes:
    """The list's body, after checking it is JSON and agrees with the OpenAPI document."""
    response = system.get("/public/alerts")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    answer = system.get("/openapi.json").json_body["paths"]["/public/alerts"]["get"]
    schema = answer["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(response.json_body, schema)
    return bytes(response.body)


def listed(system: System, ref: str) -> dict[str, Any]:
    """The list's item for an action, found as a reader finds it: by its link."""
    items = [i for i in decode(raw(system)) if i["Message"]["Readmore_URL"].endswith(f"/a/{ref}")]
    assert len(items) == 1, items
    return items[0]


def consumer_shows(system: System) -> list[Shown]:
    return shown(raw(system))


def unix(text: str) -> str:
    return str(int(datetime.fromisoformat(text).timestamp()))


# --- start, update, close ------------------------------------------------------------------------


def test_a_started_public_action_is_an_actual_alert_with_burgernets_fields(
    system: System,
) -> None:
    action = start(system, circle_area(radius_m=1500))
    ref = action["ref"]

    item = listed(system, ref)

    assert item == {
        "AlertId": item["AlertId"],
        "MessageId": f"{item['AlertId']}1",
        "Sender": SENDER,
        "Sent": unix(action["created_at"]),
        "State": "Actual",
        "Type": "Alert",
        "Scope": "Public",
        "AlertLevel": "5",
        "Location": {
            "Description": "Utrecht, Binnenstad",
            "Latitude": "52.091",  # to ~100 m: the exact point may be a home
            "Longitude": "5.121",
        },
        "Message": {
            "Title": "Burgernet: inbraak in Utrecht, Binnenstad",
            "Description": f"De politie zoekt: {DESCRIPTION}. Gezien? Bel direct gratis "
            f"0800-0011 en noem ref. {ref}.",
            "DescriptionExt": "Inbraak",
            "Readmore_URL": f"{PUBLIC_URL}/a/{ref}",
            "Media_URL": None,
            "Media": {"Image": None, "SmallImage": None},
        },
        "Area": {
            "Description": "Utrecht, Binnenstad",
            "Circle": "52.091,5.121 1.579",  # grown by 79 m, the most rounding moves it
            "CircleKM": "1.579",
        },
    }
    assert item["AlertId"].isdigit()
    [alert] = consumer_shows(system)
    assert (alert.alert_id, alert.kind) == (item["AlertId"], "Alert")
    # The consumer's circle, read in km, holds the action's area, and no more than twice the
    # rounding margin beyond it (the centre moved by at most that, the radius grew by it).
    for bearing in range(0, 360, 30):
        assert alert.covers(*destination(*UTRECHT, bearing, 1499))
        assert not alert.covers(*destination(*UTRECHT, bearing, 1501 + 2 * ROUNDING_MARGIN_M))


def test_an_update_makes_it_an_update_with_a_new_message_id_sent_at_the_update(
    system: System,
) -> None:
    action = start(system)
    first = listed(system, action["ref"])
    Action(action["action_id"]).update(actions=[Action.photo.set(PHOTO)])

    update(system, action["action_id"], "Nu te voet richting station.", "Man in blauwe jas")
    item = listed(system, action["ref"])

    [alert] = consumer_shows(system)
    assert alert.kind == item["Type"] == "Update"
    assert item["AlertId"] == first["AlertId"]
    assert item["MessageId"] == f"{first['AlertId']}2" != first["MessageId"]
    stored = Action.get(action["action_id"])
    assert item["Sent"] == unix(stored.updates[0].at) >= first["Sent"]
    description = item["Message"]["Description"]
    assert description.startswith("Update: Nu te voet richting station.")
    assert "De politie zoekt: Man in blauwe jas" in description
    assert item["Message"]["Media_URL"] == PHOTO.large
    assert item["Message"]["Media"] == {"Image": PHOTO.large, "SmallImage": PHOTO.small}


def test_a_close_makes_it_a_cancel_with_the_result_and_no_media_that_readers_stop_showing(
    system: System,
) -> None:
    action = start(system)
    Action(action["action_id"]).update(actions=[Action.photo.set(PHOTO)])
    update(system, action["action_id"], "Nu te voet richting station.")
    alert_id = listed(system, action["ref"])["AlertId"]

    close(system, action["action_id"], message="Dank voor het uitkijken.")
    item = listed(system, action["ref"])

    assert (item["State"], item["Type"], item["AlertId"]) == ("Actual", "Cancel", alert_id)
    assert item["MessageId"] == f"{alert_id}3"
    assert item["Sent"] == unix(str(Action.get(action["action_id"]).closed_at))
    assert item["Message"] == {
        "Title": None,
        "Description": "De actie is be&#235;indigd. Er is een verdachte aangehouden. "
        "Dank voor het uitkijken.",
        "DescriptionExt": None,
        "Readmore_URL": f"{PUBLIC_URL}/a/{action['ref']}",
        "Media_URL": None,
        "Media": {"Image": None, "SmallImage": None},
    }
    assert item["Area"]["Circle"] == "52.091,5.121 1.079"  # readers that place it still can
    assert consumer_shows(system) == []


def test_a_close_without_words_ends_with_burgernets_thanks(system: System) -> None:
    action = start(system)

    close(system, action["action_id"], outcome="not_found")

    assert listed(system, action["ref"])["Message"]["Description"] == (
        "De actie is be&#235;indigd. De gezochte persoon is niet gevonden. Dank voor uw inzet."
    )


def test_a_cancel_stays_three_hours_then_leaves(
    system: System, later: Callable[[timedelta], None]
) -> None:
    action = start(system)
    close(system, action["action_id"])

    later(timedelta(hours=2, minutes=59))
    assert listed(system, action["ref"])["Type"] == "Cancel"
    later(timedelta(hours=3, minutes=1))
    assert decode(raw(system)) == []


def test_an_exercise_is_listed_as_an_exercise_and_never_shown_as_actual(system: System) -> None:
    drill = start(system, exercise=True)
    update(system, drill["action_id"], "Nu te voet richting station.")

    item = listed(system, drill["ref"])
    assert item["State"] == "Exercise"
    assert consumer_shows(system) == []
    # Readers that skip no State still see it is a drill.
    assert item["Message"]["Title"].startswith("OEFENING &#8211; ")
    assert item["Message"]["Description"].startswith("OEFENING &#8211; Update: ")

    close(system, drill["action_id"])
    assert listed(system, drill["ref"])["State"] == "Exercise"
    assert consumer_shows(system) == []


def test_a_non_public_action_is_never_listed(system: System) -> None:
    hidden = start(system, public=False)
    assert decode(raw(system)) == []

    update(system, hidden["action_id"], "Nu te voet richting station.")
    assert decode(raw(system)) == []
    close(system, hidden["action_id"])
    assert decode(raw(system)) == []


def test_typed_markup_and_accents_arrive_as_entities(system: System) -> None:
    action = start(system, description='Man <b>&"ë', place="'s-Hertogenbosch <Zuid>")

    item = listed(system, action["ref"])

    assert (
        "De politie zoekt: Man &lt;b&gt;&amp;&quot;&#235;. Gezien?"
        in (item["Message"]["Description"])
    )
    place = "&#39;s-Hertogenbosch &lt;Zuid&gt;"
    assert item["Location"]["Description"] == item["Area"]["Description"] == place
    assert item["Message"]["Title"] == f"Burgernet: inbraak in {place}"


def test_running_actions_come_first_newest_first_then_cancels_latest_first(
    system: System,
) -> None:
    old, ended_first, ended_last, new = (start(system) for _ in range(4))
    close(system, ended_first["action_id"])
    close(system, ended_last["action_id"])

    order = [i["Message"]["Readmore_URL"].rsplit("/", 1)[1] for i in decode(raw(system))]

    # Same-second starts and closes sort as stored; check the groups, then the times.
    assert set(order[:2]) == {old["ref"], new["ref"]}
    assert set(order[2:]) == {ended_first["ref"], ended_last["ref"]}
    items = decode(raw(system))
    assert [i["Type"] for i in items] == ["Alert", "Alert", "Cancel", "Cancel"]
    assert int(items[0]["Sent"]) >= int(items[1]["Sent"])
    assert int(items[2]["Sent"]) >= int(items[3]["Sent"])


def test_a_reader_keeping_alerts_whose_circle_covers_it_finds_exactly_those_actions(
    system: System,
) -> None:
    # Given overlapping actions around Utrecht, one not public and one closed
    areas = {
        "dom": (52.0907, 5.1214, 1000),
        "north": (52.1002, 5.1301, 2500),
        "west": (52.0843, 5.0987, 733.5),
        "east": (52.0921, 5.1502, 1200),
    }
    refs = {
        name: start(system, circle_area(lat, lon, r))["ref"]
        for name, (lat, lon, r) in areas.items()
    }
    start(system, circle_area(radius_m=5000), public=False)
    closed = start(system, circle_area(radius_m=5000))
    close(system, closed["action_id"])
    alerts = consumer_shows(system)
    by_id = {listed(system, ref)["AlertId"]: name for name, ref in refs.items()}

    # Positions 1 m inside and 1 m outside every edge, all round, and a grid over the city
    positions = [
        destination(lat, lon, bearing, r + edge)
        for lat, lon, r in areas.values()
        for edge in (-1, 1)
        for bearing in range(0, 360, 15)
    ]
    positions += [(52.06 + i * 0.0035, 5.07 + j * 0.0055) for i in range(20) for j in range(20)]
    for lat, lon in positions:

        def within(margin: float, lat: float = lat, lon: float = lon) -> set[str]:
            return {
                name
                for name, (c_lat, c_lon, r) in areas.items()
                if haversine_m(c_lat, c_lon, lat, lon) <= r + margin
            }

        found = {by_id[a.alert_id] for a in alerts if a.covers(lat, lon)}
        # Every action whose area holds the reader, and others only within the rounding's reach.
        assert within(0) <= found <= within(2 * ROUNDING_MARGIN_M), (lat, lon)


# --- one circle in every format ------------------------------------------------------------------


def cap_area(system: System, ref: str) -> ET.Element:
    response = system.get(f"/public/actions/{ref}.cap")
    assert response.status_code == 200
    CAP_SCHEMA.validate(response.body.decode())
    area = ET.fromstring(response.body).find("cap:info/cap:area", NS)
    assert area is not None
    return area


def list_circle(item: dict[str, Any]) -> tuple[float, float, float, float]:
    """(lat, lon, radius_m from Circle, radius_m from CircleKM)."""
    centre, km = item["Area"]["Circle"].split(" ")
    lat, lon = map(float, centre.split(","))
    assert (item["Location"]["Latitude"], item["Location"]["Longitude"]) == tuple(centre.split(","))
    return lat, lon, float(km) * 1000, float(item["Area"]["CircleKM"]) * 1000


@pytest.mark.parametrize("radius_m", [1500, 733.5, 20000])
def test_a_circle_is_the_same_in_cap_and_in_the_list_each_in_km(
    system: System, radius_m: float
) -> None:
    ref = start(system, circle_area(52.0907, 5.1214, radius_m))["ref"]

    cap_circle = cap_area(system, ref).findtext("cap:circle", namespaces=NS)
    lat, lon, from_circle, from_circle_km = list_circle(listed(system, ref))

    assert cap_circle is not None
    cap_centre, cap_km = cap_circle.split(" ")
    assert tuple(map(float, cap_centre.split(","))) == (lat, lon) == (52.091, 5.121)
    grown = math.ceil(radius_m + ROUNDING_MARGIN_M)
    assert float(cap_km) * 1000 == from_circle == from_circle_km == grown


@pytest.mark.parametrize("area", [POLYGON, CORRIDOR], ids=["polygon", "corridor"])
def test_a_shapes_cap_polygon_lies_inside_the_lists_circle(
    system: System, area: dict[str, Any]
) -> None:
    ref = start(system, area)["ref"]

    polygon = cap_area(system, ref).findtext("cap:polygon", namespaces=NS)
    lat, lon, from_circle, from_circle_km = list_circle(listed(system, ref))

    assert polygon is not None
    points = [tuple(map(float, p.split(","))) for p in polygon.split()]
    reach = max(haversine_m(lat, lon, p_lat, p_lon) for p_lat, p_lon in points)
    assert from_circle == from_circle_km
    assert reach <= from_circle < reach + 1  # round it, and no more than a metre spare


def test_the_action_lists_radius_is_the_lists_circle_in_metres(system: System) -> None:
    """Extend when GET /public/actions is merged: its area is the same circle, in metres."""
    if "/public/actions" not in app.routes:  # decided by the code, so it runs once merged
        pytest.skip("GET /public/actions is not on this branch yet")
    refs = {
        "circle": start(system, circle_area(radius_m=733.5))["ref"],
        "polygon": start(system, POLYGON)["ref"],
        "corridor": start(system, CORRIDOR)["ref"],
    }

    response = system.get("/public/actions")
    assert response.status_code == 200
    by_id = {a["id"]: a["area"] for a in response.json_body["actions"]}
    for ref in refs.values():
        lat, lon, radius_m, _ = list_circle(listed(system, ref))
        area = by_id[ref]
        assert (area["lat"], area["lng"]) == (lat, lon)
        assert abs(area["radius"] - radius_m) < 1  # whole metres there, km here


# --- polling -------------------------------------------------------------------------------------


def test_readers_poll_with_an_etag_and_widgets_on_other_sites_may_read_it(system: System) -> None:
    action = start(system)
    first = system.client.http.get("/public/alerts")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=30"
    assert first.headers["Access-Control-Allow-Origin"] == "*"

    again = system.client.http.get("/public/alerts", headers={"If-None-Match": etag})
    assert (again.status_code, again.body, again.headers["ETag"]) == (304, b"", etag)

    update(system, action["action_id"], "Nu te voet richting station.")
    changed = system.client.http.get("/public/alerts", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert decode(changed.body)[0]["Type"] == "Update"
