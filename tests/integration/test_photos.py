"""PUT /actions/{id}/photo: a control room's photo, cleaned and resized, at public URLs."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from chalicelib import runtime as runtime_module
from chalicelib.adapters.photos import MAX_AGE_S, CloudFrontCdn, LambdaResizer
from chalicelib.dal import actions as action_store
from chalicelib.dal.models import Action
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.photos import MAX_PHOTO_BYTES
from chalicelib.handlers import workers
from chalicelib.logic import photos as photos_logic
from tests.support.actions import started
from tests.support.builders import UTRECHT, add_participant
from tests.support.devices import pushes, put_location, register
from tests.support.photos import (
    assert_no_metadata,
    invalidated_paths,
    jpeg_with_gps,
    opened,
    photo_distribution,
    png,
)
from tests.support.system import REGION, System
from tools.emulator import stage_environment

STAGE = stage_environment("test")
BUCKET, PHOTOS_URL = STAGE["PHOTOS_BUCKET"], STAGE["PHOTOS_URL"]


def put_photo(
    system: System, action_id: str, data: bytes, content_type: str | None = "image/jpeg"
) -> Any:
    headers = {"Content-Type": content_type} if content_type else {}
    return system.client.http.put(f"/actions/{action_id}/photo", body=data, headers=headers)


def stored() -> dict[str, bytes]:
    """Every file in the photos bucket, by key."""
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def served(url: str) -> bytes:
    """What the CDN serves at a photo URL: the bucket's public/ prefix."""
    assert url.startswith(PHOTOS_URL + "/"), url
    return stored()["public/" + url.removeprefix(PHOTOS_URL + "/")]


def is_served(url: str) -> bool:
    """Whether the CDN would find the file behind a photo URL in the bucket."""
    return "public/" + url.removeprefix(PHOTOS_URL + "/") in stored()


def photo_id(url: str) -> str:
    """The photo's own id in one of its URLs ({PHOTOS_URL}/{photo_id}/{px}.jpg)."""
    return url.removeprefix(PHOTOS_URL + "/").split("/")[0]


@pytest.fixture
def cdn(system: System, monkeypatch: pytest.MonkeyPatch) -> str:
    """A CloudFront distribution in front of the photos (PHOTOS_DISTRIBUTION_ID), as in prod."""
    distribution = photo_distribution(BUCKET, REGION)
    monkeypatch.setenv("PHOTOS_DISTRIBUTION_ID", distribution)
    runtime_module.reset()  # settings are read once per cold start: this is a new one
    runtime_module.runtime()
    return distribution


