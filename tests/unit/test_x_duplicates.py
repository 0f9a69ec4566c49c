"""X's duplicate answer when our own timeline cannot say which post it was: the post is tried
again later, with a code that says why, never a crash of the poster."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from chalicelib.adapters.social import PostFailed, XNetwork

DUPLICATE = {"detail": "You are not allowed to create a Tweet with duplicate content."}


def answer(status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


class FakeX:
    """Answers POST /2/tweets with `posted` and every GET from `gets`, by path."""

    def __init__(self, posted: requests.Response, gets: dict[str, requests.Response]) -> None:
        self.posted, self.gets = posted, gets
        self.asked: list[str] = []

    def get(self, url: str, *, timeout: float) -> requests.Response:
        path = url.removeprefix("https://api.x.test").split("?")[0]
        self.asked.append(path)
        return self.gets[path]

    def post(self, url: str, *, json: Any, timeout: float) -> requests.Response:
        return self.posted


def code_of(fake: FakeX) -> str:
    with pytest.raises(PostFailed) as failed:
        XNetwork(fake, "https://api.x.test").post("tekst", reply_to=None, photo_url=None, key="k")
    return failed.value.code


UNREADABLE = "duplicate_unreadable_timeline"
ME = {"/2/users/me": answer(200, {"data": {"id": "7"}})}


@pytest.mark.parametrize(
    ("timeline", "code"),
    [
        pytest.param(answer(200, {"data": [{"id": "1"}]}), UNREADABLE, id="no-text"),
        pytest.param(answer(200, {"data": "?"}), UNREADABLE, id="not-a-list"),
        pytest.param(answer(429, {"title": "Too Many"}), "duplicate_lookup_http_429", id="429"),
        pytest.param(answer(200, {"meta": {"result_count": 0}}), "duplicate_not_found", id="empty"),
    ],
)
def test_a_duplicate_whose_post_cannot_be_read_back_is_tried_again(
    timeline: requests.Response, code: str
) -> None:
    fake = FakeX(answer(403, DUPLICATE), {**ME, "/2/users/7/tweets": timeline})

    assert code_of(fake) == code


def test_a_refusal_that_is_no_duplicate_looks_for_nothing() -> None:
    fake = FakeX(answer(403, {"detail": "You are not permitted to perform this action."}), ME)

    assert code_of(fake) == "http_403"
    assert fake.asked == []
