"""Cached boto3 client factory: one client per service per process, created on first use."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.settings import get_settings


@cache
def client(service: str) -> Any:
    """A boto3 client for `service`, pointed at the configured region and endpoint."""
    settings = get_settings()
    return boto3.client(
        service,
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
