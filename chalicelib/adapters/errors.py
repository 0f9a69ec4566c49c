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

# Error codes that say the request was refused for now and nothing was done: try again later.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "KMSThrottlingException",
    }
)


class SendFailed(Exception):
    """A message was not sent, or may not have been.

    `retryable`: nothing went out, and trying later may work (throttled, unreachable).
    `ambiguous`: the provider may have sent it (a lost answer, a server error); never resend.
    Neither: refused for good.
    """

    def __init__(self, code: str, retryable: bool, ambiguous: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable
        self.ambiguous = ambiguous and not retryable


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError (never its message text)."""
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _server_error(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return isinstance(status, int) and status >= 500


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
        raise (
            refine(code)
            or SendFailed(code, retryable=code in retryable, ambiguous=_server_error(exc))
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError):
        # Nothing reached AWS, so trying again cannot send twice.
        raise SendFailed("ConnectionError", retryable=True) from None
    except BotoCoreError as exc:
        # E.g. a read timeout: the provider may have taken it. Recorded as unknown, never resent.
        raise SendFailed(type(exc).__name__, retryable=False, ambiguous=True) from None
