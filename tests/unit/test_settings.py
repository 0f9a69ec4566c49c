"""A misconfigured deployment fails at cold start with a message naming the variable to fix."""

from __future__ import annotations

import pytest

from chalicelib.domain.model import Channel
from chalicelib.settings import Settings, SettingsError, get_settings
from tools.emulator import stage_environment

REQUIRED = (
    "STAGE",
    "PARTICIPANTS_TABLE",
    "PLACES_TABLE",
    "ACTIONS_TABLE",
    "DELIVERIES_TABLE",
    "IDEMPOTENCY_TABLE",
    "CALLBACK_NUMBER",
    "HASH_KEY_PARAMETER",
    "PUBLIC_URL",
    "CAP_SENDER",
)


def complete(**changes: str) -> dict[str, str]:
    """The test stage's environment as chalice gives it, plus the region Lambda sets."""
    return {**stage_environment("test"), "AWS_REGION": "eu-west-1", **changes}


def without(*names: str) -> dict[str, str]:
    env = complete()
    for name in names:
        env.pop(name, None)
    return env


def error_for(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    return str(raised.value)


# --- a complete environment --------------------------------------------------------------------


def test_given_the_test_stage_environment_when_read_then_settings_reflect_it() -> None:
    env = complete()
    settings = Settings.from_env(env)
    assert settings.stage == "test"
    assert settings.region == "eu-west-1"
    assert settings.tables.participants == env["PARTICIPANTS_TABLE"]
    assert settings.tables.places == env["PLACES_TABLE"]
    assert settings.tables.actions == env["ACTIONS_TABLE"]
    assert settings.tables.deliveries == env["DELIVERIES_TABLE"]
    assert settings.tables.idempotency == env["IDEMPOTENCY_TABLE"]
    assert settings.callback_number == env["CALLBACK_NUMBER"]
    assert settings.sms_sender_id == env["SMS_SENDER_ID"]
    assert settings.channels == (Channel.SMS,)
    assert settings.sms_per_second == float(env["SMS_PER_SECOND"])
    assert settings.tracing == "off"
    assert settings.endpoint_url is None


@pytest.mark.parametrize("stage", ["local", "test", "prod"])
def test_given_any_configured_stage_when_read_then_it_builds(stage: str) -> None:
    settings = Settings.from_env({**stage_environment(stage), "AWS_REGION": "eu-west-1"})
    assert settings.stage == stage
    # Deployed, X-Ray records traces; locally and in tests nothing does unless a test asks.
    assert settings.tracing == ("xray" if stage == "prod" else "off")


def test_given_only_the_default_region_when_read_then_it_is_used() -> None:
    env = without("AWS_REGION")
    env["AWS_DEFAULT_REGION"] = "eu-central-1"
    assert Settings.from_env(env).region == "eu-central-1"


def test_given_optional_variables_left_out_when_read_then_defaults_apply() -> None:
    settings = Settings.from_env(without("SMS_SENDER_ID", "CHANNELS", "SMS_PER_SECOND", "TRACING"))
    assert settings.sms_sender_id == "Burgernet"
    assert settings.channels == (Channel.SMS,)
    assert settings.sms_per_second == 10
    assert settings.tracing == "off"


def test_given_an_emulator_endpoint_when_read_then_it_is_used() -> None:
    settings = Settings.from_env(complete(AWS_ENDPOINT_URL="http://127.0.0.1:5000"))
    assert settings.endpoint_url == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sms", (Channel.SMS,)),
        (" sms ", (Channel.SMS,)),
        ("sms,sms", (Channel.SMS,)),
    ],
)
def test_given_valid_channels_when_read_then_they_are_parsed(
    raw: str, expected: tuple[Channel, ...]
) -> None:
    assert Settings.from_env(complete(CHANNELS=raw)).channels == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("xray", "xray"), ("OTel", "otel"), (" off ", "off"), ("off", "off")]
)
def test_given_a_tracing_backend_when_read_then_it_is_chosen(raw: str, expected: str) -> None:
    assert Settings.from_env(complete(TRACING=raw)).tracing == expected


