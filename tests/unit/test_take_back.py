"""Taking back what was published, at the adapters: what S3, CloudFront and X are asked, and
what their refusals become. The requests are checked against AWS's own API models (Stubber)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests
from botocore.stub import Stubber

from chalicelib.adapters.photos import CloudFrontCdn, S3Photos
from chalicelib.adapters.social import PostFailed, XNetwork
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.photos import PhotoKeys, photo_id_of, photo_ids_in

PHOTO_ID = "0123456789abcdef0123456789abcdef"


def test_a_photo_id_is_read_only_from_a_url_shaped_as_ours() -> None:
    assert photo_id_of(f"https://cdn.example/{PHOTO_ID}/1280.jpg") == PHOTO_ID
    assert photo_id_of(f"https://cdn.example/{PHOTO_ID}/320.jpg") == PHOTO_ID
    assert photo_id_of("https://elsewhere.example/photos/large.png") is None
    assert photo_id_of("https://cdn.example/../1280.jpg") is None
    keys = PhotoKeys("action-1", PHOTO_ID)
    assert photo_ids_in([keys.original, "originals/action-1/notes.txt"]) == [PHOTO_ID]
    assert keys.cdn_paths == [f"/{PHOTO_ID}/*"]  # every size, and any added later


def test_a_file_s3_did_not_delete_is_an_error_not_a_silent_success() -> None:
    client = boto3.client(
        "s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    keys = PhotoKeys("action-1", PHOTO_ID)
    with Stubber(client) as s3:
        # Quiet mode: S3 answers 200 and lists only the keys it could not delete.
        s3.add_response(
            "delete_objects",
            {"Errors": [{"Key": keys.large, "Code": "AccessDenied", "Message": "Access Denied"}]},
            {
                "Bucket": "photos",
                "Delete": {"Objects": [{"Key": keys.large}, {"Key": keys.small}], "Quiet": True},
            },
        )
        with pytest.raises(ServiceUnavailable, match="AccessDenied"):
            S3Photos(client, "photos").delete([keys.large, keys.small])


def test_the_cdn_is_asked_once_for_the_photos_paths_under_a_reference_of_its_own() -> None:
    client = boto3.client(
        "cloudfront", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    batch = {
        "Paths": {"Quantity": 1, "Items": [f"/{PHOTO_ID}/*"]},
        "CallerReference": f"burgernet-photo-{PHOTO_ID}",
    }
    with Stubber(client) as cloudfront:
        cloudfront.add_response(
            "create_invalidation",
            {
                "Invalidation": {
                    "Id": "I1",
                    "Status": "InProgress",
                    "CreateTime": "2026-12-05T08:00:00Z",
                    "InvalidationBatch": batch,
                }
            },
            {"DistributionId": "E123", "InvalidationBatch": batch},
        )
        cloudfront.add_client_error(
            "create_invalidation", "TooManyInvalidationsInProgress", http_status_code=400
        )
        cdn = CloudFrontCdn(client, "E123")
        cdn.invalidate([f"/{PHOTO_ID}/*"], reference=f"burgernet-photo-{PHOTO_ID}")
        with pytest.raises(ServiceUnavailable):
            cdn.invalidate([f"/{PHOTO_ID}/*"], reference=f"burgernet-photo-{PHOTO_ID}")


def answer(status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


class DeletingX:
    """Answers every DELETE with one response, and notes the URLs asked."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self.asked: list[str] = []

    def get(self, url: str, *, timeout: float) -> requests.Response:
        raise AssertionError("no read")

    def post(self, url: str, *, json: Any, timeout: float) -> requests.Response:
        raise AssertionError("no post")

    def delete(self, url: str, *, timeout: float) -> requests.Response:
        self.asked.append(url)
        return self.response


@pytest.mark.parametrize(
    ("response", "code"),
    [
        pytest.param(answer(200, {"data": {"deleted": True}}), None, id="deleted"),
        pytest.param(answer(404, {"title": "Not Found Error"}), None, id="gone-already"),
        pytest.param(answer(429, {"title": "Too Many Requests"}), "rate_limited", id="throttled"),
        pytest.param(answer(503, {"title": "Unavailable"}), "http_503", id="down"),
        pytest.param(answer(200, {"data": {"deleted": False}}), "not_deleted", id="not-deleted"),
        pytest.param(answer(200, ["?"]), "unreadable_answer", id="unreadable"),
    ],
)
def test_an_x_delete_is_done_gone_already_or_tried_again_with_a_reason(
    response: requests.Response, code: str | None
) -> None:
    fake = DeletingX(response)
    network = XNetwork(fake, "https://api.x.test")

    if code is None:
        network.delete("1800000000000000001")
    else:
        with pytest.raises(PostFailed) as failed:
            network.delete("1800000000000000001")
        assert failed.value.code == code
    assert fake.asked == ["https://api.x.test/2/tweets/1800000000000000001"]
