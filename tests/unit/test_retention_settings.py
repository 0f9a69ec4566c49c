"""KEEP_DESCRIPTIONS_DAYS: how long a closed action keeps its free text; a bad value fails fast."""

from __future__ import annotations

import pytest

from chalicelib.settings import Settings, SettingsError
from tools.emulator import stage_environment


def env(**changes: str) -> dict[str, str]:
    return {**stage_environment("test"), "AWS_REGION": "eu-west-1", **changes}


def test_descriptions_are_kept_thirty_days_unless_told_otherwise() -> None:
    assert Settings.from_env(env()).keep_descriptions_days == 30
    assert Settings.from_env(env(KEEP_DESCRIPTIONS_DAYS="7")).keep_descriptions_days == 7


@pytest.mark.parametrize("value", ["0", "-1", "3.5", "thirty", "", "3651", "١٢"])
def test_a_bad_keep_descriptions_days_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="KEEP_DESCRIPTIONS_DAYS"):
        Settings.from_env(env(KEEP_DESCRIPTIONS_DAYS=value))