@pytest.mark.parametrize(("raw", "expected"), [("2", 2.0), ("0.5", 0.5), (" 20 ", 20.0)])
def test_given_a_positive_sms_rate_when_read_then_it_is_parsed(raw: str, expected: float) -> None:
    assert Settings.from_env(complete(SMS_PER_SECOND=raw)).sms_per_second == expected


# --- what is missing is named ------------------------------------------------------------------


@pytest.mark.parametrize("name", REQUIRED)
def test_given_a_required_variable_missing_when_read_then_the_error_names_it(name: str) -> None:
    assert name in error_for(without(name))


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("blank", ["", "   "])
def test_given_a_required_variable_blank_when_read_then_the_error_names_it(
    name: str, blank: str
) -> None:
    assert name in error_for(complete(**{name: blank}))


def test_given_no_region_at_all_when_read_then_the_error_names_aws_region() -> None:
    assert "AWS_REGION" in error_for(without("AWS_REGION", "AWS_DEFAULT_REGION"))


def test_given_an_empty_region_when_read_then_the_error_names_aws_region() -> None:
    env = complete(AWS_REGION="")
    env.pop("AWS_DEFAULT_REGION", None)
    assert "AWS_REGION" in error_for(env)


# --- bad values are explained ------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["fax", "sms,fax", "SMS", "sms;voice", "email", ","])
def test_given_channels_it_cannot_send_on_when_read_then_the_error_names_the_allowed(
    raw: str,
) -> None:
    message = error_for(complete(CHANNELS=raw))
    assert "CHANNELS" in message
    assert "list of sms, voice" in message
    assert repr(raw) in message


@pytest.mark.parametrize(
    "name", ["CONNECT_INSTANCE_ID", "CONNECT_CONTACT_FLOW_ID", "CONNECT_SOURCE_NUMBER"]
)
def test_given_real_calls_without_their_connect_setting_when_read_then_the_error_names_it(
    name: str,
) -> None:
    connect = {
        "CONNECT_INSTANCE_ID": "i-1",
        "CONNECT_CONTACT_FLOW_ID": "f-1",
        "CONNECT_SOURCE_NUMBER": "+31800001100",
    }
    connect.pop(name)
    message = error_for(complete(CHANNELS="sms,voice", VOICE_BACKEND="connect", **connect))
    assert name in message


def test_given_the_local_voice_stand_in_when_read_then_no_connect_settings_are_needed() -> None:
    settings = Settings.from_env(complete(CHANNELS="sms,voice", VOICE_BACKEND="local"))
    assert settings.channels == (Channel.SMS, Channel.VOICE)
    assert settings.connect_instance_id is None


@pytest.mark.parametrize("raw", ["0", "1.5", "x"])
def test_given_a_bad_line_count_when_read_then_the_error_names_it(raw: str) -> None:
    assert "VOICE_MAX_CONCURRENT" in error_for(complete(VOICE_MAX_CONCURRENT=raw))


@pytest.mark.parametrize("raw", ["", " ", ",", " , "])
def test_given_no_channels_when_read_then_the_error_says_one_is_needed(raw: str) -> None:
    assert "CHANNELS" in error_for(complete(CHANNELS=raw))


@pytest.mark.parametrize("raw", ["on", "yes", "true", "1", "", "enabled", "x-ray"])
def test_given_a_bad_tracing_value_when_read_then_the_error_names_tracing(raw: str) -> None:
    message = error_for(complete(TRACING=raw))
    assert "TRACING" in message
    assert "xray" in message and "otel" in message and "off" in message


@pytest.mark.parametrize("raw", ["fast", "", "10/s", "1,5", "ten"])
def test_given_a_non_numeric_sms_rate_when_read_then_the_error_names_it(raw: str) -> None:
    message = error_for(complete(SMS_PER_SECOND=raw))
    assert "SMS_PER_SECOND" in message
    assert "number" in message


