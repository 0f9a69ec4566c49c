"""The alert list's pieces, and the consumer the API tests use, checked against Burgernet's own
published list (AmberLoader's fixtures, verbatim) before it is trusted to judge ours."""

from __future__ import annotations

import html
import itertools
import json
import math
from datetime import UTC, datetime

import pytest

from chalicelib.domain.alert_list import alert_id, html_text, message_id, unix_seconds
from chalicelib.domain.geo.shapes import Corridor, Polygon
from chalicelib.domain.geo.sphere import haversine_m
from chalicelib.domain.public import kilometres, public_circle
from tests.support.burgernet import NotBurgernet, decode, shown
from tests.support.geometry import beside_line, destination

# jkctech/AmberLoader dist/testdata (single.json at 27a7343, cancel.json at 1b14713): the list as
# Burgernet serves it, whitespace collapsed.
SINGLE = (
    '[{"AlertId":"1234567","MessageId":"123456","Sender":"KindAlarmPortal","Sent":"1747557355",'
    '"State":"Actual","Type":"Alert","Scope":"Public","AlertLevel":"10","Location":{"Description"'
    ':null,"Latitude":null,"Longitude":null},"Message":{"Title":"Jan Jansen (14)","Description":'
    '"JAN JANSEN 1.53m. Blauw shirt, witte korte broek, rode schoenen.","DescriptionExt":"Vermist"'
    ',"Readmore_URL":"https://www.politie.nl/amberalert","Media_URL":null,"Media":{"Image":'
    '"/testdata/janjansen.jpg","SmallImage":"/testdata/janjansen.jpg"}},"Area":{"Description":null'
    ',"Circle":null,"CircleKM":null}}]'
)
CANCEL = (
    '[{"AlertId":"1234567","MessageId":"123456","Sender":"KindAlarmPortal","Sent":"1747557355",'
    '"State":"Actual","Type":"Cancel","Scope":"Public","AlertLevel":"10","Location":{"Description"'
    ':null,"Latitude":null,"Longitude":null},"Message":{"Title":null,"Description":"De zoektocht '
    'naar Jan Jansen is be&#235;indigd. Dank voor uw inzet.","DescriptionExt":null,"Readmore_URL":'
    '"https://www.politie.nl/amberalert","Media_URL":null,"Media":{"Image":null,"SmallImage":null}'
    '},"Area":{"Description":null,"Circle":null,"CircleKM":null}}]'
)
# Our list before issue 16: a number for AlertLevel, ISO time, metres, keys missing.
OURS_BEFORE = (
    '[{"AlertId":"K7P2QX","AlertLevel":5,"Sent":"2026-05-18T10:00:00Z","Message":{"Title":"t",'
    '"Description":"d","DescriptionExt":"e","Readmore_URL":"https://x/a/K7P2QX","Media":{"Image":'
    'null,"SmallImage":null}},"Area":{"Description":null,"Circle":"52.0907,5.1214 1500"}}]'
)


def regional(**changes: object) -> str:
    """Burgernet's single alert made regional (level 5, a 2 km circle round the Dom)."""
    [item] = json.loads(SINGLE)
    item["AlertLevel"] = "5"
    item["Area"] = {"Description": "Utrecht", "Circle": "52.0907,5.1214 2", "CircleKM": "2"}
    for path, value in changes.items():
        *parents, key = path.split("__")
        target = item
        for parent in parents:
            target = target[parent]
        target[key] = value
    return json.dumps([item])


# --- the consumer reads Burgernet's own list ---------------------------------------------------


def test_the_consumer_shows_burgernets_alert_and_hides_its_cancel() -> None:
    [alert] = shown(SINGLE)

    assert (alert.alert_id, alert.kind, alert.title) == ("1234567", "Alert", "Jan Jansen (14)")
    assert datetime.fromtimestamp(alert.sent, UTC) == datetime(2025, 5, 18, 8, 35, 55, tzinfo=UTC)
    assert alert.covers(53.2, 6.5)  # a national AMBER Alert: everywhere
    assert decode(CANCEL)[0]["Type"] == "Cancel"
    assert shown(CANCEL) == []


def test_the_consumer_reads_circle_as_km_and_circlekm_when_circle_has_no_radius() -> None:
    [alert] = shown(regional())
    [fallback] = shown(regional(Area__Circle="52.0907,5.1214", Area__CircleKM="0.5"))

    north_1999_m = destination(52.0907, 5.1214, 0, 1999)
    north_2001_m = destination(52.0907, 5.1214, 0, 2001)
    assert alert.covers(*north_1999_m) and not alert.covers(*north_2001_m)
    assert fallback.circle == (52.0907, 5.1214, 500)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (OURS_BEFORE, "AlertLevel is a string or null, not 5"),  # fails the whole list
        (regional(Sent=1747557355), "Sent is a string or null"),
        (regional(State=True), "State is a string or null"),
        (regional(Message=None), "Message is an object"),
        (regional(Message__Media=None), "Media is an object"),
        (regional(Area=None), "Area is an object"),
        (regional(Location=None), "Location is an object"),
        (regional(Area__Polygon="52,5 52,6 53,6 52,5"), "Area has keys"),
        (regional(Area__Circle=None), "has a Circle"),
        (json.dumps({"alerts": []}), "bare JSON array"),
    ],
)
def test_the_consumer_refuses_what_a_strict_reader_chokes_on(body: str, complaint: str) -> None:
    with pytest.raises(NotBurgernet, match=complaint):
        shown(body)


