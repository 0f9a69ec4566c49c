"""End to end: a photo sent to the local system over HTTP is served by the emulator, cleaned."""

from __future__ import annotations

import pytest
import requests

from tests.support.local import LocalSystem
from tests.support.photos import assert_no_metadata, jpeg_with_gps, opened

pytestmark = pytest.mark.e2e


def test_a_photo_sent_over_http_is_public_in_two_sizes_and_its_original_is_not(
    local_system: LocalSystem,
) -> None:
    action = requests.post(
        f"{local_system.api}/actions",
        json={
            "incident": "missing_person",
            "description": "Jongen, 8 jaar, blauwe jas, rode rugzak",
            "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 1500},
        },
        timeout=10,
    ).json()

    answer = requests.put(
        f"{local_system.api}/actions/{action['action_id']}/photo",
        data=jpeg_with_gps(3000, 2000),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )

    assert answer.status_code == 200, answer.text
    photo = answer.json()["photo"]
    for url, size in ((photo["large"], (1280, 853)), (photo["small"], (320, 213))):
        served = requests.get(url, timeout=10)  # no credentials, as a reader's phone asks
        assert served.status_code == 200
        assert served.headers["Content-Type"] == "image/jpeg"
        assert opened(served.content).size == size
        assert_no_metadata(served.content)
    assert action["action_id"] not in photo["large"]  # a public URL never shows the internal id
    original = (
        photo["large"]
        .replace("/public/", f"/originals/{action['action_id']}/")
        .replace("/1280.jpg", ".jpg")
    )
    assert requests.get(original, timeout=10).status_code == 403


def test_a_replaced_photo_stops_being_served_and_the_new_one_is(local_system: LocalSystem) -> None:
    action = requests.post(
        f"{local_system.api}/actions",
        json={
            "incident": "missing_person",
            "description": "Meisje, 10 jaar, gele jas",
            "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 1500},
        },
        timeout=10,
    ).json()
    url = f"{local_system.api}/actions/{action['action_id']}/photo"
    headers = {"Content-Type": "image/jpeg"}
    wrong = requests.put(url, data=jpeg_with_gps(800, 600), headers=headers, timeout=30).json()

    right = requests.put(url, data=jpeg_with_gps(600, 800), headers=headers, timeout=30)

    assert right.status_code == 200, right.text
    for old in wrong["photo"].values():  # say, of the wrong person: not served to anyone now
        assert requests.get(old, timeout=10).status_code in (403, 404)
    for new in right.json()["photo"].values():
        served = requests.get(new, timeout=10)
        assert served.status_code == 200
        assert served.headers["Cache-Control"] == "public, max-age=3600"
