"""App attestation without the network: the stand-in, Play Integrity's verdict checks (Google's
decode call stubbed), and the ATTESTATION setting."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest
from botocore.credentials import ReadOnlyCredentials

from chalicelib import runtime
from chalicelib.adapters.attestation import (
    AttestationRefused,
    AttestationUnavailable,
    GoogleIntegrityDecoder,
    GoogleWorkloadToken,
    PlatformAttestation,
    PlayIntegrityVerifier,
    StandInAttestation,
    binding,
    urllib_post,
)
from chalicelib.domain.devices import Fix, check_plausible_move
from chalicelib.domain.errors import InvalidInput
from chalicelib.settings import Settings, SettingsError
from tools.emulator import stage_environment

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PACKAGE = "nl.burgernet.app"
CERT = "c2lnbmluZy1jZXJ0aWZpY2F0ZS1kaWdlc3Q"
PUSH_TOKEN = "fcm-token-1"


# --- the stand-in ------------------------------------------------------------------------------


def test_the_stand_in_accepts_its_own_fresh_token_for_the_same_platform_and_push_token() -> None:
    standin = StandInAttestation(b"k")
    standin.verify("fcm", standin.issue("fcm", PUSH_TOKEN, NOW), PUSH_TOKEN, NOW)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (StandInAttestation(b"k").issue("fcm", "other", NOW), "signature"),
        (StandInAttestation(b"other").issue("fcm", PUSH_TOKEN, NOW), "signature"),
        (StandInAttestation(b"k").issue("apns", PUSH_TOKEN, NOW), "malformed"),
        (StandInAttestation(b"k").issue("fcm", PUSH_TOKEN, NOW - timedelta(minutes=11)), "stale"),
        (StandInAttestation(b"k").issue("fcm", PUSH_TOKEN, NOW + timedelta(minutes=5)), "stale"),
        ("standin.v1.fcm.x.y", "malformed"),
        ("", "malformed"),
    ],
)
def test_the_stand_in_refuses_what_it_did_not_issue_for_this_registration(
    token: str, reason: str
) -> None:
    with pytest.raises(AttestationRefused) as refused:
        StandInAttestation(b"k").verify("fcm", token, PUSH_TOKEN, NOW)
    assert refused.value.reason == reason


# --- Play Integrity ----------------------------------------------------------------------------


def verdict(**changes: Any) -> dict[str, Any]:
    """A verdict as decodeIntegrityToken returns it for our app on a sound phone, changed."""
    good: dict[str, Any] = {
        "requestDetails": {
            "requestPackageName": PACKAGE,
            "requestHash": binding(PUSH_TOKEN),
            "timestampMillis": str(int((NOW - timedelta(seconds=30)).timestamp() * 1000)),
        },
        "appIntegrity": {
            "appRecognitionVerdict": "PLAY_RECOGNIZED",
            "packageName": PACKAGE,
            "certificateSha256Digest": [CERT],
            "versionCode": "42",
        },
        "deviceIntegrity": {"deviceRecognitionVerdict": ["MEETS_DEVICE_INTEGRITY"]},
        "accountDetails": {"appLicensingVerdict": "LICENSED"},
    }
    out = copy.deepcopy(good)
    for path, value in changes.items():
        section, _, field = path.partition("__")
        if field:
            out[section][field] = value
        else:
            out.pop(section) if value is None else out.__setitem__(section, value)
    return out


class StubDecoder:
    """Google's answer, fixed by the test; records what it was asked."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload
        self.asked: list[tuple[str, str]] = []

    def decode(self, package_name: str, token: str) -> Mapping[str, Any]:
        self.asked.append((package_name, token))
        return self.payload


def verifier(payload: Mapping[str, Any]) -> PlayIntegrityVerifier:
    return PlayIntegrityVerifier(StubDecoder(payload), PACKAGE, frozenset({CERT}))


