"""Creates the stateful resources of `infra/template.json` in an AWS emulator (moto).

Tests and `make run` both call this, so the emulator's tables and queues are exactly production's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.json"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
STACK_NAME = "burgernet-local"
STATEFUL_TYPES = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SNS::Topic")


def stateful_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template's tables, queues and topics alone (chalice adds the functions in AWS)."""
    template = json.loads(path.read_text())
    resources = {
        name: spec
        for name, spec in template["Resources"].items()
        if spec.get("Type") in STATEFUL_TYPES
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def create_resources(cloudformation: Any) -> None:
    """Deploy the stateful resources as a CloudFormation stack in the emulator."""
    cloudformation.create_stack(StackName=STACK_NAME, TemplateBody=json.dumps(stateful_template()))


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables `.chalice/config.json` gives the functions of a stage."""
    config = json.loads(CHALICE_CONFIG.read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env
