"""Keyed pseudonyms and the key they need: HMAC under a key from SSM, or no start at all."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.parameters import HashKeyUnavailable, read_hash_key
from chalicelib.dal import pseudonyms as bound
from chalicelib.domain.pseudonyms import Pseudonymiser

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NAME = "/burgernet/hash-key"
PHONE = "+31612345678"


class FakeSsm:
    """Answers get_parameter as SSM does, from one stored parameter (or none)."""

    def __init__(self, parameter: dict[str, Any] | None) -> None:
        self.parameter = parameter
        self.asked: list[dict[str, Any]] = []

    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict[str, Any]:
        self.asked.append({"Name": Name, "WithDecryption": WithDecryption})
        if self.parameter is None:
            error = {"Error": {"Code": "ParameterNotFound", "Message": ""}}
            raise ClientError(error, "GetParameter")  # type: ignore[arg-type]
        return {"Parameter": {"Name": Name, **self.parameter}}


def test_the_same_number_gets_different_pseudonyms_under_different_keys() -> None:
    one, other = Pseudonymiser(KEY), Pseudonymiser(OTHER_KEY)

    assert one.of("caller", PHONE) == Pseudonymiser(KEY).of("caller", PHONE)  # stable
    assert one.of("caller", PHONE) != other.of("caller", PHONE)
    assert one.of("caller", PHONE) != one.of("ratelimit", PHONE)  # one index can't join another
    assert one.of("caller", PHONE) != hashlib.sha256(f"caller:{PHONE}".encode()).hexdigest()


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Pseudonymiser(b"k" * 31)


def test_the_key_never_shows_in_a_repr() -> None:
    assert "kkkk" not in repr(Pseudonymiser(KEY))


def test_hashing_before_a_key_is_bound_fails_instead_of_writing_unfindable_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bound, "_bound", [])

    with pytest.raises(RuntimeError, match="no hash key bound"):
        bound.pseudonym("caller", PHONE)


def test_the_key_is_read_decrypted_from_its_securestring() -> None:
    ssm = FakeSsm({"Type": "SecureString", "Value": "s" * 64})

    assert read_hash_key(ssm, NAME) == b"s" * 64
    assert ssm.asked == [{"Name": NAME, "WithDecryption": True}]


@pytest.mark.parametrize(
    ("parameter", "says"),
    [
        pytest.param(None, "ParameterNotFound", id="missing"),
        pytest.param({"Type": "String", "Value": "s" * 64}, "must be a SecureString", id="plain"),
        pytest.param({"Type": "SecureString", "Value": "s" * 31}, "at least 32", id="short"),
    ],
)
def test_a_missing_or_unfit_key_stops_the_cold_start_naming_the_parameter(
    parameter: dict[str, Any] | None, says: str
) -> None:
    with pytest.raises(HashKeyUnavailable) as raised:
        read_hash_key(FakeSsm(parameter), NAME)

    assert NAME in str(raised.value) and "HASH_KEY_PARAMETER" in str(raised.value)
    assert says in str(raised.value)
