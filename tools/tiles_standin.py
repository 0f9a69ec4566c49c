"""A local stand-in for PDOK's BRT-Achtergrondkaart: map tiles drawn here, without network.

`make run` points MAP_TILES_URL here, so the control room's map loads tiles from another origin
than the page, as it does from service.pdok.nl in production, and the page's
Content-Security-Policy is tested with the origin it must allow. Each tile is a plain 256 px PNG:
a paper-coloured square with a darker edge, its shade alternating like a chessboard, so a
screenshot of the map shows the tiles were drawn (and where one is missing).
"""

from __future__ import annotations

import functools
import re
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SIZE = 256
PATH = re.compile(r"/tiles/(\d{1,2})/(\d{1,7})/(\d{1,7})\.png")
LIGHT, DARK, EDGE = (238, 234, 224), (226, 222, 210), (190, 186, 176)


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG of these rows (each `width` × 3 bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))


@functools.cache
def tile(dark: bool) -> bytes:
    """One tile: its fill, with a 1 px edge on the top and left (the grid between tiles)."""
    fill = bytes(DARK if dark else LIGHT)
    edge = bytes(EDGE)
    top = edge * SIZE
    row = edge + fill * (SIZE - 1)
    return png(SIZE, SIZE, [top] + [row] * (SIZE - 1))


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = PATH.fullmatch(self.path)
        if not found:
            self.send_error(404)
            return
        _, x, y = (int(n) for n in found.groups())
        body = tile((x + y) % 2 == 1)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=86400")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: a tile a second otherwise
        return


class TilesStandIn:
    """The stand-in on a loopback port, in a background thread."""

    def __init__(self, port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The tile URL template to use as MAP_TILES_URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/tiles/{{z}}/{{x}}/{{y}}.png"

    def start(self) -> TilesStandIn:
        """Serve in the background."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
