"""A local stand-in for Mastodon's and X's posting APIs, recording what it is sent.

Tests and `make run` point MASTODON_URL and X_API_URL here, so the real adapters (Mastodon.py,
requests with OAuth 1.0a) run everywhere and only the endpoint differs from production:

- Mastodon: `POST /api/v2/media` (multipart) and `POST /api/v1/statuses` (with `in_reply_to_id`
  and an `Idempotency-Key`, which makes a repeated post return the first, as Mastodon does);
- X: `POST /2/tweets` (JSON, `reply.in_reply_to_tweet_id`), refusing a repeat of a post's text
  as duplicate content, as X does;
- `GET /posts`: every post received, oldest first (`make posts` prints them);
- `GET /photos/<name>`: a small PNG, a photo URL for tests.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

# 1x1 transparent PNG.
PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@dataclass
class ReceivedPost:
    """One post as the network received it."""

    network: str
    id: str
    text: str
    in_reply_to: str | None
    media: list[str] = field(default_factory=list)  # the Mastodon media ids attached


@dataclass
class State:
    """What the stand-in received, and the outages a test asked for."""

    posts: list[ReceivedPost] = field(default_factory=list)
    media: dict[str, int] = field(default_factory=dict)  # media id -> bytes uploaded
    idempotency: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> status id
    down: set[str] = field(default_factory=set)  # networks answering 503
    lose_answers: set[str] = field(default_factory=set)  # post made, then the answer is a 504
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = urlparse(self.path).path
        if path == "/posts":
            with self.server.state.lock:
                posts = [asdict(p) for p in self.server.state.posts]
            self._json(200, posts)
        elif path.startswith("/photos/"):
            self._send(200, PHOTO, "image/png")
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urlparse(self.path).path
        routes = {
            "/api/v2/media": ("mastodon", self._media),
            "/api/v1/statuses": ("mastodon", self._status),
            "/2/tweets": ("x", self._tweet),
        }
        if path not in routes:
            self._json(404, {"error": "not found"})
            return
        network, handle = routes[path]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        state = self.server.state
        if network in state.down:
            self._json(503, {"error": "Service Unavailable"})
            return
        if not self._authorised(network):
            self._json(401, {"error": "The access token is invalid"})
            return
        with state.lock:
            status, answer = handle(body)
            lost = network in state.lose_answers and status < 300 and path != "/api/v2/media"
        if lost:
            self._json(504, {"error": "Gateway Timeout"})
        else:
            self._json(status, answer)

    def _authorised(self, network: str) -> bool:
        scheme = "Bearer " if network == "mastodon" else "OAuth "
        return self.headers.get("Authorization", "").startswith(scheme)

    def _new_id(self) -> str:
        return str(100000 + next(self.server.state.ids))

    def _media(self, body: bytes) -> tuple[int, Any]:
        media_id = self._new_id()
        self.server.state.media[media_id] = len(body)
        return 200, {"id": media_id, "type": "image", "url": f"/media/{media_id}"}

    def _status(self, body: bytes) -> tuple[int, Any]:
        state = self.server.state
        fields = self._fields(body)
        key = self.headers.get("Idempotency-Key")
        if key and key in state.idempotency:
            first = next(p for p in state.posts if p.id == state.idempotency[key])
            return 200, _mastodon_status(first)
        reply_to = _one(fields.get("in_reply_to_id"))
        media = [str(m) for m in fields.get("media_ids[]", fields.get("media_ids", []))]
        if any(m not in state.media for m in media):
            return 422, {"error": "Validation failed: unknown media"}
        post = ReceivedPost("mastodon", self._new_id(), str(_one(fields.get("status"))), reply_to)
        post.media = media
        state.posts.append(post)
        if key:
            state.idempotency[key] = post.id
        return 200, _mastodon_status(post)

    def _tweet(self, body: bytes) -> tuple[int, Any]:
        state = self.server.state
        request = json.loads(body)
        text = str(request["text"])
        if any(p.network == "x" and p.text == text for p in state.posts):
            return 403, {
                "title": "Forbidden",
                "detail": "You are not allowed to create a Tweet with duplicate content.",
            }
        reply_to = (request.get("reply") or {}).get("in_reply_to_tweet_id")
        post = ReceivedPost("x", self._new_id(), text, reply_to)
        state.posts.append(post)
        return 201, {"data": {"id": post.id, "text": text, "edit_history_tweet_ids": [post.id]}}

    def _fields(self, body: bytes) -> dict[str, Any]:
        if self.headers.get("Content-Type", "").startswith("application/json"):
            parsed: dict[str, Any] = json.loads(body)
            return parsed
        return dict(parse_qs(body.decode(), keep_blank_values=True))

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


def _one(value: Any) -> str | None:
    """A form field's single value (parse_qs gives lists), or a JSON value as it is."""
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def _mastodon_status(post: ReceivedPost) -> dict[str, Any]:
    return {
        "id": post.id,
        "uri": f"https://mastodon.local/statuses/{post.id}",
        "content": f"<p>{post.text}</p>",
        "in_reply_to_id": post.in_reply_to,
        "visibility": "public",
        "language": "nl",
        "media_attachments": [{"id": m, "type": "image"} for m in post.media],
    }


class _Server(ThreadingHTTPServer):
    state: State


# What the stand-in accepts (any token will do), stored where the poster reads credentials.
CREDENTIALS = {
    "mastodon": {"access_token": "stand-in-token"},
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
    """Store the networks' credentials (the stand-in's unless given) as SSM parameter `name`."""
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
        """The base URL to use as MASTODON_URL and X_API_URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def posts(self, network: str | None = None) -> list[ReceivedPost]:
        """The posts received so far (on one network), oldest first."""
        with self.state.lock:
            return [p for p in self.state.posts if network in (None, p.network)]

    def start(self) -> SocialStandIn:
        """Serve in the background."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
