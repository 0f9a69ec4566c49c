"""Secrets from SSM Parameter Store (SecureString, decrypted with KMS on read)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.pseudonyms import MIN_KEY_BYTES


class ParameterClient(Protocol):
    """The part of boto3's SSM client this adapter uses."""

    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict[str, Any]: ...


class HashKeyUnavailable(RuntimeError):
    """The deployment's hash key is missing or unfit: names the parameter to fix."""


class CredentialsUnavailable(RuntimeError):
    """The social networks' credentials are missing or unfit: names the parameter and the key."""


def _secure_string(ssm: ParameterClient, name: str, setting: str, error: type[RuntimeError]) -> str:
    """The value of the SecureString at `name`; `error` names `setting` when it cannot be read."""
    try:
        parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    except (ClientError, BotoCoreError) as exc:
        # ParameterNotFound, AccessDenied, ...: the cold start fails and says where to look.
        code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
        raise error(f"cannot read SSM parameter {name} ({setting}): {code}") from None
    # A plain String is readable by anyone with ssm:GetParameter*, without KMS: refuse it.
    if parameter.get("Type") != "SecureString":
        raise error(
            f"SSM parameter {name} ({setting}) must be a SecureString, is {parameter.get('Type')}"
        )
    return str(parameter["Value"])


def read_hash_key(ssm: ParameterClient, name: str) -> bytes:
    """The hash key stored as a SecureString at `name` (HASH_KEY_PARAMETER), as bytes."""
    key = _secure_string(ssm, name, "HASH_KEY_PARAMETER", HashKeyUnavailable).encode()
    if len(key) < MIN_KEY_BYTES:
        raise HashKeyUnavailable(
            f"SSM parameter {name} (HASH_KEY_PARAMETER) must hold at least {MIN_KEY_BYTES} "
            "random characters (e.g. openssl rand -base64 48)"
        )
    return key


def read_social_credentials(
    ssm: ParameterClient, name: str, needed: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, str]]:
    """Each network's credentials from the JSON SecureString at `name`
    (SOCIAL_CREDENTIALS_PARAMETER): {"<network>": {"<key>": "<value>", ...}, ...}.

    `needed` lists the keys each network must have; an error names what is missing, never a value.
    """
    setting = "SOCIAL_CREDENTIALS_PARAMETER"
    try:
        stored = json.loads(_secure_string(ssm, name, setting, CredentialsUnavailable))
    except ValueError:
        raise CredentialsUnavailable(f"SSM parameter {name} ({setting}) is not JSON") from None
    credentials = {}
    for network, keys in needed.items():
        given = stored.get(network) if isinstance(stored, dict) else None
        given = given if isinstance(given, dict) else {}
        missing = [k for k in keys if not given.get(k)]
        if missing:
            raise CredentialsUnavailable(
                f"SSM parameter {name} ({setting}) lacks {network}: {', '.join(missing)}"
            )
        credentials[network] = {k: str(given[k]) for k in keys}
    return credentials
