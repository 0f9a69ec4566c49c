"""Secrets from SSM Parameter Store (SecureString, decrypted with KMS on read)."""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.pseudonyms import MIN_KEY_BYTES


class ParameterClient(Protocol):
    """The part of boto3's SSM client this adapter uses."""

    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict[str, Any]: ...


class HashKeyUnavailable(RuntimeError):
    """The deployment's hash key is missing or unfit: names the parameter to fix."""


def read_hash_key(ssm: ParameterClient, name: str) -> bytes:
    """The hash key stored as a SecureString at `name` (HASH_KEY_PARAMETER), as bytes."""
    try:
        parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    except (ClientError, BotoCoreError) as exc:
        # ParameterNotFound, AccessDenied, ...: the cold start fails and says where to look.
        code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
        raise HashKeyUnavailable(
            f"cannot read SSM parameter {name} (HASH_KEY_PARAMETER): {code}"
        ) from None
    # A plain String is readable by anyone with ssm:GetParameter*, without KMS: refuse it.
    if parameter.get("Type") != "SecureString":
        raise HashKeyUnavailable(
            f"SSM parameter {name} (HASH_KEY_PARAMETER) must be a SecureString, "
            f"is {parameter.get('Type')}"
        )
    key = str(parameter["Value"]).encode()
    if len(key) < MIN_KEY_BYTES:
        raise HashKeyUnavailable(
            f"SSM parameter {name} (HASH_KEY_PARAMETER) must hold at least {MIN_KEY_BYTES} "
            "random characters (e.g. openssl rand -base64 48)"
        )
    return key
