"""Cached boto3 client factory: one client per service (and retry policy) per process."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.settings import get_settings

# botocore retries a call whose answer it did not get. That is right for reads, writes the ledger
# conditions, and Connect (its ClientToken makes a repeated start place no second call); it is
# wrong for SNS Publish, which has no idempotency token: a timed-out publish that SNS did accept
# would go out twice. Those sends get one attempt, and the ledger alone decides what comes next.
RETRYING = Config(retries={"mode": "standard", "max_attempts": 3})
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


@cache
def client(service: str, retries: bool = True) -> Any:
    """A boto3 client for `service`, pointed at the configured region and endpoint.

    `retries=False` is for calls that are not idempotent (SNS Publish): botocore tries them once.
    """
    settings = get_settings()
    return boto3.client(
        service,
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=RETRYING if retries else ONE_ATTEMPT,
    )
