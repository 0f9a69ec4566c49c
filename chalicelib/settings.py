"""One validated settings object, read from the environment once per cold start."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import TypedDict

from chalicelib.domain.expected import Rates
from chalicelib.domain.model import Channel
from chalicelib.domain.social import NETWORKS as SOCIAL_NETWORKS

# The channels this code can send on.
SENDABLE_CHANNELS = (Channel.SMS, Channel.VOICE)
VOICE_BACKENDS = ("connect", "local")  # Amazon Connect, or the local stand-in that records calls
ATTESTATION_MODES = ("off", "standin", "play_integrity")
# What records traces (chalicelib/tracing.py): the X-Ray SDK, the OpenTelemetry API, or nothing.
TRACING_BACKENDS = ("xray", "otel", "off")
# An SSM parameter path; the leading / lets the IAM policy name it as parameter/<path>.
PARAMETER_NAME = re.compile(r"/[A-Za-z0-9_.\-/]{1,1010}")
# CAP 1.2's <sender>: no spaces, commas or restricted characters (< and &).
CAP_SENDER = re.compile(r"[^\s,<&]{1,255}")
# An http(s) URL with no trailing slash, so "{url}/a/{ref}" is a well-formed link.
BASE_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*[^\s/?#])?")
PUBLIC_URL_EXAMPLE = "https://www.burgernet.nl"
PHOTOS_URL_EXAMPLE = "https://d111111abcdef8.cloudfront.net"
GEOCODER_EXAMPLE = "https://api.pdok.nl/bzk/locatieserver/search/v3_1/free"
# Play Integrity: our Android package, its signing certificates (base64url SHA-256, as Google
# reports them), the workload identity pool provider that trusts our AWS account, and the
# service account it impersonates.
ANDROID_PACKAGE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")
CERTIFICATE_DIGEST = re.compile(r"[A-Za-z0-9_-]{43}=?")
WORKLOAD_PROVIDER = re.compile(
    r"//iam\.googleapis\.com/projects/[0-9]+/locations/global/"
    r"workloadIdentityPools/[a-z0-9-]{4,32}/providers/[a-z0-9-]{4,32}"
)
SERVICE_ACCOUNT = re.compile(
    r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com"
)
# The control room's Cognito user pool: <region>_<id>; its sign-in asks a TOTP code, or not.
USER_POOL_ID = re.compile(r"[\w-]+_[0-9a-zA-Z]+")
POOL_EXAMPLE = "eu-west-1_AbC123xyz"
CONTROL_MFA_MODES = ("required", "off")
X_API = "https://api.x.com"  # X's API v2, unless X_API_URL points elsewhere (the local stand-in)
# The control room's map: PDOK's BRT-Achtergrondkaart in Web Mercator (Leaflet's own CRS), unless
# MAP_TILES_URL points elsewhere (the runner's stand-in: no network locally).
MAP_TILES = (
    "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"
)
# An http(s) tile URL template with {z}, {x} and {y} in its path and nothing a page could misread.
TILE_URL = re.compile(r"https?://[^\s/?#\"'<>]+/[^\s?#\"'<>]*")


class SettingsError(RuntimeError):
    """The deployment is misconfigured: names the variable to fix."""


@dataclass(frozen=True)
class Tables:
    """The DynamoDB table names, one per model (dal/models.py binds each model to its own)."""

    participants: str
    places: str
    actions: str
    deliveries: str
    idempotency: str
    municipalities: str
    verifications: str
    sessions: str
    ratelimits: str
    devices: str
    sightings: str


def table_variable(table: str) -> str:
    """The variable that names a table: participants -> PARTICIPANTS_TABLE."""
    return f"{table.upper()}_TABLE"


@dataclass(frozen=True)
class Settings:
    """Everything the functions need to know about their deployment."""

    stage: str
    region: str
    tables: Tables
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
    attestation: str = "off"  # POST /devices checks app attestation: ATTESTATION_MODES
    attestation_standin_key: str | None = None  # the stand-in's key; None: one per process
    # ATTESTATION=play_integrity, where Android push is configured (else None and ()).
    play_integrity_package: str | None = None
    play_integrity_certificates: tuple[str, ...] = ()
    google_workload_provider: str | None = None
    google_service_account: str | None = None
    social_networks: tuple[str, ...] = ()  # where public actions are posted (none: nowhere)
    social_credentials_parameter: str | None = None  # SSM SecureString, JSON, per network
    mastodon_url: str | None = None  # the Mastodon server of Burgernet's account
    x_api_url: str = X_API
    # Exercises stay off social networks unless a region asks (each post then says OEFENING):
    # a followed account is read as news, and a drill there reads as a real search.
    social_post_exercises: bool = False
    # Action photos: the private bucket, where its public/ prefix is served (the CDN), and the
    # resizer Lambda's name, or "local" to resize in this process. Unset: no photo route.
    photos_bucket: str | None = None
    photos_url: str | None = None
    photo_resizer: str | None = None
    # The CDN serving photos_url (CloudFront): a replaced or redacted photo's paths are
    # invalidated there. None (locally): its files are still deleted, nothing is invalidated.
    photos_distribution_id: str | None = None
    map_tiles_url: str = MAP_TILES  # the control room's map tiles: {z}/{x}/{y} template
    # The control room's Cognito user pool and its public app client (None: not configured, and
    # GET /control/config says so); whether its sign-in asks for a TOTP code (CONTROL_MFA).
    control_user_pool_id: str | None = None
    control_client_id: str | None = None
    control_mfa: str = "required"

    @property
    def push_applications(self) -> dict[str, str]:
        """Platform (fcm | apns) -> SNS platform application ARN, for the platforms configured."""
        arns = {"fcm": self.push_application_fcm_arn, "apns": self.push_application_apns_arn}
        return {platform: arn for platform, arn in arns.items() if arn}

    @property
    def rates(self) -> Rates:
        """The rates this deployment sends at, for what a dispatcher is told to expect and for
        the pace targeting releases work at."""
        return Rates(
            sms_per_second=self.sms_per_second,
            voice_starts_per_second=self.voice_starts_per_second,
            voice_lines=self.voice_max_concurrent,
            push_per_second=self.push_per_second,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping; raise SettingsError naming what is wrong."""
        channels = _channels(env)
        return cls(
            stage=_required(env, "STAGE"),
            region=_region(env),
            tables=_tables(env),
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            hash_key_parameter=_parameter(env, "HASH_KEY_PARAMETER", "/burgernet/hash-key"),
            tracing=_choice(env, "TRACING", TRACING_BACKENDS),
            # http(s) only: urllib would also open file: and ftp: URLs (bandit B310).
            geocoder_url=_base_url(
                "GEOCODER_URL", _required(env, "GEOCODER_URL"), GEOCODER_EXAMPLE
            ),
            callback_number=_required(env, "CALLBACK_NUMBER"),
            channels=channels,
            sms_sender_id=env.get("SMS_SENDER_ID", "Burgernet"),
            sms_per_second=_number(env, "SMS_PER_SECOND", "10"),
            # A ceiling on what toll fraud or a script can cost in an hour; an alarm fires at it.
            codes_per_hour=_whole(env, "CODES_PER_HOUR", "5000", "codes", 1_000_000),
            # At least a day, so results and questions after a close still see the description.
            keep_descriptions_days=_whole(env, "KEEP_DESCRIPTIONS_DAYS", "30", "days", 3650),
            public_url=_base_url("PUBLIC_URL", _required(env, "PUBLIC_URL"), PUBLIC_URL_EXAMPLE),
            cap_sender=_cap_sender(env),
            map_tiles_url=_tiles(env),
            **_voice(env, channels),
            **_push(env),
            **_social(env),
            **_photos(env),
            **_control(env),
        )


