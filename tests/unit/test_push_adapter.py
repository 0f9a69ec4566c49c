"""Removing an app's push endpoint: gone is fine, any other refusal is our own SendFailed."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.push import SnsPush

ARN = "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/burgernet/abc"


class RefusingSns:
    """Answers delete_endpoint with one AWS error code."""

    def __init__(self, code: str) -> None:
        self.code = code

    def delete_endpoint(self, *, EndpointArn: str) -> None:
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "DeleteEndpoint")


def test_an_endpoint_already_gone_is_removed_quietly() -> None:
    """Given SNS says the endpoint is not found, deleting it raises nothing."""
    SnsPush(RefusingSns("NotFound"), {}).delete(ARN)


def test_another_refusal_is_a_send_failed_not_a_botocore_error() -> None:
    """Given SNS refuses the delete for another reason, the caller gets a SendFailed."""
    with pytest.raises(SendFailed) as refused:
        SnsPush(RefusingSns("AuthorizationError"), {}).delete(ARN)
    assert refused.value.code == "AuthorizationError"
    assert not isinstance(refused.value.__cause__, ClientError)
