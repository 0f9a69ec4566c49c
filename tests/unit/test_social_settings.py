"""Posting is configured by SOCIAL_NETWORKS and its URLs; a mistake names the variable to fix."""

from __future__ import annotations

import pytest

from chalicelib.settings import Settings, SettingsError
from tools.emulator import stage_environment


def complete(**changes: str) -> dict[str, str]:
    """The test stage's environment as chalice gives it, plus the region Lambda sets."""
    return {**stage_environment("test"), "AWS_REGION": "eu-west-1", **changes}


def error_for(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    return str(raised.value)


def test_given_no_networks_when_read_then_nothing_is_posted_and_nothing_else_is_needed() -> None:
    settings = Settings.from_env(complete(SOCIAL_NETWORKS=""))
    assert settings.social_networks == ()
    assert settings.social_credentials_parameter is None


def test_given_both_networks_when_read_then_each_has_its_server() -> None:
    settings = Settings.from_env(
        complete(SOCIAL_NETWORKS=" x, mastodon ,x", MASTODON_URL="https://social.overheid.nl")
    )
    assert settings.social_networks == ("x", "mastodon")
    assert settings.mastodon_url == "https://social.overheid.nl"
    assert settings.x_api_url == "https://api.x.com"
    assert settings.social_credentials_parameter == "/burgernet/social-credentials"


@pytest.mark.parametrize("raw", ["twitter", "mastodon;x", "x,bluesky"])
def test_given_an_unknown_network_when_read_then_the_error_names_the_allowed(raw: str) -> None:
    message = error_for(complete(SOCIAL_NETWORKS=raw, MASTODON_URL="https://m.nl"))
    assert "SOCIAL_NETWORKS" in message and "mastodon, x" in message


def test_given_mastodon_without_its_server_when_read_then_the_error_names_it() -> None:
    assert "MASTODON_URL" in error_for(complete(SOCIAL_NETWORKS="mastodon"))


def test_given_networks_without_a_credentials_parameter_when_read_then_the_error_names_it() -> None:
    message = error_for(complete(SOCIAL_NETWORKS="x", SOCIAL_CREDENTIALS_PARAMETER=""))
    assert "SOCIAL_CREDENTIALS_PARAMETER" in message


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("PUBLIC_URL", "https://www.burgernet.nl/"),
        ("PUBLIC_URL", "www.burgernet.nl"),
        ("PUBLIC_URL", "ftp://burgernet.nl"),
        ("MASTODON_URL", "https://social.overheid.nl/"),
        ("X_API_URL", "api.x.com"),
    ],
)
def test_given_a_url_with_a_trailing_slash_or_no_scheme_when_read_then_the_error_names_it(
    name: str, raw: str
) -> None:
    env = complete(**{"SOCIAL_NETWORKS": "mastodon,x", "MASTODON_URL": "https://m.nl", name: raw})
    assert name in error_for(env)


def test_given_no_public_url_when_read_then_the_error_names_it() -> None:
    env = complete()
    env.pop("PUBLIC_URL")
    assert "PUBLIC_URL" in error_for(env)


def test_given_a_public_url_with_a_path_when_read_then_it_is_kept() -> None:
    settings = Settings.from_env(complete(PUBLIC_URL="https://example.nl/burgernet"))
    assert settings.public_url == "https://example.nl/burgernet"


def test_given_nothing_said_exercises_are_not_posted_and_a_region_can_switch_them_on() -> None:
    assert Settings.from_env(complete()).social_post_exercises is False
    assert Settings.from_env(complete(SOCIAL_POST_EXERCISES="")).social_post_exercises is False
    assert Settings.from_env(complete(SOCIAL_POST_EXERCISES=" True ")).social_post_exercises


@pytest.mark.parametrize("raw", ["yes", "1", "on", "no"])
def test_given_a_switch_that_is_not_true_or_false_the_error_says_which_are(raw: str) -> None:
    message = error_for(complete(SOCIAL_POST_EXERCISES=raw))
    assert message == f"SOCIAL_POST_EXERCISES must be true or false, got {raw!r}"
