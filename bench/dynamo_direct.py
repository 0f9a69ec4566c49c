"""moto's DynamoDB answered in-process, without the HTTP round trip: for the fan-out bench only.

Why: through `mock_aws` one DynamoDB request is signed (SigV4), matched by moto against every
service's URL patterns, rebuilt as a werkzeug request, parsed again from JSON through botocore's
service model, answered, serialised back through the model (each AttributeValue asked for its ten
members) and parsed once more by botocore. In the fan-out bench that plumbing cost more than
moto's DynamoDB itself.

What `install()` changes, for DynamoDB's item operations only (`DIRECT`):
- botocore skips signing the request (moto never checks a signature);
- moto's stubber hands the request's JSON body (`json.loads`) straight to the `DynamoHandler`
  method that would answer it, and its answer back as JSON (`json.dumps` of the same dict moto's
  serializer would have written), or moto's own error body and status for a `JsonRESTError`.
Everything around that stays: botocore's parameter validation and serializer, its response
parser (so a refusal is the same `ClientError`, `ConditionalCheckFailedException` or
`ProvisionedThroughputExceededException`, with the same fields), its retry handler (standard
mode: `needs-retry`, the retry quota, the back-off), pynamodb's signals and error mapping, and
moto's handler methods, so bench/fanout/dynamo.py's throughput model, which wraps them, still
throttles. Any other operation (and any other service) takes moto's usual path.
tests/unit/test_dynamo_direct.py checks answers and errors against that path.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from tools.moto_atomic import LOCK
from tools.patches import scoped

# The item operations the bench's code issues; table and stream management stay moto's path.
DIRECT = {
    "PutItem": "put_item",
    "UpdateItem": "update_item",
    "DeleteItem": "delete_item",
    "GetItem": "get_item",
    "BatchGetItem": "batch_get_item",
    "BatchWriteItem": "batch_write_item",
    "Query": "query",
    "Scan": "scan",
    "TransactWriteItems": "transact_write_items",
    "TransactGetItems": "transact_get_items",
}
TARGET = "DynamoDB_20120810."

_saved: dict[str, Callable[..., Any]] = {}
_lock = threading.Lock()


def install() -> None:
    """Patch moto's stubber and botocore's signer (idempotent)."""
    from botocore.client import BaseClient
    from botocore.signers import RequestSigner
    from moto.core.botocore_stubber import BotocoreStubber

    with _lock:
        if _saved:
            return
        _saved["process_request"] = BotocoreStubber.process_request
        _saved["sign"] = RequestSigner.sign
        _saved["make_api_call"] = BaseClient._make_api_call
        setattr(BotocoreStubber, "process_request", _process_request)  # noqa: B010
        setattr(RequestSigner, "sign", _sign)  # noqa: B010
        setattr(BaseClient, "_make_api_call", _make_api_call)  # noqa: B010


def uninstall() -> None:
    """Put back what was there before install()."""
    from botocore.client import BaseClient
    from botocore.signers import RequestSigner
    from moto.core.botocore_stubber import BotocoreStubber

    with _lock:
        if not _saved:
            return
        setattr(BotocoreStubber, "process_request", _saved.pop("process_request"))  # noqa: B010
        setattr(RequestSigner, "sign", _saved.pop("sign"))  # noqa: B010
        setattr(BaseClient, "_make_api_call", _saved.pop("make_api_call"))  # noqa: B010


def direct() -> AbstractContextManager[None]:
    """The direct path for the duration of a block."""
    return scoped(lambda: bool(_saved), install, uninstall)


def _sign(self: Any, operation_name: str, request: Any, *args: Any, **kwargs: Any) -> None:
    if self._service_id.hyphenize() == "dynamodb" and operation_name in DIRECT:
        return None  # moto reads no signature
    _saved["sign"](self, operation_name, request, *args, **kwargs)
    return None


def _operation(request: Any) -> str:
    target = request.headers.get("X-Amz-Target") or b""
    if isinstance(target, bytes):
        target = target.decode()
    return str(target)[len(TARGET) :] if str(target).startswith(TARGET) else ""


def _process_request(self: Any, request: Any) -> Any:
    operation = _operation(request)
    if operation not in DIRECT or "://dynamodb." not in request.url:
        return _saved["process_request"](self, request)
    return answer(operation, request.url, request.body)


def answer(operation: str, url: str, body: bytes | str | None) -> tuple[int, dict[str, str], str]:
    """What moto's DynamoDB answers to one request: status, headers, JSON body."""
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.core.exceptions import HTTPException  # type: ignore[attr-defined]
    from moto.dynamodb.responses import DynamoHandler

    params = json.loads(body) if body else {}
    handler = DynamoHandler()
    handler.params = params
    handler.body = params
    handler.region = url.split("://dynamodb.", 1)[1].split(".", 1)[0]
    handler.current_account = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
    handler.response_headers = {"server": "amazon.com"}
    handler.headers = {}
    headers = {"server": "amazon.com", "Content-Type": "application/x-amz-json-1.0"}
    try:
        with LOCK:  # each request whole, as in DynamoDB (tools/moto_atomic.py says why)
            result = getattr(handler, DIRECT[operation])()
    except HTTPException as error:
        return int(error.code or 400), {**headers, **dict(error.get_headers())}, error.get_body()
    return 200, headers, json.dumps(result.result if result.result is not None else {})