class _Voice(TypedDict):
    voice_backend: str
    connect_instance_id: str | None
    connect_contact_flow_id: str | None
    connect_source_number: str | None
    voice_starts_per_second: float
    voice_max_concurrent: int


class _Push(TypedDict):
    push_per_second: float
    push_application_fcm_arn: str | None
    push_application_apns_arn: str | None
    attestation: str
    attestation_standin_key: str | None
    play_integrity_package: str | None
    play_integrity_certificates: tuple[str, ...]
    google_workload_provider: str | None
    google_service_account: str | None


class _PlayIntegrity(TypedDict):
    play_integrity_package: str | None
    play_integrity_certificates: tuple[str, ...]
    google_workload_provider: str | None
    google_service_account: str | None


class _Social(TypedDict):
    social_networks: tuple[str, ...]
    social_credentials_parameter: str | None
    mastodon_url: str | None
    x_api_url: str
    social_post_exercises: bool


class _Photos(TypedDict):
    photos_bucket: str | None
    photos_url: str | None
    photo_resizer: str | None
    photos_distribution_id: str | None


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is not set")
    return value


def _number(env: Mapping[str, str], name: str, default: str) -> float:
    raw = env.get(name, default)
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise SettingsError(f"{name} must be a number greater than 0, got {raw!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: str, unit: str, most: int) -> int:
    raw = env.get(name, default).strip()
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= most):
        raise SettingsError(f"{name} must be a whole number of {unit}, 1-{most}, got {raw!r}")
    return int(raw)


