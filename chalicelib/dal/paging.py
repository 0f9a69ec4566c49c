"""Page tokens for the list routes: the key where a page ended, opaque to the client.

A token holds only the key values that locate the page; the values the query fixes itself (an
action's status, a sighting's action) are put back from the query, so a token cannot steer a
read elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain.errors import InvalidInput

MAX_VALUE = 100  # longer than any key value we page by (a sighting id is 69 characters)


def encode_page(key: Mapping[str, Any], names: Sequence[str]) -> str:
    """The token of a page that ended at `key` (DynamoDB's LastEvaluatedKey)."""
    values = [key[name]["S"] for name in names]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_page(
    token: str | None, names: Sequence[str], fixed: Mapping[str, str]
) -> dict[str, Any] | None:
    """The ExclusiveStartKey of a token (None for the first page); invalid_page_token if forged."""
    if token is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        values = None
    if not (
        isinstance(values, list)
        and len(values) == len(names)
        and all(isinstance(v, str) and 0 < len(v) <= MAX_VALUE for v in values)
    ):
        raise InvalidInput(
            "invalid_page_token", "next must be a token from an earlier page's response.", "next"
        )
    key = {name: {"S": value} for name, value in zip(names, values, strict=True)}
    key.update({name: {"S": value} for name, value in fixed.items()})
    return key