def test_sent_must_be_whole_seconds() -> None:
    for sent in ("2025-05-18T08:35:55Z", "1747557355.5"):
        with pytest.raises(ValueError):
            shown(regional(Sent=sent))


# --- text as Burgernet escapes it ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "listed"),
    [
        ('<b>&"ë', "&lt;b&gt;&amp;&quot;&#235;"),
        ("De zoektocht is beëindigd.", "De zoektocht is be&#235;indigd."),
        ("'s-Hertogenbosch", "&#39;s-Hertogenbosch"),
        ("fiets 🚲 – café", "fiets &#128690; &#8211; caf&#233;"),
        ("regel 1\nregel 2", "regel 1\nregel 2"),
        ("plain ASCII, 30 jaar.", "plain ASCII, 30 jaar."),
        ("&amp;", "&amp;amp;"),  # typed entities stay text, not markup
    ],
)
def test_free_text_is_escaped_as_burgernet_does(typed: str, listed: str) -> None:
    assert html_text(typed) == listed
    assert html.unescape(listed) == typed  # what AmberLoader's innerHTML shows
    assert listed.isascii() and not set(listed) & set("<>\"'")


def test_no_text_stays_null() -> None:
    assert html_text(None) is None


# --- numbers and times ---------------------------------------------------------------------------


def test_ids_are_digits_and_each_state_of_each_action_has_its_own_message_id() -> None:
    refs = ["K7P2QX", "K7P2QY", "AAAAAA", "999999"]
    ids = {message_id(ref, state) for ref in refs for state in range(1, 12)}

    assert len(ids) == len(refs) * 11
    assert all(alert_id(ref).isdigit() and len(alert_id(ref)) == 12 for ref in refs)
    assert message_id("K7P2QX", 3) == f"{alert_id('K7P2QX')}3"
    assert all(m.isdigit() and int(m) < 2**64 for m in ids)  # ParseUint(…, 64) takes it


def test_sent_is_unix_seconds() -> None:
    moment = datetime(2025, 5, 18, 8, 35, 55, 999_000, tzinfo=UTC)
    assert unix_seconds(moment) == "1747557355"


# --- the public circle ---------------------------------------------------------------------------

OUTER = ((5.120, 52.085), (5.140, 52.085), (5.140, 52.098), (5.120, 52.098), (5.120, 52.085))
ROAD = ((5.100, 52.080), (5.120, 52.090), (5.150, 52.095))


def test_a_radius_is_exact_km() -> None:
    assert kilometres(733.5) == "0.7335"
    assert kilometres(1500) == "1.5"


def test_the_public_circle_holds_a_polygon_and_no_more_than_a_metre_spare() -> None:
    lat, lon, radius_m = public_circle(Polygon((OUTER,)))

    reach = [haversine_m(lat, lon, p_lat, p_lon) for p_lon, p_lat in OUTER]
    assert max(reach) <= radius_m < max(reach) + 1
    assert (round(lat, 6), round(lon, 6)) == (lat, lon)


# A zigzag that turns back twice: its bends, bevelled in the outline, are what lies farthest.
ZIGZAG = ((5.100, 52.080), (5.115, 52.081), (5.085, 52.0815), (5.100, 52.0825))


@pytest.mark.parametrize("road", [ROAD, ((5.10, 52.08), (5.13, 52.09), (5.10, 52.0905)), ZIGZAG])
def test_the_public_circle_holds_the_whole_corridor(road: tuple[tuple[float, float], ...]) -> None:
    corridor = Corridor(road, 300)
    lat, lon, radius_m = public_circle(corridor)

    edge = [
        beside_line(a, b, t / 10, side, 299.9)
        for a, b in itertools.pairwise(road)
        for t in range(11)
        for side in (-1, 1)
    ]
    ends = [
        (p_lon, p_lat)
        for end in road
        for bearing in range(0, 360, 10)
        for p_lat, p_lon in [destination(end[1], end[0], bearing, 299.9)]
    ]
    assert all(haversine_m(lat, lon, p_lat, p_lon) <= radius_m for p_lon, p_lat in edge + ends)
    assert math.isclose(radius_m, round(radius_m))  # whole metres
