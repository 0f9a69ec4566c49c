"""The outside world as logic sees it: every adapter logic calls is one of these Protocols.

The adapters in chalicelib/adapters implement them; runtime.py wires the real ones, tests and
the local runner their stand-ins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.model import Language
from chalicelib.domain.signup import Address


class Voice(Protocol):
    """Places a call that reads a text out (Amazon Connect, or the local stand-in)."""

    def call(self, phone: str, text: str, language: Language, reference: str) -> str:
        """Start the call; return its contact id or raise SendFailed."""
        ...

    def reference_of(self, contact_id: str) -> str | None:
        """The reference a call was placed with (None if the contact is not ours)."""
        ...


class Sms(Protocol):
    """Sends one SMS (SNS Publish)."""

    def send(self, phone: str, text: str) -> str:
        """Send it; return the provider's message id or raise SendFailed."""
        ...


class Push(Protocol):
    """Publishes app notifications to SNS platform endpoints."""

    def send(
        self,
        endpoint_arn: str,
        title: str,
        body: str,
        action_id: str,
        collapse_id: str,
        image: str | None = None,
    ) -> str:
        """Publish one, showing the image at `image` if given; return its message id, or raise
        EndpointGone / SendFailed. Two with one `collapse_id` show as one notification."""
        ...

    def delete(self, endpoint_arn: str) -> None:
        """Remove an endpoint that is gone for good."""
        ...


class Attestation(Protocol):
    """Checks that a registration comes from our genuine app (adapters/attestation.py)."""

    def verify(self, platform: str, token: str, push_token: str, now: datetime) -> None:
        """Return if `token` attests our app bound to `push_token`; AttestationRefused if not."""


class PushRegistry(Protocol):
    """Registers and removes app installs at the push service (adapters/push.py)."""

    @property
    def platform_application_arns(self) -> Mapping[str, str]:
        """Platform (fcm | apns) -> its platform application, for those configured."""

    def register(self, platform: str, token: str) -> str:
        """The endpoint of a push token; EndpointGone if refused, SendFailed otherwise."""

    def delete(self, endpoint_arn: str) -> None:
        """Remove an endpoint; already gone is fine."""


class Network(Protocol):
    """A social network account that posts (adapters/social.py)."""

    def post(self, text: str, *, reply_to: str | None, photo_url: str | None, key: str) -> str:
        """Make one post and return its id, or raise PostFailed."""
        ...

    def delete(self, post_id: str) -> None:
        """Delete one of our posts (one already gone is fine), or raise PostFailed."""
        ...


class PhotoStore(Protocol):
    """The private bucket of photos (S3)."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store one file."""
        ...

    def get(self, key: str) -> bytes:
        """One file's bytes."""
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Remove files; ones already gone are fine."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """The keys of the files under a prefix."""
        ...


class Cdn(Protocol):
    """The CDN in front of the public photos (CloudFront)."""

    def invalidate(self, paths: Sequence[str], reference: str) -> None:
        """Make every edge drop its copies of `paths`; the same `reference` twice is one
        invalidation."""
        ...


class Resizer(Protocol):
    """Makes a stored upload's sizes (the resizer Lambda, or this process)."""

    def resize(self, action_id: str, photo_id: str) -> dict[str, Any]:
        """{} once the sizes are stored; {"error", "message"} for a file that is no usable
        image. ServiceUnavailable if the resizer could not be asked."""
        ...


class Geocoder(Protocol):
    """Finds a Dutch address's position and municipality (adapters/pdok.py)."""

    def lookup(self, postcode: str, house_number: str, addition: str | None) -> Address | None:
        """The address, None if there is no such address, or GeocoderUnavailable."""
        ...


class CodeQueue(Protocol):
    """The queue of login and unsubscribe codes the code_sender worker sends (a WorkQueue)."""

    def send(self, items: Iterable[dict[str, Any]], delay_s: int = 0) -> int:
        """Enqueue every item; how many."""
        ...


@dataclass(frozen=True)
class Services:
    """The outside world the participant routes need (signup, codes, account)."""

    geocoder: Geocoder
    sms: Sms
    voice: Voice | None  # reads codes out to landlines; None where this deployment does not call
    codes: CodeQueue  # login and unsubscribe codes, sent by the code_sender worker
    codes_per_hour: int  # the overall budget of codes (CODES_PER_HOUR)