class _Http:
    """What botocore's retry handler and after-call hooks read of an HTTP response."""

    def __init__(self, status_code: int, headers: dict[str, str], text: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = text.encode()
        self.raw = None


def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    """A DynamoDB item request answered by moto in-process, through botocore's own retry loop.

    Skipped: parameter validation, serialisation, endpoint resolution, request building. Kept:
    the `needs-retry` event (botocore's standard retry handler: its conditions, quota and
    back-off, slept through `botocore.endpoint.time`), `after-call` (which returns retry quota),
    botocore's parser for every error (so the ClientError class, code, message and modeled fields
    are its own), and for any answer holding binary values.
    """
    model = client._service_model
    if operation_name not in DIRECT or model.service_name != "dynamodb" or not _mocked():
        return _saved["make_api_call"](client, operation_name, api_params)
    try:
        body = json.dumps(api_params)  # a copy, as the wire would make; bytes need the real path
    except TypeError:
        return _saved["make_api_call"](client, operation_name, api_params)
    operation = model.operation_model(operation_name)
    endpoint = client._endpoint
    url = f"https://dynamodb.{client.meta.region_name}.amazonaws.com/"
    context: dict[str, Any] = {"client_config": client.meta.config}
    request_dict = {"context": context, "url": url, "body": body}
    attempts = 1
    while True:
        endpoint._update_retries_context(context, attempts)
        status, headers, text = answer(operation_name, url, body)
        http = _Http(status, headers, text)
        if status < 300 and '"B": ' not in text and '"BS": ' not in text:  # no binary value
            members = operation.output_shape.members
            # What the parser would keep: the output shape's members (moto adds some of its own)
            parsed = {k: v for k, v in json.loads(text).items() if k in members}
            parsed["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": headers}
        else:
            parsed = _parse(endpoint, operation, http)
        if not endpoint._needs_retry(attempts, operation, request_dict, (http, parsed), None):
            break
        attempts += 1
    parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempts - 1
    client.meta.events.emit(
        f"after-call.dynamodb.{operation_name}",
        http_response=http,
        parsed=parsed,
        model=operation,
        context=context,
    )
    if status >= 300:
        code = parsed.get("Error", {}).get("Code")
        raise client.exceptions.from_code(code)(parsed, operation_name)
    return parsed


def _parse(endpoint: Any, operation: Any, http: _Http) -> dict[str, Any]:
    """What botocore's endpoint makes of the answer (errors and their modeled fields)."""
    from botocore.endpoint import convert_to_response_dict

    response_dict = convert_to_response_dict(http, operation)
    parser = endpoint._response_parser_factory.create_parser(
        operation.service_model.resolved_protocol
    )
    parsed: dict[str, Any] = parser.parse(response_dict, operation.output_shape)
    if http.status_code >= 300:
        endpoint._add_modeled_error_fields(response_dict, parsed, operation, parser)
    return parsed


def _mocked() -> bool:
    """Whether moto's mock is answering botocore (mock_aws active)."""
    from moto.core.models import botocore_stubber

    return bool(botocore_stubber.enabled)