@pytest.mark.parametrize("raw", ["0", "0.0", "-1", "-0.5"])
def test_given_a_zero_or_negative_sms_rate_when_read_then_the_error_names_it(raw: str) -> None:
    message = error_for(complete(SMS_PER_SECOND=raw))
    assert "SMS_PER_SECOND" in message
    assert repr(raw) in message


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "Infinity"])
def test_given_a_non_finite_sms_rate_when_read_then_the_error_names_it(raw: str) -> None:
    # Either would switch pacing off altogether: the limiter never waits at a rate of nan or inf.
    assert "SMS_PER_SECOND" in error_for(complete(SMS_PER_SECOND=raw))


# --- the process's settings --------------------------------------------------------------------


def test_given_the_process_environment_when_settings_are_first_used_then_they_come_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in complete(STAGE="test", PLACES_TABLE="places-from-env").items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert get_settings().tables.places == "places-from-env"
    finally:
        get_settings.cache_clear()


def test_given_a_process_environment_missing_a_table_when_settings_are_used_then_it_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in complete().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ACTIONS_TABLE")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="ACTIONS_TABLE"):
            get_settings()
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("raw", ["burgernet/hash-key", "/burgernet/hash key", "/burgernet/clé"])
def test_given_a_hash_key_parameter_that_is_no_ssm_path_when_read_then_the_error_names_it(
    raw: str,
) -> None:
    message = error_for(complete(HASH_KEY_PARAMETER=raw))
    assert "HASH_KEY_PARAMETER" in message and "/burgernet/hash-key" in message


def test_given_the_configured_hash_key_parameter_when_read_then_it_is_kept() -> None:
    assert Settings.from_env(complete()).hash_key_parameter == "/burgernet/hash-key"


def test_given_no_code_budget_when_read_then_it_is_sized_for_the_real_system() -> None:
    assert Settings.from_env(complete()).codes_per_hour == 5000
    assert Settings.from_env(complete(CODES_PER_HOUR="120")).codes_per_hour == 120


@pytest.mark.parametrize("raw", ["0", "-5", "1.5", "lots", "", "1e3", "2000000"])
def test_given_a_bad_code_budget_when_read_then_the_error_names_it(raw: str) -> None:
    assert "CODES_PER_HOUR" in error_for(complete(CODES_PER_HOUR=raw))


# --- the public face: where it is served, who signs its CAP messages ---------------------------


@pytest.mark.parametrize(
    "raw",
    ["www.burgernet.nl", "ftp://burgernet.nl", "https://", "https://x.nl/?a=1", "https://x#y"],
)
def test_given_a_public_url_that_is_no_base_url_when_read_then_the_error_names_it(raw: str) -> None:
    assert "PUBLIC_URL" in error_for(complete(PUBLIC_URL=raw))


@pytest.mark.parametrize(
    "raw", ["file:///etc/passwd", "ftp://api.pdok.nl/free", "api.pdok.nl/bzk/locatieserver"]
)
def test_given_a_geocoder_url_that_is_not_http_when_read_then_the_error_names_it(raw: str) -> None:
    """The adapter hands it to urllib, which would open a local file just as readily."""
    assert "GEOCODER_URL" in error_for(complete(GEOCODER_URL=raw))


@pytest.mark.parametrize("raw", ["burgernet politie", "a,b", "<burgernet>", "a&b"])
def test_given_a_cap_sender_cap_forbids_when_read_then_the_error_names_it(raw: str) -> None:
    assert "CAP_SENDER" in error_for(complete(CAP_SENDER=raw))


# --- photos ----------------------------------------------------------------------------------


def test_photos_are_optional_per_function_but_need_their_bucket() -> None:
    no_photos = Settings.from_env(without("PHOTOS_BUCKET", "PHOTOS_URL", "PHOTO_RESIZER"))
    assert (no_photos.photos_bucket, no_photos.photos_url, no_photos.photo_resizer) == (None,) * 3
    # The resizer function gets the bucket alone.
    assert Settings.from_env(without("PHOTOS_URL", "PHOTO_RESIZER")).photos_bucket
    assert "PHOTOS_BUCKET" in error_for(without("PHOTOS_BUCKET"))


