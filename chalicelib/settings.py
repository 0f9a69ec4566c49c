"""One validated settings object, read from the environment once per cold start."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from chalicelib.domain.model import Channel
from chalicelib.domain.social import NETWORKS as SOCIAL_NETWORKS

# The channels this code can send on.
SENDABLE_CHANNELS = (Channel.SMS, Channel.VOICE)
VOICE_BACKENDS = ("connect", "local")  # Amazon Connect, or the local stand-in that records calls
ATTESTATION_MODES = ("off", "standin", "platform")
# What records traces (chalicelib/tracing.py): the X-Ray SDK, the OpenTelemetry API, or nothing.
TRACING_BACKENDS = ("xray", "otel", "off")
# An SSM parameter path; the leading / lets the IAM policy name it as parameter/<path>.
PARAMETER_NAME = re.compile(r"/[A-Za-z0-9_.\-/]{1,1010}")
# CAP 1.2's <sender>: no spaces, commas or restricted characters (< and &).
CAP_SENDER = re.compile(r"[^\s,<&]{1,255}")
# An http(s) URL with no trailing slash, so "{url}/a/{ref}" is a well-formed link.
BASE_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*[^\s/?#])?")
X_API = "https://api.x.com"  # X's API v2, unless X_API_URL points elsewhere (the local stand-in)


class SettingsError(RuntimeError):
    """The deployment is misconfigured: names the variable to fix."""


@dataclass(frozen=True)
class Settings:
    """Everything the functions need to know about their deployment."""

    stage: str
    region: str
    participants_table: str
    places_table: str
    actions_table: str
    deliveries_table: str
    idempotency_table: str
    municipalities_table: str
    verifications_table: str
    sessions_table: str
    ratelimits_table: str
    devices_table: str
    sightings_table: str
    hash_key_parameter: str  # SSM SecureString with the key of every look-up hash
    geocoder_url: str
    voice_backend: str
    connect_instance_id: str | None
    connect_contact_flow_id: str | None
    connect_source_number: str | None
    voice_starts_per_second: float
    voice_max_concurrent: int
    callback_number: str
    sms_sender_id: str
    channels: tuple[Channel, ...]
    sms_per_second: float
    push_per_second: float
    tracing: str  # one of TRACING_BACKENDS
    public_url: str  # the public page, feeds and posts' links: {public_url}/a/{ref}; no trailing /
    cap_sender: str  # CAP's <sender> of every public message
    keep_descriptions_days: int = 30  # then a closed action's free text is removed
    codes_per_hour: int = 5000  # codes (SMS or call) all routes together may send in one hour
    push_application_fcm_arn: str | None = None  # SNS platform applications, when the app exists
    push_application_apns_arn: str | None = None
    endpoint_url: str | None = None  # set only when running against the local emulator
    attestation: str = "off"  # POST /devices checks app attestation: off | standin | platform
    attestation_standin_key: str | None = None  # the stand-in's key; None: one per process
    social_networks: tuple[str, ...] = ()  # where public actions are posted (none: nowhere)
    social_credentials_parameter: str | None = None  # SSM SecureString, JSON, per network
    mastodon_url: str | None = None  # the Mastodon server of Burgernet's account
    x_api_url: str = X_API
    # Action photos: the private bucket, where its public/ prefix is served (the CDN), and the
    # resizer Lambda's name, or "local" to resize in this process. Unset: no photo route.
    photos_bucket: str | None = None
    photos_url: str | None = None
    photo_resizer: str | None = None

    @property
    def push_applications(self) -> dict[str, str]:
        """Platform (fcm | apns) -> SNS platform application ARN, for the platforms configured."""
        arns = {"fcm": self.push_application_fcm_arn, "apns": self.push_application_apns_arn}
        return {platform: arn for platform, arn in arns.items() if arn}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping; raise SettingsError naming what is wrong."""

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"environment variable {name} is not set")
            return value

        def number(name: str, default: str) -> float:
            raw = env.get(name, default)
            try:
                value = float(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number, got {raw!r}") from None
            if not (math.isfinite(value) and value > 0):
                raise SettingsError(f"{name} must be a number greater than 0, got {raw!r}")
            return value

        raw_channels = env.get("CHANNELS", "sms")
        names = [c.strip() for c in raw_channels.split(",") if c.strip()]
        allowed = ", ".join(c.value for c in SENDABLE_CHANNELS)
        if not names or any(n not in SENDABLE_CHANNELS for n in names):
            raise SettingsError(
                f"CHANNELS must be a comma-separated list of {allowed}, got {raw_channels!r}"
            )
        channels = tuple(dict.fromkeys(Channel(n) for n in names))

        hash_key_parameter = required("HASH_KEY_PARAMETER")
        if not PARAMETER_NAME.fullmatch(hash_key_parameter):
            raise SettingsError(
                "HASH_KEY_PARAMETER must be an SSM parameter path such as /burgernet/hash-key "
                f"(letters, digits, _ . - /), got {hash_key_parameter!r}"
            )

        tracing = env.get("TRACING", "off").strip().lower()
        if tracing not in TRACING_BACKENDS:
            raise SettingsError(
                f"TRACING must be one of {', '.join(TRACING_BACKENDS)}, got {tracing!r}"
            )

        attestation = env.get("ATTESTATION", "off").strip().lower()
        if attestation not in ATTESTATION_MODES:
            raise SettingsError(
                f"ATTESTATION must be one of {', '.join(ATTESTATION_MODES)}, got {attestation!r}"
            )
        if attestation == "standin" and env.get("STAGE") == "prod":
            # The stand-in accepts tokens anyone with its key makes: never in front of the public.
            raise SettingsError("ATTESTATION=standin is for local and test stages, not prod")
        if attestation == "platform":
            raise SettingsError(
                "ATTESTATION=platform is not available in this build: the Play Integrity and "
                "App Attest verifiers need Google credentials and Apple's root certificate, "
                "which it cannot load yet (docs/api.md, App attestation); use off or standin"
            )

        voice_backend = env.get("VOICE_BACKEND", "connect")
        if voice_backend not in VOICE_BACKENDS:
            raise SettingsError(f"VOICE_BACKEND must be connect or local, got {voice_backend!r}")
        calls = Channel.VOICE in channels and voice_backend == "connect"

        def for_calls(name: str) -> str | None:
            # Needed only when this deployment places real calls.
            return required(name) if calls else env.get(name) or None

        max_concurrent = number("VOICE_MAX_CONCURRENT", "10")
        if max_concurrent != int(max_concurrent):
            raise SettingsError(
                f"VOICE_MAX_CONCURRENT must be a whole number, got {max_concurrent}"
            )

        raw_keep = env.get("KEEP_DESCRIPTIONS_DAYS", "30").strip()
        # At least a day, so results and questions after a close still see the description.
        if not (raw_keep.isascii() and raw_keep.isdigit() and 1 <= int(raw_keep) <= 3650):
            raise SettingsError(
                f"KEEP_DESCRIPTIONS_DAYS must be a whole number of days, 1-3650, got {raw_keep!r}"
            )

        raw_codes = env.get("CODES_PER_HOUR", "5000").strip()
        # A ceiling on what toll fraud or a script can cost in an hour; an alarm fires at it.
        if not (raw_codes.isascii() and raw_codes.isdigit() and 1 <= int(raw_codes) <= 1_000_000):
            raise SettingsError(
                f"CODES_PER_HOUR must be a whole number of codes, 1-1000000, got {raw_codes!r}"
            )

        public_url = required("PUBLIC_URL")
        if not BASE_URL.fullmatch(public_url):
            raise SettingsError(
                "PUBLIC_URL must be an http(s) URL without a trailing slash, such as "
                f"https://www.burgernet.nl, got {public_url!r}"
            )

        raw_networks = env.get("SOCIAL_NETWORKS", "")
        networks = tuple(dict.fromkeys(n.strip() for n in raw_networks.split(",") if n.strip()))
        if any(n not in SOCIAL_NETWORKS for n in networks):
            raise SettingsError(
                f"SOCIAL_NETWORKS must be a comma-separated list of {', '.join(SOCIAL_NETWORKS)} "
                f"(or empty for none), got {raw_networks!r}"
            )
        credentials = required("SOCIAL_CREDENTIALS_PARAMETER") if networks else None
        if credentials is not None and not PARAMETER_NAME.fullmatch(credentials):
            raise SettingsError(
                "SOCIAL_CREDENTIALS_PARAMETER must be an SSM parameter path such as "
                f"/burgernet/social-credentials, got {credentials!r}"
            )
        social_urls = {
            "MASTODON_URL": required("MASTODON_URL") if "mastodon" in networks else None,
            "X_API_URL": env.get("X_API_URL") or X_API,
        }
        for name, url in social_urls.items():
            if url is not None and not BASE_URL.fullmatch(url):
                raise SettingsError(
                    f"{name} must be an http(s) URL without a trailing slash, got {url!r}"
                )
        cap_sender = required("CAP_SENDER")
        if not CAP_SENDER.fullmatch(cap_sender):
            raise SettingsError(
                "CAP_SENDER must be CAP's sender id, such as burgernet@politie.nl "
                f"(no spaces, commas, < or &), got {cap_sender!r}"
            )

        photos_bucket = env.get("PHOTOS_BUCKET") or None
        photos_url = env.get("PHOTOS_URL") or None
        photo_resizer = env.get("PHOTO_RESIZER") or None
        if (photos_url or photo_resizer) and not photos_bucket:
            raise SettingsError("PHOTOS_URL and PHOTO_RESIZER need PHOTOS_BUCKET, the bucket")
        if photos_url and not BASE_URL.fullmatch(photos_url):
            raise SettingsError(
                "PHOTOS_URL must be an http(s) URL without a trailing slash, such as "
                f"https://d111111abcdef8.cloudfront.net, got {photos_url!r}"
            )

        return cls(
            stage=required("STAGE"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or required("AWS_REGION"),
            participants_table=required("PARTICIPANTS_TABLE"),
            places_table=required("PLACES_TABLE"),
            actions_table=required("ACTIONS_TABLE"),
            deliveries_table=required("DELIVERIES_TABLE"),
            idempotency_table=required("IDEMPOTENCY_TABLE"),
            municipalities_table=required("MUNICIPALITIES_TABLE"),
            verifications_table=required("VERIFICATIONS_TABLE"),
            sessions_table=required("SESSIONS_TABLE"),
            ratelimits_table=required("RATELIMITS_TABLE"),
            devices_table=required("DEVICES_TABLE"),
            sightings_table=required("SIGHTINGS_TABLE"),
            hash_key_parameter=hash_key_parameter,
            geocoder_url=required("GEOCODER_URL"),
            voice_backend=voice_backend,
            connect_instance_id=for_calls("CONNECT_INSTANCE_ID"),
            connect_contact_flow_id=for_calls("CONNECT_CONTACT_FLOW_ID"),
            connect_source_number=for_calls("CONNECT_SOURCE_NUMBER"),
            voice_starts_per_second=number("VOICE_STARTS_PER_SECOND", "2"),
            voice_max_concurrent=int(max_concurrent),
            callback_number=required("CALLBACK_NUMBER"),
            sms_sender_id=env.get("SMS_SENDER_ID", "Burgernet"),
            channels=channels,
            sms_per_second=number("SMS_PER_SECOND", "10"),
            push_per_second=number("PUSH_PER_SECOND", "500"),
            tracing=tracing,
            public_url=public_url,
            cap_sender=cap_sender,
            keep_descriptions_days=int(raw_keep),
            codes_per_hour=int(raw_codes),
            push_application_fcm_arn=env.get("PUSH_APPLICATION_FCM_ARN") or None,
            push_application_apns_arn=env.get("PUSH_APPLICATION_APNS_ARN") or None,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            attestation=attestation,
            attestation_standin_key=env.get("ATTESTATION_STANDIN_KEY") or None,
            social_networks=networks,
            social_credentials_parameter=credentials,
            mastodon_url=social_urls["MASTODON_URL"],
            x_api_url=str(social_urls["X_API_URL"]),
            photos_bucket=photos_bucket,
            photos_url=photos_url,
            photo_resizer=photo_resizer,
        )


@cache
def get_settings() -> Settings:
    """The settings of this process, validated on first use (cold start)."""
    return Settings.from_env(os.environ)
