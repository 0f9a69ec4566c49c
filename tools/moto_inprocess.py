"""The local runner's own AWS calls reach its emulator in-process, not over a socket.

Why: `make run` runs the emulator (moto server) in the runner's process, and every AWS call of
the functions went out through a socket to that same process. moto's server is werkzeug's
development server, which answers every request with `Connection: close`: each call opened a TCP
connection (name lookup included) and started a thread to parse the request line and headers,
then botocore parsed the answer back from the socket. With `bench.local_rate` measuring 4.7
calls per SMS, that plumbing (and moto's directory walk below) was a third of the runner's CPU
per SMS, in a process whose one interpreter sets the rate it can send at.

`install()` registers a botocore `before-send` hook, as moto's own in-memory mock does (clients
created after it carry it). Once `serve(server)` names the running emulator, a request for the
emulator's address goes straight to the emulator's WSGI application, with the environ werkzeug's
server would build (moto's underscore-preserving headers included), and its answer comes back as
botocore's response. Everything else is unchanged: botocore still validates, serialises, signs,
parses the answer, maps errors and retries; moto still routes the request by its signature and
runs the same handlers; other processes (`make sms`, the aws CLI, a browser) still use the
socket. A request for any other address takes the usual path.

It also remembers two things moto 5.2.5 works out afresh for every request, socket or not: the
list of its own service modules, read from its package directory (about 250 `stat` calls), and
the names of a response class's methods (`inspect.getmembers`), looked up to find the action's.

Production code never sees this: chalicelib/ knows nothing of moto.
tests/integration/test_moto_inprocess.py checks that answers and errors are those of the socket.
"""

from __future__ import annotations

import functools
import io
import sys
import threading
from collections.abc import Callable, Iterable
from importlib.metadata import version
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from moto import backends
from moto.core import responses
from moto.core.botocore_stubber import MockRawResponse
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.server import ThreadedMotoServer
from werkzeug.test import run_wsgi_app

MOTO_VERSION = "5.2.5"  # the version whose internals this was written against


class _InProcess:
    """botocore's `before-send` hook: a request for the emulator, answered without a socket."""

    def __init__(self) -> None:
        self.app: Callable[..., Any] | None = None
        self.netloc = ""
        self.calls = 0  # requests answered in-process (tests and benches read it)
        self._counted = threading.Lock()

    def __call__(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        app = self.app
        if app is None:
            return None
        url = urlsplit(request.url)
        if url.netloc != self.netloc:
            return None  # another endpoint (a real one, or another emulator): the socket
        body = _body(request.body)
        app_iter, status, headers = run_wsgi_app(app, _environ(request, url, body), buffered=True)
        try:
            data = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        with self._counted:
            self.calls += 1
        return AWSResponse(
            request.url,
            int(status.split(" ", 1)[0]),
            dict(headers.items()),
            MockRawResponse(data),  # botocore reads its .stream()
        )


_hook = _InProcess()
_saved: list[tuple[Callable[[], Iterable[str]], Callable[[object], list[str]]]] = []


def install() -> None:
    """Register the hook (inactive until `serve`) and remember moto's module list (idempotent).

    Call it before the first boto3 client or pynamodb model is used: a botocore session takes
    the built-in hooks when it is created.
    """
    if _saved:
        return
    if version("moto") != MOTO_VERSION:
        raise RuntimeError(
            f"tools/moto_inprocess.py was written for moto {MOTO_VERSION}, not "
            f"{version('moto')}: check its WSGI application and module listing, and update it"
        )
    listing = backends.list_of_moto_modules
    method_names = getattr(responses, "method_names_from_class")  # noqa: B009 (not re-exported)
    _saved.append((listing, method_names))
    modules = tuple(listing())
    backends.list_of_moto_modules = functools.wraps(listing)(lambda: modules)
    # A class's methods do not change while the emulator runs (patches replace, never add).
    setattr(responses, "method_names_from_class", functools.cache(method_names))  # noqa: B010
    BUILTIN_HANDLERS.append(("before-send", _hook))


def serve(server: ThreadedMotoServer) -> None:
    """From now on, answer this process's requests for `server`'s address in-process."""
    host, port = server.get_host_and_port()
    _hook.netloc = f"{host}:{port}"
    _hook.app = server._server.app  # type: ignore[union-attr]  # the server's WSGI application


def stop() -> None:
    """Send requests through the socket again (the hook stays registered, inactive)."""
    _hook.app = None
    _hook.netloc = ""


def uninstall() -> None:
    """Give moto its own lookups back; clients created from now on carry no hook."""
    stop()
    if _saved:
        listing, method_names = _saved.pop()
        backends.list_of_moto_modules = listing
        setattr(responses, "method_names_from_class", method_names)  # noqa: B010
    while ("before-send", _hook) in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.remove(("before-send", _hook))


def calls() -> int:
    """How many requests have been answered in-process so far."""
    return _hook.calls


def _body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    data = body.read()  # a file-like body (S3 uploads)
    if hasattr(body, "seek"):
        body.seek(0)  # botocore may read it again to retry
    return data if isinstance(data, bytes) else data.encode()


def _dance(text: str) -> str:
    return text.encode().decode("latin-1")  # WSGI's str-of-bytes (PEP 3333), as werkzeug does


def _environ(request: AWSPreparedRequest, url: Any, body: bytes) -> dict[str, Any]:
    """The WSGI environ werkzeug's server (with moto's request handler) builds for the request."""
    target = url.path + (f"?{url.query}" if url.query else "")
    host, _, port = url.netloc.partition(":")
    environ: dict[str, Any] = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _dance(unquote(url.path)),
        "QUERY_STRING": _dance(url.query),
        "REQUEST_URI": _dance(target),
        "RAW_URI": _dance(target),
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": 0,
        "SERVER_NAME": host,
        "SERVER_PORT": port or "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
    }
    headers = [
        (
            name.decode() if isinstance(name, bytes) else str(name),
            value.decode() if isinstance(value, bytes) else str(value),
        )
        for name, value in request.headers.items()
    ]
    for name, value in headers:
        key = environ_key_for_header(name)
        if "_" not in name and key != "CONTENT_LENGTH":  # the body's own length, above
            environ[key] = value
    # werkzeug's server drops names with an underscore; moto's handler puts back the ones S3
    # keeps (user metadata), unless a dashed spelling of the name was sent too.
    preserved: dict[str, str] = {}
    for name, value in headers:
        key = environ_key_for_header(name)
        if "_" in name and should_preserve_original_header_name(name) and key not in environ:
            preserved.setdefault(key, name)
            environ[key] = value
    environ.setdefault("HTTP_HOST", url.netloc)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
    return environ
