"""A local stand-in for PDOK Locatieserver's `free` endpoint, answering from recorded addresses.

Tests and `make run` point GEOCODER_URL here, so the real adapter (HTTP, query, parsing) runs
everywhere and only the endpoint differs from production.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

FIXTURE = Path(__file__).with_name("fixtures") / "pdok_addresses.json"
PATH = "/bzk/locatieserver/search/v3_1/free"
QUERY = re.compile(r"postcode:(\w+) AND huisnummer:(\d+)")


def _answer(query: str) -> dict[str, Any]:
    docs = json.loads(FIXTURE.read_text())["docs"]
    match = QUERY.fullmatch(query)
    found = [d for d in docs if match and (d["postcode"], str(d["huisnummer"])) == match.groups()]
    return {"response": {"numFound": len(found), "start": 0, "maxScore": 1.0, "docs": found}}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != PATH:
            self.send_error(404)
            return
        body = json.dumps(_answer(parse_qs(url.query).get("q", [""])[0])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: addresses are personal data
        return


class PdokStandIn:
    """The stand-in on a loopback port, in a background thread."""

    def __init__(self, port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The endpoint URL to use as GEOCODER_URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}{PATH}"

    def start(self) -> PdokStandIn:
        """Serve in the background."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
