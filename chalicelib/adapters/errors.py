"""How the channel adapters turn AWS errors into SendFailed: one mapping for SMS, calls and push."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

# Error codes worth another try later; anything else will fail the same way again.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottlingException",
    }
)


class SendFailed(Exception):
    """A message could not be sent; `retryable` says whether trying later may help."""

    def __init__(self, code: str, retryable: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError (never its message text)."""
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


@contextmanager
def provider_errors(
    retryable: frozenset[str] = RETRYABLE_CODES,
    refine: Callable[[str], SendFailed | None] = lambda code: None,
) -> Iterator[None]:
    """Raise SendFailed for any AWS error inside the block.

    `refine` may turn a code into a more specific SendFailed (e.g. a push endpoint gone).
    """
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        raise (refine(code) or SendFailed(code, retryable=code in retryable)) from None
    except (EndpointConnectionError, ConnectTimeoutError):
        # Nothing reached AWS, so trying again cannot send twice.
        raise SendFailed("ConnectionError", retryable=True) from None
    except BotoCoreError as exc:
        # E.g. a read timeout: it may have gone out; recorded as failed, never sent twice.
        raise SendFailed(type(exc).__name__, retryable=False) from None
