"""A local stand-in for X's posting API, recording what it is sent.

Nothing but X speaks X's API, so tests and `make run` point X_API_URL here and the real adapter
(requests with OAuth 1.0a) runs everywhere; only the endpoint differs from production. Mastodon
is not stood in for: it is mastodon_mock (tools/mastodon_local.py).

- `POST /2/tweets` (JSON, `reply.in_reply_to_tweet_id`), refusing a repeat of a post's text as
  duplicate content with a 403, as X does;
- `DELETE /2/tweets/:id`: the post is gone from everything below (`{"data": {"deleted": true}}`),
  a post that is not there a 404, as X answers;
- `GET /2/users/me` and `GET /2/users/:id/tweets` (`max_results`):
  our account and its posts, newest first, their texts as X gives them back (links shortened to
  t.co, &, < and > escaped);
- `GET /posts`: every post received and not deleted, oldest first (`make posts` prints them);
- `GET /photos/<name>`: a small PNG, a photo URL for tests.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
import threading
import zlib
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tools import mastodon_local

# 1x1 transparent PNG.
PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


USER_ID = "1700000000000000001"  # Burgernet's account on the stand-in


def as_x_shows(text: str) -> str:
    """A post's text as X's API gives it back: each link a t.co link, &, < and > escaped."""
    shortened = re.sub(
        r"https?://\S+", lambda m: f"https://t.co/{zlib.crc32(m[0].encode()):08x}", text
    )
    return html.escape(shortened, quote=False)


@dataclass
class ReceivedPost:
    """One post as the network received it."""

    network: str
    id: str
    text: str
    in_reply_to: str | None


@dataclass
class State:
    """What the stand-in received, and the outages a test asked for."""

    posts: list[ReceivedPost] = field(default_factory=list)
    down: bool = False  # answering 503
    lose_answers: bool = False  # post made, then the answer is a 504
    timeline_hidden: bool = False  # our timeline lists no posts (X's lags behind at times)
    refuse_deletes: int | None = None  # answer every DELETE with this status (429, 503, ...)
    delete_requests: list[str] = field(default_factory=list)  # each DELETE's id, repeats too
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlparse(self.path)
        path = url.path
        if path.startswith("/2/") and not self._signed():
            self._json(401, {"title": "Unauthorized", "status": 401})
        elif path == "/2/users/me":
            self._json(200, {"data": {"id": USER_ID, "name": "Burgernet", "username": "burgernet"}})
        elif path == f"/2/users/{USER_ID}/tweets":
            self._json(200, self._timeline(parse_qs(url.query)))
        elif path == "/posts":
            with self.server.state.lock:
                posts = [asdict(p) for p in self.server.state.posts]
            self._json(200, posts)
        elif path.startswith("/photos/"):
            self._send(200, PHOTO, "image/png")
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/2/tweets":
            self._json(404, {"error": "not found"})
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        state = self.server.state
        if state.down:
            self._json(503, {"error": "Service Unavailable"})
            return
        if not self._signed():
            self._json(401, {"error": "Unauthorized"})
            return
        with state.lock:
            status, answer = self._tweet(body)
        if state.lose_answers and status < 300:
            self._json(504, {"error": "Gateway Timeout"})
        else:
            self._json(status, answer)

    def do_DELETE(self) -> None:
        path = urlparse(self.path).path
        if not path.startswith("/2/tweets/"):
            self._json(404, {"error": "not found"})
            return
        state = self.server.state
        if state.down:
            self._json(503, {"error": "Service Unavailable"})
            return
        if not self._signed():
            self._json(401, {"error": "Unauthorized"})
            return
        post_id = path.removeprefix("/2/tweets/")
        with state.lock:
            state.delete_requests.append(post_id)
            if state.refuse_deletes:
                status = state.refuse_deletes
                self._json(status, {"title": "Refused (stand-in fault)", "status": status})
                return
            found = [p for p in state.posts if p.network == "x" and p.id == post_id]
            state.posts = [p for p in state.posts if p not in found]
        if found:
            self._json(200, {"data": {"deleted": True}})
        else:
            detail = f"Could not find tweet with id: [{post_id}]."
            self._json(404, {"title": "Not Found Error", "detail": detail, "status": 404})

    def _signed(self) -> bool:
        return self.headers.get("Authorization", "").startswith("OAuth ")

    def _timeline(self, query: dict[str, list[str]]) -> Any:
        """Our posts, newest first, as X's user timeline gives them."""
        count = int(query.get("max_results", ["10"])[0])
        with self.server.state.lock:
            state = self.server.state
            posts = [] if state.timeline_hidden else [p for p in state.posts if p.network == "x"]
            posts = posts[::-1][:count]
        data = []
        for post in posts:
            data.append({"id": post.id, "text": as_x_shows(post.text)})
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta |= {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        return {"data": data, "meta": meta} if data else {"meta": meta}

    def _tweet(self, body: bytes) -> tuple[int, Any]:
        state = self.server.state
        request = json.loads(body)
        text = str(request["text"])
        if any(p.network == "x" and p.text == text for p in state.posts):
            return 403, {
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
            }
        reply_to = (request.get("reply") or {}).get("in_reply_to_tweet_id")
        post = ReceivedPost("x", str(100000 + next(state.ids)), text, reply_to)
        state.posts.append(post)
        return 201, {"data": {"id": post.id, "text": text, "edit_history_tweet_ids": [post.id]}}

    def _json(self, status: int, answer: Any) -> None:
        self._send(status, json.dumps(answer).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: `make posts` shows them
        return


class _Server(ThreadingHTTPServer):
    state: State


# What the local networks accept (the stand-in any OAuth header, mastodon_mock only its account's
# token), stored where the poster reads credentials.
CREDENTIALS = {
    "mastodon": {"access_token": mastodon_local.TOKEN},
    "x": {
        "api_key": "stand-in-key",
        "api_secret": "stand-in-secret",
        "access_token": "stand-in-token",
        "access_token_secret": "stand-in-token-secret",
    },
}


def put_credentials(
    ssm: Any, name: str, value: str | None = None, kind: str = "SecureString"
) -> None:
    """Store the networks' credentials (the local ones unless given) as SSM parameter `name`."""
    value = json.dumps(CREDENTIALS) if value is None else value
    ssm.put_parameter(Name=name, Type=kind, Value=value, Overwrite=True)


class SocialStandIn:
    """The stand-in on a loopback port, in a background thread."""

    def __init__(self, port: int = 0) -> None:
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.state = State()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def state(self) -> State:
        """What it received, and the outages asked for (tests change `down`, `lose_answers`)."""
        return self.server.state

    @property
    def url(self) -> str:
        """The base URL to use as X_API_URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def posts(self) -> list[ReceivedPost]:
        """The posts received so far, oldest first."""
        with self.state.lock:
            return list(self.state.posts)

    def start(self) -> SocialStandIn:
        """Serve in the background."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