def test_the_photos_cdn_is_optional_and_names_the_bucket_it_needs() -> None:
    # Locally there is no CDN: photos taken back are deleted, nothing is invalidated.
    assert Settings.from_env(complete()).photos_distribution_id is None
    # The sweeper gets the bucket and the distribution, not the URL or the resizer.
    sweeper = Settings.from_env(
        complete(PHOTOS_DISTRIBUTION_ID="E2QWRUHEXAMPLE") | {"PHOTOS_URL": "", "PHOTO_RESIZER": ""}
    )
    assert (sweeper.photos_bucket is not None, sweeper.photos_distribution_id) == (
        True,
        "E2QWRUHEXAMPLE",
    )
    no_bucket = without("PHOTOS_BUCKET", "PHOTOS_URL", "PHOTO_RESIZER")
    assert "PHOTOS_BUCKET" in error_for(no_bucket | {"PHOTOS_DISTRIBUTION_ID": "E2QWRUHEXAMPLE"})


@pytest.mark.parametrize("raw", ["d1.cloudfront.net", "https://d1.cloudfront.net/", "https://x?a"])
def test_a_photos_url_is_a_base_url_like_the_public_url(raw: str) -> None:
    assert "PHOTOS_URL" in error_for(complete(PHOTOS_URL=raw))


# --- the control room's map --------------------------------------------------------------------


def test_the_control_rooms_map_is_pdoks_unless_told_otherwise() -> None:
    assert Settings.from_env(complete()).map_tiles_url == (
        "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"
    )
    standin = "http://127.0.0.1:5003/tiles/{z}/{x}/{y}.png"
    assert Settings.from_env(complete(MAP_TILES_URL=standin)).map_tiles_url == standin


@pytest.mark.parametrize(
    "raw",
    [
        "file:///tiles/{z}/{x}/{y}.png",
        "https://tiles.example/{z}/{x}.png",  # no {y}
        "https://tiles.example/{z}/{x}/{y}.png?key=1",  # a query the page would pass on
        'https://tiles.example/"{z}/{x}/{y}.png',
        "tiles.example/{z}/{x}/{y}.png",
    ],
)
def test_a_map_tiles_url_is_an_http_tile_template(raw: str) -> None:
    assert "MAP_TILES_URL" in error_for(complete(MAP_TILES_URL=raw))


def test_the_control_rooms_pool_is_optional_and_needs_its_app_client() -> None:
    assert Settings.from_env(complete()).control_user_pool_id is None
    both = Settings.from_env(
        complete(CONTROL_USER_POOL_ID="eu-west-1_AbC123xyz", CONTROL_CLIENT_ID="3n4b5urk1f")
    )
    assert (both.control_user_pool_id, both.control_mfa) == ("eu-west-1_AbC123xyz", "required")
    assert "CONTROL_CLIENT_ID" in error_for(complete(CONTROL_USER_POOL_ID="eu-west-1_AbC123xyz"))
    assert "CONTROL_USER_POOL_ID" in error_for(complete(CONTROL_CLIENT_ID="3n4b5urk1f"))
    bad = complete(CONTROL_USER_POOL_ID="arn:aws:cognito-idp:…", CONTROL_CLIENT_ID="3n4b5urk1f")
    assert "eu-west-1_AbC123xyz" in error_for(bad)


def test_mfa_can_be_off_locally_but_never_in_prod() -> None:
    assert Settings.from_env(complete(CONTROL_MFA="off")).control_mfa == "off"
    assert "prod requires MFA" in error_for(complete(STAGE="prod", CONTROL_MFA="off"))
    assert "CONTROL_MFA" in error_for(complete(CONTROL_MFA="sometimes"))
