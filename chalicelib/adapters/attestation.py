"""App attestation: is this registration from our genuine app on a genuine phone?

Every verifier answers one question the same way: does `token` attest our app, for this
platform, bound to this push token? The binding (SHA-256 of the push token) is what the app
passes as Play Integrity's `requestHash` or as App Attest's client data, so a token lifted from
one registration cannot register another phone's push token.

- `StandInAttestation` verifies tokens it issued itself (HMAC with its own key): local runs and
  tests, where Google and Apple cannot be reached.
- `PlayIntegrityVerifier` checks the verdict Google decodes from an integrity token; the call to
  Google (`decodeIntegrityToken`) sits behind `IntegrityDecoder`, so it is tested with a stub.
- `PlatformAttestation` picks the verifier of the device's platform.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

STANDIN_PREFIX = "standin.v1"
MAX_AGE = timedelta(minutes=10)  # a verdict older than this is not fresh (Google's own advice)
CLOCK_SKEW = timedelta(minutes=2)
DECODE_URL = "https://playintegrity.googleapis.com/v1/{package}:decodeIntegrityToken"


class AttestationRefused(Exception):
    """The token does not attest our app; `reason` is a short code for logs (no token in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AttestationUnavailable(Exception):
    """The verifier could not be asked (Google down): not the app's fault, retry later."""


def binding(push_token: str) -> str:
    """What a token must be bound to: hex SHA-256 of the push token being registered."""
    return hashlib.sha256(push_token.encode()).hexdigest()


class PlatformVerifier(Protocol):
    """One platform's check (Play Integrity, App Attest)."""

    def verify(self, token: str, push_token: str, now: datetime) -> None:
        """Return if the token attests our app bound to `push_token`; AttestationRefused if not."""


@dataclass(frozen=True)
class StandInAttestation:
    """Issues and verifies its own tokens: `standin.v1.<platform>.<issued epoch>.<hmac>`."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def _mac(self, platform: str, push_token: str, issued: int) -> str:
        message = f"{platform}\n{binding(push_token)}\n{issued}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def issue(self, platform: str, push_token: str, now: datetime) -> str:
        """A token for this platform and push token, fresh for MAX_AGE from `now`."""
        issued = int(now.timestamp())
        return f"{STANDIN_PREFIX}.{platform}.{issued}.{self._mac(platform, push_token, issued)}"

    def verify(self, platform: str, token: str, push_token: str, now: datetime) -> None:
        """Accept only a fresh token of this key, this platform and this push token."""
        prefix, _, rest = token.rpartition(".")
        head, _, issued_text = prefix.rpartition(".")
        if head != f"{STANDIN_PREFIX}.{platform}" or not issued_text.isdigit():
            raise AttestationRefused("malformed")
        issued = int(issued_text)
        if not hmac.compare_digest(rest, self._mac(platform, push_token, issued)):
            raise AttestationRefused("signature")
        _check_fresh(issued * 1000, now)


def _check_fresh(timestamp_ms: int, now: datetime) -> None:
    age = now.timestamp() - timestamp_ms / 1000
    if age > MAX_AGE.total_seconds() or age < -CLOCK_SKEW.total_seconds():
        raise AttestationRefused("stale")


class IntegrityDecoder(Protocol):
    """Google's decodeIntegrityToken: the token's verdict payload (`tokenPayloadExternal`)."""

    def decode(self, package_name: str, token: str) -> Mapping[str, Any]:
        """The decoded verdict; AttestationRefused when Google refuses the token."""


HttpPost = Callable[[str, bytes, Mapping[str, str]], tuple[int, bytes]]


def urllib_post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    """POST with the standard library: (status, body), errors included; AttestationUnavailable
    when there is no answer at all."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())
    except OSError as exc:  # unreachable, refused, timed out: Google's outage, not the app's
        raise AttestationUnavailable(type(exc).__name__) from None


@dataclass(frozen=True)
class GoogleIntegrityDecoder:
    """Calls Play Integrity's REST API with an OAuth access token of our Google Cloud project."""

    access_token: Callable[[], str]  # scope https://www.googleapis.com/auth/playintegrity
    post: HttpPost = urllib_post

    def decode(self, package_name: str, token: str) -> Mapping[str, Any]:
        """POST {integrityToken} to decodeIntegrityToken; a 4xx is a refused token."""
        url = DECODE_URL.format(package=urllib.parse.quote(package_name, safe=""))
        status, body = self.post(
            url,
            json.dumps({"integrityToken": token}).encode(),
            {
                "Authorization": f"Bearer {self.access_token()}",
                "Content-Type": "application/json",
            },
        )
        if 400 <= status < 500:
            raise AttestationRefused("google_refused")
        if status != 200:
            raise AttestationUnavailable(f"decodeIntegrityToken answered {status}")
        payload = json.loads(body).get("tokenPayloadExternal")
        if not isinstance(payload, dict):
            raise AttestationRefused("no_payload")
        return payload


@dataclass(frozen=True)
class PlayIntegrityVerifier:
    """Android: the verdict of a Play Integrity standard request, checked field by field."""

    decoder: IntegrityDecoder
    package_name: str
    certificate_digests: frozenset[str] = frozenset()  # our signing certs (base64url SHA-256)

    def verify(self, token: str, push_token: str, now: datetime) -> None:
        """Accept a fresh verdict for our Play-recognised app on a device with integrity."""
        verdict = self.decoder.decode(self.package_name, token)
        request = _section(verdict, "requestDetails")
        app = _section(verdict, "appIntegrity")
        device = _section(verdict, "deviceIntegrity")
        if request.get("requestPackageName") != self.package_name:
            raise AttestationRefused("package")
        if not hmac.compare_digest(str(request.get("requestHash", "")), binding(push_token)):
            raise AttestationRefused("binding")
        try:
            timestamp = int(request.get("timestampMillis", ""))
        except ValueError:
            raise AttestationRefused("stale") from None
        _check_fresh(timestamp, now)
        if app.get("appRecognitionVerdict") != "PLAY_RECOGNIZED":
            raise AttestationRefused("app_not_recognized")
        if app.get("packageName") != self.package_name:
            raise AttestationRefused("package")
        digests = set(app.get("certificateSha256Digest") or [])
        if self.certificate_digests and not digests & self.certificate_digests:
            raise AttestationRefused("certificate")
        if "MEETS_DEVICE_INTEGRITY" not in (device.get("deviceRecognitionVerdict") or []):
            raise AttestationRefused("device_integrity")


def _section(verdict: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = verdict.get(name)
    if not isinstance(value, dict):
        raise AttestationRefused(f"no_{name}")
    return value


@dataclass(frozen=True)
class PlatformAttestation:
    """The real verifiers, one per platform (fcm: Play Integrity, apns: App Attest)."""

    verifiers: Mapping[str, PlatformVerifier]

    def verify(self, platform: str, token: str, push_token: str, now: datetime) -> None:
        """Ask the platform's verifier; a platform without one is refused."""
        verifier = self.verifiers.get(platform)
        if verifier is None:
            raise AttestationRefused("platform")
        verifier.verify(token, push_token, now)