def _choice(
    env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str = "off"
) -> str:
    value = env.get(name, default).strip().lower()
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _parameter(env: Mapping[str, str], name: str, example: str) -> str:
    value = _required(env, name)
    if not PARAMETER_NAME.fullmatch(value):
        raise SettingsError(
            f"{name} must be an SSM parameter path such as {example} "
            f"(letters, digits, _ . - /), got {value!r}"
        )
    return value


def _base_url(name: str, value: str, example: str | None = None) -> str:
    if not BASE_URL.fullmatch(value):
        such_as = f", such as {example}" if example else ""
        raise SettingsError(
            f"{name} must be an http(s) URL without a trailing slash{such_as}, got {value!r}"
        )
    return value


def _tiles(env: Mapping[str, str]) -> str:
    value = (env.get("MAP_TILES_URL") or "").strip() or MAP_TILES
    if not TILE_URL.fullmatch(value) or any(p not in value for p in ("{z}", "{x}", "{y}")):
        raise SettingsError(
            "MAP_TILES_URL must be an http(s) tile URL template with {z}, {x} and {y}, "
            f"such as {MAP_TILES}, got {value!r}"
        )
    return value


def _region(env: Mapping[str, str]) -> str:
    # Lambda sets AWS_REGION; boto3's own default is the fallback (tools, tests).
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or _required(env, "AWS_REGION")


def _tables(env: Mapping[str, str]) -> Tables:
    return Tables(**{f.name: _required(env, table_variable(f.name)) for f in fields(Tables)})


def _channels(env: Mapping[str, str]) -> tuple[Channel, ...]:
    raw = env.get("CHANNELS", "sms")
    names = [c.strip() for c in raw.split(",") if c.strip()]
    if not names or any(n not in SENDABLE_CHANNELS for n in names):
        allowed = ", ".join(c.value for c in SENDABLE_CHANNELS)
        raise SettingsError(f"CHANNELS must be a comma-separated list of {allowed}, got {raw!r}")
    return tuple(dict.fromkeys(Channel(n) for n in names))


