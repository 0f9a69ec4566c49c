"""Domain errors; the handlers map each kind to one HTTP status in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An expected failure a caller can act on: a machine code and a human message."""

    def __init__(self, code: str, message: str, field: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.params = params  # values the message mentions (JSON), for translations and clients


class InvalidInput(DomainError):
    """The request itself is wrong (HTTP 400)."""


class NotFound(DomainError):
    """The thing asked for does not exist (HTTP 404)."""


class Conflict(DomainError):
    """The request contradicts the current state (HTTP 409)."""


class PayloadTooLarge(DomainError):
    """The request body is larger than any valid request (HTTP 413)."""


class Unauthorized(DomainError):
    """No valid proof of who is asking (HTTP 401)."""


class Locked(DomainError):
    """Too many wrong codes: this verification is closed (HTTP 403)."""


class Forbidden(DomainError):
    """Not allowed to do this (HTTP 403): an app not attested, a device that was not alerted."""


class Expired(DomainError):
    """Its time is up: a code, or a closed action's public messages (HTTP 410)."""


class TooManyRequests(DomainError):
    """Over a rate limit; `retry_after` seconds until the next window (HTTP 429)."""


class ServiceUnavailable(DomainError):
    """Nobody's fault but ours: a budget of the whole service is spent for now (HTTP 503)."""