def redaction_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep's clock, a minute past the day the closed action's free text is kept to."""
    later = datetime.now(UTC) + timedelta(days=int(STAGE["KEEP_DESCRIPTIONS_DAYS"]), minutes=1)
    monkeypatch.setattr(workers, "now", lambda: later)


def photo_of(action_id: str) -> Any:
    return Action.get(action_id, consistent_read=True).photo


def test_a_camera_photo_is_public_in_two_sizes_without_its_gps(system: System) -> None:
    action = started(system)

    response = put_photo(system, action["action_id"], jpeg_with_gps(4000, 3000))

    assert response.status_code == 200, response.body
    photo = response.json_body["photo"]
    assert system.get(f"/actions/{action['action_id']}").json_body["photo"] == photo
    assert opened(served(photo["large"])).size == (1280, 960)
    assert opened(served(photo["small"])).size == (320, 240)
    files = stored()
    [original] = [k for k in files if k.startswith("originals/")]
    assert opened(files[original]).size == (4000, 3000)
    for data in files.values():
        assert_no_metadata(data)
    # The upload as sent (GPS and all) is gone; only the original and the two sizes stay.
    assert sorted(k.split("/")[0] for k in files) == ["originals", "public", "public"]


def test_a_png_is_taken_too_and_a_new_photo_replaces_the_old_at_new_urls(system: System) -> None:
    action_id = started(system)["action_id"]
    first = put_photo(system, action_id, jpeg_with_gps(800, 600)).json_body["photo"]

    response = put_photo(system, action_id, png(600, 800), "image/png")

    assert response.status_code == 200, response.body
    second = response.json_body["photo"]
    assert set(second.values()).isdisjoint(first.values())
    assert opened(served(second["large"])).size == (600, 800)
    # The old photo is taken back (say, of the wrong person): nothing of it is served any more.
    assert not is_served(first["large"]) and not is_served(first["small"])
    assert len([k for k in stored() if k.startswith("originals/")]) == 1


# --- Refused: a 4xx that says why, and nothing stored ---------------------------------------


@pytest.mark.parametrize(
    ("content_type", "data", "status", "error", "says"),
    [
        ("text/plain", jpeg_with_gps(80, 60), 415, "unsupported_media_type", "image/jpeg"),
        ("image/gif", b"GIF89a" + b"\0" * 50, 415, "unsupported_media_type", "image/png"),
        ("application/json", b'{"photo": "x"}', 415, "unsupported_media_type", "image/jpeg"),
        (None, jpeg_with_gps(80, 60), 415, "unsupported_media_type", "image/jpeg"),
        ("image/jpeg", b"", 400, "empty_photo", "empty"),
        (
            "image/jpeg",
            b"\xff\xd8\xff" + b"\0" * (MAX_PHOTO_BYTES - 2),
            413,
            "photo_too_large",
            f"{MAX_PHOTO_BYTES:,}",
        ),
        ("image/jpeg", png(80, 60), 400, "not_an_image", "JPEG or PNG"),  # says JPEG, is PNG
        ("image/jpeg", b"\xff\xd8\xff" + b"\0" * 5000, 400, "not_an_image", "could not be read"),
        ("image/jpeg", jpeg_with_gps(800, 600)[:3000], 400, "not_an_image", "could not be read"),
    ],
    ids=[
        "text",
        "gif",
        "json",
        "no-type",
        "empty",
        "too-large",
        "png-as-jpeg",
        "junk",
        "truncated",
    ],
)
def test_a_body_that_is_no_usable_photo_gets_a_4xx_and_leaves_nothing(
    system: System, content_type: str | None, data: bytes, status: int, error: str, says: str
) -> None:
    action_id = started(system)["action_id"]

    response = put_photo(system, action_id, data, content_type)

    assert response.status_code == status, response.body
    assert response.json_body["error"] == error
    assert says in response.json_body["message"]
    assert stored() == {}
    assert photo_of(action_id) is None


def test_a_photo_at_the_limit_is_taken(system: System) -> None:
    action_id = started(system)["action_id"]
    padded = jpeg_with_gps(800, 600)
    padded += b"\0" * (MAX_PHOTO_BYTES - len(padded))  # bytes after a JPEG's end are ignored

    assert put_photo(system, action_id, padded).status_code == 200


def test_unknown_and_closed_actions_get_404_and_409_before_any_work(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = started(system)["action_id"]
    assert system.post(f"/actions/{action_id}/close", {"outcome": "arrested"}).status_code == 200
    monkeypatch.setattr(photos_logic.InProcessResizer, "resize", lambda *_: pytest.fail("asked"))

    unknown = put_photo(system, "no-such-action", jpeg_with_gps(80, 60))
    closed = put_photo(system, action_id, jpeg_with_gps(80, 60))

    assert (unknown.status_code, unknown.json_body["error"]) == (404, "action_not_found")
    assert (closed.status_code, closed.json_body["error"]) == (409, "action_closed")
    assert stored() == {}
    assert photo_of(action_id) is None


def test_an_action_closed_while_its_photo_was_resized_gets_no_photo_and_keeps_no_files(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = started(system)["action_id"]
    resize = photos_logic.resize

    def close_meanwhile(request: Any, store: Any) -> dict[str, Any]:
        answer = resize(request, store)
        assert system.post(f"/actions/{action_id}/close", {"outcome": "found"}).status_code == 200
        return answer

    monkeypatch.setattr(photos_logic, "resize", close_meanwhile)

    response = put_photo(system, action_id, jpeg_with_gps(800, 600))

    assert (response.status_code, response.json_body["error"]) == (409, "action_closed")
    assert stored() == {}
    assert photo_of(action_id) is None


def test_a_resizer_that_cannot_be_reached_gets_a_503_and_nothing_is_stored(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = started(system)["action_id"]

    def unreachable(self: Any, action_id: str, photo_id: str) -> dict[str, Any]:
        raise ServiceUnavailable("photo_unavailable", "Send it again.")

    monkeypatch.setattr(photos_logic.InProcessResizer, "resize", unreachable)

    response = put_photo(system, action_id, jpeg_with_gps(800, 600))

    assert (response.status_code, response.json_body["error"]) == (503, "photo_unavailable")
    assert stored() == {}
    assert photo_of(action_id) is None


def test_without_a_photos_bucket_the_route_says_so(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = started(system)["action_id"]
    # As runtime.photos finds a stage without PHOTOS_BUCKET (chalice's test client sets the
    # stage's environment itself).
    monkeypatch.setattr(runtime_module, "photos", lambda settings: None)
    runtime_module.reset()

    response = put_photo(system, action_id, jpeg_with_gps(80, 60))

    assert (response.status_code, response.json_body["error"]) == (503, "photos_unavailable")


# --- The resizer function and its Lambda adapter ----------------------------------------------


def test_the_resizer_function_makes_the_sizes_of_an_upload(system: System) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="uploads/a-1/p-1", Body=jpeg_with_gps(2000, 1000))

    answer = system.client.lambda_.invoke("photo_resizer", {"action_id": "a-1", "photo_id": "p-1"})

    assert answer.payload == {}
    files = stored()
    assert opened(files["public/p-1/1280.jpg"]).size == (1280, 640)
    assert opened(files["public/p-1/320.jpg"]).size == (320, 160)
    assert_no_metadata(files["originals/a-1/p-1.jpg"])


def _lambda_resizer() -> tuple[LambdaResizer, Stubber]:
    client = boto3.client("lambda", region_name=REGION)
    return LambdaResizer(client, "burgernet-PhotoResizer-1"), Stubber(client)


@pytest.mark.parametrize(
    ("answer", "function_error", "expected"),
    [
        (b"{}", None, {}),
        (
            b'{"error": "not_an_image", "message": "m"}',
            None,
            {"error": "not_an_image", "message": "m"},
        ),
        (b'{"errorMessage": "boom"}', "Unhandled", ServiceUnavailable),
    ],
    ids=["done", "refused", "crashed"],
)
def test_the_api_waits_for_the_resizer_lambda_and_reads_its_answer(
    env: dict[str, str], answer: bytes, function_error: str | None, expected: Any
) -> None:
    resizer, stub = _lambda_resizer()
    response: dict[str, Any] = {
        "StatusCode": 200,
        "Payload": StreamingBody(io.BytesIO(answer), len(answer)),
    }
    if function_error:
        response["FunctionError"] = function_error
    stub.add_response(
        "invoke",
        response,
        {
            "FunctionName": "burgernet-PhotoResizer-1",
            "InvocationType": "RequestResponse",
            "Payload": json.dumps({"action_id": "a-1", "photo_id": "p-1"}).encode(),
        },
    )
    with stub:
        if expected is ServiceUnavailable:
            with pytest.raises(ServiceUnavailable):
                resizer.resize("a-1", "p-1")
        else:
            assert resizer.resize("a-1", "p-1") == expected


def test_a_throttled_resizer_lambda_is_a_503_not_a_crash(env: dict[str, str]) -> None:
    resizer, stub = _lambda_resizer()
    stub.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    with stub, pytest.raises(ServiceUnavailable):
        resizer.resize("a-1", "p-1")


# --- Where the photo goes: the app's alert, and its retention ---------------------------------


def test_an_app_alert_shows_the_small_photo_and_the_sms_stays_text(app: System) -> None:
    add_participant("+31610000001", UTRECHT)
    device = register(app)
    assert put_location(app, device, *UTRECHT).status_code == 200
    action_id = started(app)["action_id"]
    photo = put_photo(app, action_id, jpeg_with_gps(800, 600)).json_body["photo"]

    app.run_queues()

    [(_, message)] = pushes()
    fcm = json.loads(json.loads(message)["GCM"])["fcmV1Message"]["message"]
    apns = json.loads(json.loads(message)["APNS"])
    assert fcm["android"]["notification"]["image"] == fcm["data"]["image"] == photo["small"]
    assert apns["image"] == photo["small"] and apns["aps"]["mutable-content"] == 1
    [text] = app.emulator.sms_to("+31610000001")
    assert PHOTOS_URL not in text and "http" not in text


def test_an_app_alert_of_an_action_without_a_photo_has_no_image(app: System) -> None:
    device = register(app)
    assert put_location(app, device, *UTRECHT).status_code == 200
    started(app)

    app.run_queues()

    [(_, message)] = pushes()
    assert "image" not in message


def test_the_public_alert_list_and_page_show_the_photo_sent_over_put(system: System) -> None:
    action = started(system)
    photo = put_photo(system, action["action_id"], jpeg_with_gps(800, 600)).json_body["photo"]

    [alert] = system.get("/public/alerts").json_body
    page = system.get(f"/a/{action['ref']}")

    assert alert["Message"]["Media"] == {"Image": photo["large"], "SmallImage": photo["small"]}
    assert photo["large"] in page.body.decode() or photo["small"] in page.body.decode()
    assert PHOTOS_URL in page.headers["Content-Security-Policy"]


def test_the_photo_leaves_the_action_with_its_description(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = started(system)["action_id"]
    photo = put_photo(system, action_id, jpeg_with_gps(800, 600)).json_body["photo"]
    assert system.post(f"/actions/{action_id}/close", {"outcome": "found"}).status_code == 200
    redaction_day(monkeypatch)

    assert system.sweep()["redacted"] == 1

    after = system.get(f"/actions/{action_id}").json_body
    assert (after["description"], after["photo"]) == (None, None)
    # Without a CDN (locally) the files go all the same: not a byte of the photo is left.
    assert not is_served(photo["large"]) and not is_served(photo["small"])
    assert stored() == {}


# --- Taken back: replaced or redacted, nothing public stays -------------------------------------


def test_a_replaced_photo_is_deleted_and_its_paths_invalidated_at_the_cdn(
    system: System, cdn: str
) -> None:
    action_id = started(system)["action_id"]
    wrong = put_photo(system, action_id, jpeg_with_gps(800, 600)).json_body["photo"]

    response = put_photo(system, action_id, png(600, 800), "image/png")

    assert response.status_code == 200, response.body
    right = response.json_body["photo"]
    kept = photo_id(right["large"])
    # Only the new photo's files are left; the wrong one's every size and its original are gone.
    assert sorted(stored()) == [
        f"originals/{action_id}/{kept}.jpg",
        *sorted(f"public/{kept}/{px}.jpg" for px in (1280, 320)),
    ]
    assert invalidated_paths(cdn, REGION) == [f"/{photo_id(wrong['large'])}/*"]
    assert system.get(f"/actions/{action_id}").json_body["photo"] == right


def test_a_photo_attached_while_another_was_being_attached_is_taken_back_not_left_public(
    system: System, cdn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = started(system)["action_id"]
    first = put_photo(system, action_id, jpeg_with_gps(800, 600)).json_body["photo"]
    read = action_store.get_action
    reads = 0
    racing: dict[str, Any] = {}

    def read_then_race(wanted: str) -> Any:
        # The photo route reads the action twice: the status check, then set_photo's read. Just
        # after that second read, a second control room's photo lands on the action.
        nonlocal reads
        reads += 1
        action = read(wanted)
        if reads == 2:
            monkeypatch.setattr(action_store, "get_action", read)
            racing.update(put_photo(system, action_id, png(300, 400), "image/png").json_body)
        return action

    monkeypatch.setattr(action_store, "get_action", read_then_race)
    response = put_photo(system, action_id, jpeg_with_gps(640, 480))

    assert response.status_code == 200, response.body
    last = response.json_body["photo"]
    kept = photo_id(last["large"])
    # The photo that raced in was replaced too, and taken back: only the last one is public.
    assert sorted(stored()) == [
        f"originals/{action_id}/{kept}.jpg",
        *sorted(f"public/{kept}/{px}.jpg" for px in (1280, 320)),
    ]
    assert sorted(invalidated_paths(cdn, REGION)) == sorted(
        f"/{photo_id(p['large'])}/*" for p in (first, racing["photo"])
    )


def test_redaction_takes_back_every_photo_the_action_had_even_one_left_behind_before(
    system: System, cdn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = started(system)["action_id"]
    first = put_photo(system, action_id, jpeg_with_gps(800, 600)).json_body["photo"]
    invalidate = CloudFrontCdn.invalidate

    def cdn_down(self: CloudFrontCdn, paths: Any, reference: str) -> None:
        raise ServiceUnavailable("cdn_unavailable", "down")

    monkeypatch.setattr(CloudFrontCdn, "invalidate", cdn_down)
    replaced = put_photo(system, action_id, jpeg_with_gps(640, 480))
    # The new photo is in place: dispatch is not told to send it again for our CDN's outage.
    assert replaced.status_code == 200, replaced.body
    second = replaced.json_body["photo"]
    assert is_served(second["large"])
    monkeypatch.setattr(CloudFrontCdn, "invalidate", invalidate)
    assert system.post(f"/actions/{action_id}/close", {"outcome": "found"}).status_code == 200
    redaction_day(monkeypatch)

    assert system.sweep()["redacted"] == 1

    assert stored() == {}
    assert sorted(invalidated_paths(cdn, REGION)) == sorted(
        f"/{photo_id(p['large'])}/*" for p in (first, second)
    )


def test_a_redaction_the_cdn_refuses_waits_for_the_next_sweep_with_everything_still_due(
    system: System, cdn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = started(system)["action_id"]
    photo = put_photo(system, action_id, jpeg_with_gps(800, 600)).json_body["photo"]
    assert system.post(f"/actions/{action_id}/close", {"outcome": "found"}).status_code == 200
    redaction_day(monkeypatch)
    invalidate = CloudFrontCdn.invalidate

    def cdn_down(self: CloudFrontCdn, paths: Any, reference: str) -> None:
        raise ServiceUnavailable("cdn_unavailable", "down")

    monkeypatch.setattr(CloudFrontCdn, "invalidate", cdn_down)
    assert system.sweep()["redacted"] == 0
    # Not redacted yet, so not forgotten: the next run finds it again.
    assert system.get(f"/actions/{action_id}").json_body["description"] is not None

    monkeypatch.setattr(CloudFrontCdn, "invalidate", invalidate)
    assert system.sweep()["redacted"] == 1
    assert stored() == {}
    assert invalidated_paths(cdn, REGION) == [f"/{photo_id(photo['large'])}/*"]


def test_browsers_and_the_cdn_may_keep_a_photo_an_hour_not_a_year(system: System) -> None:
    action_id = started(system)["action_id"]
    photo = put_photo(system, action_id, jpeg_with_gps(800, 600)).json_body["photo"]
    s3 = boto3.client("s3", region_name=REGION)

    for url in photo.values():
        key = "public/" + url.removeprefix(PHOTOS_URL + "/")
        header = s3.head_object(Bucket=BUCKET, Key=key)["CacheControl"]
        assert header == f"public, max-age={MAX_AGE_S}"  # no "immutable": it can be taken back
    assert MAX_AGE_S <= 86_400


# --- The emulator's bucket is the template's ----------------------------------------------------


def test_the_emulator_has_the_templates_photos_bucket_private_and_encrypted(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)

    encryption = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]

    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert stage_environment("local")["PHOTOS_BUCKET"] == BUCKET


def test_a_photo_at_the_limit_fits_in_the_event_lambda_takes_from_api_gateway() -> None:
    """API Gateway hands Lambda the body base64-encoded, with the headers twice; Lambda takes at
    most 6 MiB of event. Over it, API Gateway would answer 502 instead of our 413."""
    headers = {f"x-header-{i}": "v" * 90 for i in range(100)}  # API Gateway's 10 KB of headers
    event = {
        "body": "A" * (4 * -(-MAX_PHOTO_BYTES // 3)),  # base64 of the largest photo we take
        "isBase64Encoded": True,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {"identity": {"userArn": "x" * 2048}, "resourcePath": "p" * 100},
    }
    assert len(json.dumps(event)) < 6 * 1024 * 1024