def _push(env: Mapping[str, str]) -> _Push:
    attestation = _choice(env, "ATTESTATION", ATTESTATION_MODES)
    if attestation == "standin" and env.get("STAGE") == "prod":
        # The stand-in accepts tokens anyone with its key makes: never in front of the public.
        raise SettingsError("ATTESTATION=standin is for local and test stages, not prod")
    fcm = env.get("PUSH_APPLICATION_FCM_ARN") or None
    apns = env.get("PUSH_APPLICATION_APNS_ARN") or None
    if attestation == "play_integrity" and apns:
        # A platform is what the app says it is: iOS unattested would let any script in.
        raise SettingsError(
            "ATTESTATION=play_integrity attests Android only (App Attest is not implemented, "
            "docs/api.md): unset PUSH_APPLICATION_APNS_ARN, or use ATTESTATION=off"
        )
    return _Push(
        push_per_second=_number(env, "PUSH_PER_SECOND", "2500"),
        push_application_fcm_arn=fcm,
        push_application_apns_arn=apns,
        attestation=attestation,
        attestation_standin_key=env.get("ATTESTATION_STANDIN_KEY") or None,
        # Needed only where there is something to attest: no push application, no registrations.
        **(_play_integrity(env) if attestation == "play_integrity" and fcm else _NO_PLAY),
    )


_NO_PLAY = _PlayIntegrity(
    play_integrity_package=None,
    play_integrity_certificates=(),
    google_workload_provider=None,
    google_service_account=None,
)


def _matching(env: Mapping[str, str], name: str, pattern: re.Pattern[str], example: str) -> str:
    value = _required(env, name)
    if not pattern.fullmatch(value):
        raise SettingsError(f"{name} must look like {example}, got {value!r}")
    return value


def _play_integrity(env: Mapping[str, str]) -> _PlayIntegrity:
    raw = _required(env, "PLAY_INTEGRITY_CERTIFICATES")
    certificates = tuple(dict.fromkeys(c.strip() for c in raw.split(",") if c.strip()))
    if not certificates or not all(CERTIFICATE_DIGEST.fullmatch(c) for c in certificates):
        raise SettingsError(
            "PLAY_INTEGRITY_CERTIFICATES must be a comma-separated list of the app's signing "
            "certificates' SHA-256 digests in base64url, as the verdict reports them (43 "
            f"characters, an = at the end allowed; Play Console shows them in hex), got {raw!r}"
        )
    return _PlayIntegrity(
        # Stored without padding; the verifier compares Google's digests the same way.
        play_integrity_certificates=tuple(c.rstrip("=") for c in certificates),
        play_integrity_package=_matching(
            env, "PLAY_INTEGRITY_PACKAGE", ANDROID_PACKAGE, "nl.burgernet.app"
        ),
        google_workload_provider=_matching(
            env,
            "GOOGLE_WORKLOAD_PROVIDER",
            WORKLOAD_PROVIDER,
            "//iam.googleapis.com/projects/123456789012/locations/global/"
            "workloadIdentityPools/burgernet/providers/aws-prod",
        ),
        google_service_account=_matching(
            env,
            "GOOGLE_SERVICE_ACCOUNT",
            SERVICE_ACCOUNT,
            "play-integrity@burgernet-prod.iam.gserviceaccount.com",
        ),
    )


def _voice(env: Mapping[str, str], channels: tuple[Channel, ...]) -> _Voice:
    backend = env.get("VOICE_BACKEND", "connect")
    if backend not in VOICE_BACKENDS:
        raise SettingsError(f"VOICE_BACKEND must be connect or local, got {backend!r}")
    calls = Channel.VOICE in channels and backend == "connect"

    def for_calls(name: str) -> str | None:
        # Needed only when this deployment places real calls.
        return _required(env, name) if calls else env.get(name) or None

    max_concurrent = _number(env, "VOICE_MAX_CONCURRENT", "10")
    if max_concurrent != int(max_concurrent):
        raise SettingsError(f"VOICE_MAX_CONCURRENT must be a whole number, got {max_concurrent}")
    return _Voice(
        voice_backend=backend,
        connect_instance_id=for_calls("CONNECT_INSTANCE_ID"),
        connect_contact_flow_id=for_calls("CONNECT_CONTACT_FLOW_ID"),
        connect_source_number=for_calls("CONNECT_SOURCE_NUMBER"),
        voice_starts_per_second=_number(env, "VOICE_STARTS_PER_SECOND", "2"),
        voice_max_concurrent=int(max_concurrent),
    )