def test_a_play_recognised_app_on_a_device_with_integrity_is_accepted() -> None:
    decoder = StubDecoder(verdict())
    PlayIntegrityVerifier(decoder, PACKAGE, frozenset({CERT})).verify("tok", PUSH_TOKEN, NOW)
    assert decoder.asked == [(PACKAGE, "tok")]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"requestDetails__requestPackageName": "com.evil"}, "package"),
        ({"requestDetails__requestHash": binding("another-phone")}, "binding"),
        (
            {"requestDetails__timestampMillis": str(int(NOW.timestamp() * 1000) - 11 * 60_000)},
            "stale",
        ),
        ({"requestDetails__timestampMillis": "soon"}, "stale"),
        ({"appIntegrity__appRecognitionVerdict": "UNRECOGNIZED_VERSION"}, "app_not_recognized"),
        ({"appIntegrity__appRecognitionVerdict": "UNEVALUATED"}, "app_not_recognized"),
        ({"appIntegrity__packageName": "com.evil"}, "package"),
        ({"appIntegrity__certificateSha256Digest": ["resigned"]}, "certificate"),
        (
            {"deviceIntegrity__deviceRecognitionVerdict": ["MEETS_BASIC_INTEGRITY"]},
            "device_integrity",
        ),
        ({"deviceIntegrity__deviceRecognitionVerdict": []}, "device_integrity"),
        ({"deviceIntegrity": None}, "no_deviceIntegrity"),
        ({"requestDetails": "x"}, "no_requestDetails"),
    ],
)
def test_a_verdict_that_falls_short_anywhere_is_refused(
    changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(AttestationRefused) as refused:
        verifier(verdict(**changes)).verify("tok", PUSH_TOKEN, NOW)
    assert refused.value.reason == reason


def test_google_is_asked_with_our_access_token_for_our_package() -> None:
    calls: list[tuple[str, bytes, Mapping[str, str]]] = []

    def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        calls.append((url, body, headers))
        return 200, json.dumps({"tokenPayloadExternal": verdict()}).encode()

    decoder = GoogleIntegrityDecoder(access_token=lambda: "ya29.token", post=post)
    assert decoder.decode(PACKAGE, "tok") == verdict()
    [(url, body, headers)] = calls
    assert url == f"https://playintegrity.googleapis.com/v1/{PACKAGE}:decodeIntegrityToken"
    assert json.loads(body) == {"integrityToken": "tok"}
    assert headers["Authorization"] == "Bearer ya29.token"


@pytest.mark.parametrize(
    ("status", "raised"),
    [(400, AttestationRefused), (403, AttestationRefused), (503, AttestationUnavailable)],
)
def test_a_refusal_by_google_is_the_apps_fault_an_outage_is_not(
    status: int, raised: type[Exception]
) -> None:
    decoder = GoogleIntegrityDecoder(lambda: "t", post=lambda *_: (status, b"{}"))
    with pytest.raises(raised):
        decoder.decode(PACKAGE, "tok")


def test_no_answer_from_google_is_an_outage_not_a_network_error() -> None:
    """Given nothing listens where Google should, the post raises our AttestationUnavailable."""
    with pytest.raises(AttestationUnavailable):
        urllib_post("http://127.0.0.1:9/decode", b"{}", {})


def test_a_platform_without_a_verifier_is_refused() -> None:
    attestation = PlatformAttestation({"fcm": verifier(verdict())})
    attestation.verify("fcm", "tok", PUSH_TOKEN, NOW)
    with pytest.raises(AttestationRefused):
        attestation.verify("apns", "tok", PUSH_TOKEN, NOW)


# --- the setting -------------------------------------------------------------------------------


def settings(**changes: str) -> Settings:
    return Settings.from_env({**stage_environment("test"), "AWS_REGION": "eu-west-1", **changes})


def test_attestation_is_off_unless_a_deployment_switches_it_on() -> None:
    assert settings().attestation == "off"
    assert settings(ATTESTATION="standin").attestation == "standin"


FCM_ARN = "arn:aws:sns:eu-west-1:123456789012:app/GCM/burgernet"
PROVIDER = (
    "//iam.googleapis.com/projects/123456789012/locations/global/"
    "workloadIdentityPools/burgernet/providers/aws-prod"
)
ACCOUNT = "play-integrity@burgernet-prod.iam.gserviceaccount.com"
DIGEST = "A" * 43
PLAY = {
    "ATTESTATION": "play_integrity",
    "PUSH_APPLICATION_FCM_ARN": FCM_ARN,
    "PLAY_INTEGRITY_PACKAGE": PACKAGE,
    "PLAY_INTEGRITY_CERTIFICATES": f"{DIGEST}=, {'B' * 43}",
    "GOOGLE_WORKLOAD_PROVIDER": PROVIDER,
    "GOOGLE_SERVICE_ACCOUNT": ACCOUNT,
}


def test_prod_checks_play_integrity() -> None:
    prod = Settings.from_env({**stage_environment("prod"), "AWS_REGION": "eu-west-1"})
    assert prod.attestation == "play_integrity"


def test_play_integrity_reads_our_package_certificates_and_google_identity() -> None:
    play = settings(**PLAY)
    assert play.play_integrity_package == PACKAGE
    assert play.play_integrity_certificates == (DIGEST, "B" * 43)
    assert (play.google_workload_provider, play.google_service_account) == (PROVIDER, ACCOUNT)


def test_play_integrity_needs_nothing_more_where_there_is_no_android_push() -> None:
    """No push application: POST /devices registers nobody, so there is nothing to attest."""
    assert settings(ATTESTATION="play_integrity").play_integrity_package is None


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"ATTESTATION": "yes"}, "ATTESTATION must be one of off, standin, play_integrity"),
        ({"ATTESTATION": "standin", "STAGE": "prod"}, "ATTESTATION=standin"),
        ({"ATTESTATION": "platform"}, "ATTESTATION must be one of"),
        ({**PLAY, "PLAY_INTEGRITY_PACKAGE": ""}, "PLAY_INTEGRITY_PACKAGE is not set"),
        ({**PLAY, "PLAY_INTEGRITY_PACKAGE": "burgernet"}, "PLAY_INTEGRITY_PACKAGE must look like"),
        ({**PLAY, "PLAY_INTEGRITY_CERTIFICATES": "abc"}, "PLAY_INTEGRITY_CERTIFICATES must be"),
        ({**PLAY, "PLAY_INTEGRITY_CERTIFICATES": ""}, "PLAY_INTEGRITY_CERTIFICATES is not set"),
        ({**PLAY, "GOOGLE_WORKLOAD_PROVIDER": ""}, "GOOGLE_WORKLOAD_PROVIDER is not set"),
        ({**PLAY, "GOOGLE_WORKLOAD_PROVIDER": "burgernet"}, "GOOGLE_WORKLOAD_PROVIDER must look"),
        ({**PLAY, "GOOGLE_SERVICE_ACCOUNT": "me@gmail.com"}, "GOOGLE_SERVICE_ACCOUNT must look"),
        (
            {**PLAY, "PUSH_APPLICATION_APNS_ARN": FCM_ARN.replace("GCM", "APNS")},
            "unset PUSH_APPLICATION_APNS_ARN",
        ),
    ],
)
def test_a_wrong_attestation_setting_fails_at_cold_start_naming_it(
    changes: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        settings(**changes)


def test_prod_wiring_attests_android_with_play_integrity_and_refuses_the_rest() -> None:
    check = runtime.attestation(settings(**PLAY))
    assert isinstance(check, PlatformAttestation)
    android = check.verifiers["fcm"]
    assert isinstance(android, PlayIntegrityVerifier)
    assert android.package_name == PACKAGE
    with pytest.raises(AttestationRefused):
        check.verify("apns", "tok", PUSH_TOKEN, NOW)


def test_play_integrity_without_android_push_still_fails_closed() -> None:
    check = runtime.attestation(settings(ATTESTATION="play_integrity"))
    assert check is not None
    for platform in ("fcm", "apns"):
        with pytest.raises(AttestationRefused):
            check.verify(platform, "tok", PUSH_TOKEN, NOW)


# --- Google's access token, from our AWS role (workload identity federation) --------------------

AWS_KEYS = ReadOnlyCredentials("AKIDEXAMPLE", "secret", "session-token")
LATER = "2026-11-28T13:00:00Z"


class FakeGoogle:
    """Google's STS and IAM Credentials, answering as the test says; records every call."""

    def __init__(self, sts: int = 200, iam: int = 200) -> None:
        self.status = {"sts": sts, "iam": iam}
        self.calls: list[tuple[str, bytes, Mapping[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        self.calls.append((url, body, headers))
        if url == "https://sts.googleapis.com/v1/token":
            return self.status["sts"], json.dumps({"access_token": "federated"}).encode()
        answer = {"accessToken": f"ya29.{len(self.calls)}", "expireTime": LATER}
        return self.status["iam"], json.dumps(answer).encode()


def workload_token(google: FakeGoogle, clock: list[float]) -> GoogleWorkloadToken:
    return GoogleWorkloadToken(
        PROVIDER, ACCOUNT, "eu-west-1", lambda: AWS_KEYS, post=google, clock=lambda: clock[0]
    )


def test_our_aws_role_is_exchanged_for_the_service_accounts_play_integrity_token() -> None:
    google = FakeGoogle()
    assert workload_token(google, [NOW.timestamp()])() == "ya29.2"

    (sts_url, sts_body, _), (iam_url, iam_body, iam_headers) = google.calls
    assert sts_url == "https://sts.googleapis.com/v1/token"
    form = parse_qs(sts_body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:token-exchange"]
    assert form["audience"] == [PROVIDER]
    assert form["subject_token_type"] == ["urn:ietf:params:aws:token-type:aws4_request"]
    # The subject token is a GetCallerIdentity request our role signed, bound to our provider.
    signed = json.loads(unquote(form["subject_token"][0]))
    assert (
        signed["url"]
        == "https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
    )
    assert signed["method"] == "POST"
    headers = {h["key"].lower(): h["value"] for h in signed["headers"]}
    assert headers["x-goog-cloud-target-resource"] == PROVIDER
    assert headers["host"] == "sts.eu-west-1.amazonaws.com"
    assert headers["x-amz-security-token"] == "session-token"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/sts/aws4_request" in headers["authorization"]
    assert "x-goog-cloud-target-resource" in headers["authorization"]  # signed, not just sent
    assert "secret" not in form["subject_token"][0]
    # The federated token impersonates our service account, for Play Integrity only.
    assert iam_url == (
        f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{ACCOUNT}"
        ":generateAccessToken"
    )
    assert iam_headers["Authorization"] == "Bearer federated"
    assert json.loads(iam_body)["scope"] == ["https://www.googleapis.com/auth/playintegrity"]


def test_the_token_is_reused_until_five_minutes_before_it_ends() -> None:
    google = FakeGoogle()
    clock = [NOW.timestamp()]
    token = workload_token(google, clock)
    first = token()
    clock[0] += 3600 - 301
    assert token() == first and len(google.calls) == 2
    clock[0] += 2
    assert token() != first and len(google.calls) == 4


@pytest.mark.parametrize("google", [FakeGoogle(sts=400), FakeGoogle(iam=403), FakeGoogle(iam=500)])
def test_google_refusing_our_identity_is_our_outage_not_the_apps_fault(google: FakeGoogle) -> None:
    with pytest.raises(AttestationUnavailable):
        workload_token(google, [NOW.timestamp()])()


def test_the_verifier_compares_certificate_digests_with_or_without_padding() -> None:
    payload = verdict(appIntegrity__certificateSha256Digest=[f"{CERT}="])
    PlayIntegrityVerifier(StubDecoder(payload), PACKAGE, frozenset({CERT})).verify(
        "tok", PUSH_TOKEN, NOW
    )


# --- implausible moves -------------------------------------------------------------------------


AMSTERDAM = (52.3676, 4.9041)
UTRECHT = (52.0907, 5.1214)  # about 35 km from Amsterdam


@pytest.mark.parametrize(
    ("minutes", "allowed"),
    [(1, False), (6, False), (8, True), (60, True)],  # 35 km at 300 km/h takes 7 minutes
)
def test_a_move_is_refused_exactly_when_it_is_faster_than_300_kmh(
    minutes: int, allowed: bool
) -> None:
    last = Fix(*AMSTERDAM, NOW)
    now = Fix(*UTRECHT, NOW + timedelta(minutes=minutes))
    if allowed:
        check_plausible_move(last, now)
    else:
        with pytest.raises(InvalidInput) as refused:
            check_plausible_move(last, now)
        assert refused.value.code == "implausible_move"


def test_a_first_location_and_a_jittering_phone_are_accepted() -> None:
    check_plausible_move(None, Fix(*UTRECHT, NOW))
    check_plausible_move(Fix(*UTRECHT, NOW), Fix(UTRECHT[0] + 0.002, UTRECHT[1], NOW))  # 220 m


# --- the local runner --------------------------------------------------------------------------


def test_tools_attest_prints_a_token_the_stand_in_of_the_same_key_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools import attest

    monkeypatch.setenv("ATTESTATION_STANDIN_KEY", "run-key")
    assert attest.main(["apns", PUSH_TOKEN]) == 0
    token = capsys.readouterr().out.strip()
    StandInAttestation(b"run-key").verify("apns", token, PUSH_TOKEN, datetime.now(UTC))


def test_the_banner_shows_curl_without_a_token_unless_attestation_is_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tools.local import banner

    monkeypatch.delenv("ATTESTATION", raising=False)
    assert '"attestation"' not in banner("http://api", "http://emu")
    monkeypatch.setenv("ATTESTATION", "standin")
    monkeypatch.setenv("ATTESTATION_STANDIN_KEY", "run-key")
    assert "ATTESTATION_STANDIN_KEY=run-key .venv/bin/python -m tools.attest fcm demo-1" in banner(
        "http://api", "http://emu"
    )
