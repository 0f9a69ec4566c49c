"""Creates the stateful resources of `infra/template.json` in an AWS emulator (moto).

Tests and `make run` both call this, so the emulator's tables and queues are exactly production's.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.json"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
STACK_NAME = "burgernet-local"
STATEFUL_TYPES = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::S3::Bucket")


def stateful_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template's tables, queues, topics and buckets alone (chalice adds the functions)."""
    template = json.loads(path.read_text())
    resources = {
        name: spec
        for name, spec in template["Resources"].items()
        if spec.get("Type") in STATEFUL_TYPES
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def create_resources(cloudformation: Any) -> None:
    """Deploy the stateful resources as a CloudFormation stack in the emulator, and a hash key."""
    cloudformation.create_stack(StackName=STACK_NAME, TemplateBody=json.dumps(stateful_template()))
    # The emulator serves every service on one endpoint; real AWS has one per service.
    endpoint = cloudformation.meta.endpoint_url
    ssm = boto3.client(
        "ssm",
        region_name=cloudformation.meta.region_name,
        endpoint_url=None if endpoint.endswith(".amazonaws.com") else endpoint,
    )
    put_hash_key(ssm)


def put_hash_key(ssm: Any, key: str | None = None) -> str:
    """Store a hash key where HASH_KEY_PARAMETER says (a new random one unless given).

    CloudFormation cannot create a SecureString, so prod makes it by hand (docs/deploy.md); here
    every run gets its own key, so nothing can come to depend on a fixed one.
    """
    key = key or secrets.token_urlsafe(48)
    ssm.put_parameter(Name=hash_key_parameter(), Type="SecureString", Value=key, Overwrite=True)
    return key


def hash_key_parameter() -> str:
    """The SSM parameter name `.chalice/config.json` gives every stage."""
    return str(
        json.loads(CHALICE_CONFIG.read_text())["environment_variables"]["HASH_KEY_PARAMETER"]
    )


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables `.chalice/config.json` gives the functions of a stage."""
    config = json.loads(CHALICE_CONFIG.read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env