def _social(env: Mapping[str, str]) -> _Social:
    raw = env.get("SOCIAL_NETWORKS", "")
    networks = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if any(n not in SOCIAL_NETWORKS for n in networks):
        raise SettingsError(
            f"SOCIAL_NETWORKS must be a comma-separated list of {', '.join(SOCIAL_NETWORKS)} "
            f"(or empty for none), got {raw!r}"
        )
    credentials = None
    if networks:
        credentials = _parameter(
            env, "SOCIAL_CREDENTIALS_PARAMETER", "/burgernet/social-credentials"
        )
    mastodon = _required(env, "MASTODON_URL") if "mastodon" in networks else None
    return _Social(
        social_networks=networks,
        social_credentials_parameter=credentials,
        mastodon_url=None if mastodon is None else _base_url("MASTODON_URL", mastodon),
        x_api_url=_base_url("X_API_URL", env.get("X_API_URL") or X_API),
        social_post_exercises=_switch(env, "SOCIAL_POST_EXERCISES"),
    )


def _switch(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "false").strip().lower()  # empty, as unset: the default
    if raw not in ("true", "false"):
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


def _cap_sender(env: Mapping[str, str]) -> str:
    value = _required(env, "CAP_SENDER")
    if not CAP_SENDER.fullmatch(value):
        raise SettingsError(
            "CAP_SENDER must be CAP's sender id, such as burgernet@politie.nl "
            f"(no spaces, commas, < or &), got {value!r}"
        )
    return value


def _photos(env: Mapping[str, str]) -> _Photos:
    bucket = env.get("PHOTOS_BUCKET") or None
    url = env.get("PHOTOS_URL") or None
    resizer = env.get("PHOTO_RESIZER") or None
    distribution = (env.get("PHOTOS_DISTRIBUTION_ID") or "").strip() or None
    if (url or resizer or distribution) and not bucket:
        raise SettingsError(
            "PHOTOS_URL, PHOTO_RESIZER and PHOTOS_DISTRIBUTION_ID need PHOTOS_BUCKET, the bucket"
        )
    return _Photos(
        photos_bucket=bucket,
        photos_url=None if url is None else _base_url("PHOTOS_URL", url, PHOTOS_URL_EXAMPLE),
        photo_resizer=resizer,
        photos_distribution_id=distribution,
    )


class _Control(TypedDict):
    control_user_pool_id: str | None
    control_client_id: str | None
    control_mfa: str


def _control(env: Mapping[str, str]) -> _Control:
    pool = (env.get("CONTROL_USER_POOL_ID") or "").strip() or None
    client = (env.get("CONTROL_CLIENT_ID") or "").strip() or None
    if (pool is None) != (client is None):
        raise SettingsError("CONTROL_USER_POOL_ID and CONTROL_CLIENT_ID are set together or not")
    if pool is not None and not USER_POOL_ID.fullmatch(pool):
        raise SettingsError(f"CONTROL_USER_POOL_ID must be a pool id such as {POOL_EXAMPLE}")
    mfa = _choice(env, "CONTROL_MFA", CONTROL_MFA_MODES, default="required")
    if mfa == "off" and env.get("STAGE") == "prod":
        raise SettingsError("CONTROL_MFA=off is for local use; prod requires MFA")
    return _Control(control_user_pool_id=pool, control_client_id=client, control_mfa=mfa)


@cache
def get_settings() -> Settings:
    """The settings of this process, validated on first use (cold start)."""
    return Settings.from_env(os.environ)
