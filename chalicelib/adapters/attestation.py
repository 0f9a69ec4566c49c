"""App attestation: is this registration from our genuine app on a genuine phone?

Every verifier answers one question the same way: does `token` attest our app, for this
platform, bound to this push token? The binding (SHA-256 of the push token) is what the app
passes as Play Integrity's `requestHash` or as App Attest's client data, so a token lifted from
one registration cannot register another phone's push token.

- `StandInAttestation` verifies tokens it issued itself (HMAC with its own key): local runs and
  tests, where Google and Apple cannot be reached.
- `PlayIntegrityVerifier` checks the verdict Google decodes from an integrity token; the call to
  Google (`decodeIntegrityToken`) sits behind `IntegrityDecoder`, so it is tested with a stub.
- `GoogleWorkloadToken` gets the access token Google's call needs from this Lambda's own AWS
  role (workload identity federation): no Google key is stored anywhere.
- `PlatformAttestation` picks the verifier of the device's platform.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

STANDIN_PREFIX = "standin.v1"
MAX_AGE = timedelta(minutes=10)  # a verdict older than this is not fresh (Google's own advice)
CLOCK_SKEW = timedelta(minutes=2)
DECODE_URL = "https://playintegrity.googleapis.com/v1/{package}:decodeIntegrityToken"
GOOGLE_STS_URL = "https://sts.googleapis.com/v1/token"
IMPERSONATE_URL = (
    "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{account}"
    ":generateAccessToken"
)
PLAY_INTEGRITY_SCOPE = "https://www.googleapis.com/auth/playintegrity"
# RFC 8693 names the kinds of token with public URNs (none is a secret).
OAUTH_ACCESS_URN = "urn:ietf:params:oauth:token-type:access_token"
AWS_SIGNED_REQUEST_URN = "urn:ietf:params:aws:token-type:aws4_request"
TOKEN_REFRESH_S = 300  # a cached token this close to its end is renewed before use


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
        # Callers pass only this module's https:// constants (DECODE_URL, GOOGLE_STS_URL, ...).
        with urllib.request.urlopen(request, timeout=5) as response:  # nosec B310 # https only
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


def session_credentials() -> ReadOnlyCredentials:
    """This process's AWS credentials (the Lambda role's), frozen for one signature."""
    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise AttestationUnavailable("no AWS credentials to federate")
    return credentials.get_frozen_credentials()


@dataclass
class GoogleWorkloadToken:
    """Google access tokens for our service account, obtained with this Lambda's AWS role.

    Workload identity federation: a signed (not sent) STS GetCallerIdentity request proves to
    Google's STS who we are; the federated token impersonates the service account that the Play
    Console links to our app. Tokens are cached until 5 minutes before they end.
    """

    provider: str  # //iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/…
    service_account: str  # …@<project>.iam.gserviceaccount.com, allowed to decode our tokens
    region: str
    credentials: Callable[[], ReadOnlyCredentials] = session_credentials
    post: HttpPost = urllib_post
    clock: Callable[[], float] = time.time
    _token: str = field(default="", repr=False)
    _until: float = 0.0

    def __call__(self) -> str:
        """A Google access token with the playintegrity scope."""
        if self._token and self.clock() < self._until - TOKEN_REFRESH_S:
            return self._token
        federated = self._exchange(self._subject_token())
        status, body = self.post(
            IMPERSONATE_URL.format(account=urllib.parse.quote(self.service_account, safe="@")),
            json.dumps({"scope": [PLAY_INTEGRITY_SCOPE], "lifetime": "3600s"}).encode(),
            {"Authorization": f"Bearer {federated}", "Content-Type": "application/json"},
        )
        answer = _google_answer("generateAccessToken", status, body)
        token, expires = answer.get("accessToken"), answer.get("expireTime")
        if not isinstance(token, str) or not isinstance(expires, str):
            raise AttestationUnavailable("generateAccessToken gave no token")
        self._token = token
        self._until = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
        return token

    def _subject_token(self) -> str:
        """A GetCallerIdentity request signed by our role, bound to the pool's provider."""
        host = f"sts.{self.region}.amazonaws.com"
        request = AWSRequest(
            method="POST",
            url=f"https://{host}?Action=GetCallerIdentity&Version=2011-06-15",
            headers={"host": host, "x-goog-cloud-target-resource": self.provider},
        )
        SigV4Auth(self.credentials(), "sts", self.region).add_auth(request)
        headers = [{"key": k, "value": v} for k, v in sorted(request.headers.items())]
        signed = {"url": request.url, "method": "POST", "headers": headers}
        return urllib.parse.quote(json.dumps(signed, separators=(",", ":"), sort_keys=True))

    def _exchange(self, subject_token: str) -> str:
        """Google STS (RFC 8693 token exchange): our signed request for a federated token."""
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "audience": self.provider,
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "requested_token_type": OAUTH_ACCESS_URN,
            "subject_token_type": AWS_SIGNED_REQUEST_URN,
            "subject_token": subject_token,
        }
        status, body = self.post(
            GOOGLE_STS_URL,
            urllib.parse.urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        token = _google_answer("sts", status, body).get("access_token")
        if not isinstance(token, str):
            raise AttestationUnavailable("sts gave no token")
        return token


def _google_answer(step: str, status: int, body: bytes) -> Mapping[str, Any]:
    """Google's JSON answer; any refusal is our configuration's fault, never the app's."""
    if status != 200:
        raise AttestationUnavailable(f"{step} answered {status}")
    try:
        answer = json.loads(body)
    except ValueError:
        raise AttestationUnavailable(f"{step} answered no JSON") from None
    if not isinstance(answer, dict):
        raise AttestationUnavailable(f"{step} answered no object")
    return answer


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
        # Compared without base64 padding, however either side writes it.
        digests = {str(d).rstrip("=") for d in app.get("certificateSha256Digest") or []}
        ours = {d.rstrip("=") for d in self.certificate_digests}
        if ours and not digests & ours:
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
