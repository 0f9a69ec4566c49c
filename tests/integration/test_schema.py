"""One source of truth: the models, chalice's config and infra/template.json describe one schema.

A drift between them is only noticed in AWS (a query on an index the table lacks, a message
redelivered while its handler still runs), so it is checked here, before deploying.
"""

from __future__ import annotations

import importlib.resources
import inspect
import json
from typing import Any

import pytest
from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.dal.models import TABLES
from chalicelib.domain.expected import SNS_PUBLISH_PER_SECOND
from chalicelib.domain.model import Channel
from chalicelib.domain.receipts import SENDER_CUT_OFF
from chalicelib.logic.work import SEND_CHUNK
from chalicelib.queues import (
    CODES_QUEUE,
    PUSH_QUEUE,
    SEND_BUDGET_S,
    SENDER_TIMEOUT_S,
    SENDERS,
    SMS_QUEUE,
    SOCIAL_QUEUE,
    TARGETING_QUEUE,
    VOICE_QUEUE,
)
from chalicelib.settings import Settings, table_variable
from tools.emulator import CHALICE_CONFIG, TEMPLATE, stage_environment

RESOURCES: dict[str, dict[str, Any]] = json.loads(TEMPLATE.read_text())["Resources"]
CONFIG: dict[str, Any] = json.loads(CHALICE_CONFIG.read_text())
STAGES = sorted(CONFIG["stages"])
QUEUE_HANDLERS = {
    TARGETING_QUEUE: "targeting_worker",
    SMS_QUEUE: "sms_sender",
    VOICE_QUEUE: "voice_sender",
    PUSH_QUEUE: "push_sender",
    CODES_QUEUE: "code_sender",
    SOCIAL_QUEUE: "social_poster",
}
SENDER_QUEUES = {Channel.SMS: SMS_QUEUE, Channel.VOICE: VOICE_QUEUE, Channel.PUSH: PUSH_QUEUE}


def resources_of(kind: str) -> dict[str, dict[str, Any]]:
    """Logical id -> properties of every resource of one CloudFormation type."""
    return {
        name: spec.get("Properties", {})
        for name, spec in RESOURCES.items()
        if spec.get("Type") == kind
    }


TEMPLATE_TABLES = {p["TableName"]: p for p in resources_of("AWS::DynamoDB::Table").values()}
TEMPLATE_QUEUES = {p["QueueName"]: p for p in resources_of("AWS::SQS::Queue").values()}


def env_var(setting: str) -> str:
    """The variable behind a Tables field: participants -> PARTICIPANTS_TABLE."""
    return table_variable(setting)


def template_table(model: type[Model], stage: str = "prod") -> dict[str, Any]:
    setting = TABLES[model]
    name = stage_environment(stage).get(env_var(setting))
    assert name, f"{stage} stage sets no {env_var(setting)} for {model.__name__}"
    assert name in TEMPLATE_TABLES, f"{model.__name__}: table {name!r} is not in the template"
    return TEMPLATE_TABLES[name]


def key_schema(
    attributes: dict[str, Attribute[Any]],
) -> dict[str, tuple[str, str]]:
    """HASH/RANGE -> (attribute name, type) of a model's or an index's attributes."""
    keys = {}
    for attribute in attributes.values():
        if attribute.is_hash_key:
            keys["HASH"] = (attribute.attr_name, attribute.attr_type)
        if attribute.is_range_key:
            keys["RANGE"] = (attribute.attr_name, attribute.attr_type)
    return keys


def template_key_schema(
    schema: list[dict[str, str]], definitions: list[dict[str, str]]
) -> dict[str, tuple[str, str]]:
    types = {d["AttributeName"]: d["AttributeType"] for d in definitions}
    return {k["KeyType"]: (k["AttributeName"], types.get(k["AttributeName"], "?")) for k in schema}


def model_indexes(model: type[Model]) -> list[GlobalSecondaryIndex[Any]]:
    return [
        index
        for _, index in inspect.getmembers(model, lambda v: isinstance(v, GlobalSecondaryIndex))
    ]


MODELS = [pytest.param(model, id=model.__name__) for model in TABLES]


# --- tables ------------------------------------------------------------------------------------


def test_given_the_models_then_every_table_setting_is_a_variable_of_every_stage() -> None:
    for stage in STAGES:
        env = stage_environment(stage)
        for model, setting in TABLES.items():
            assert env.get(env_var(setting)), f"{stage}: no {env_var(setting)} ({model.__name__})"


@pytest.mark.parametrize("model", MODELS)
def test_given_a_model_then_its_table_in_the_template_has_the_same_key_schema(
    model: type[Model],
) -> None:
    table = template_table(model)
    expected = key_schema(model.get_attributes())
    assert "HASH" in expected
    assert template_key_schema(table["KeySchema"], table["AttributeDefinitions"]) == expected


@pytest.mark.parametrize("model", MODELS)
def test_given_a_model_then_each_of_its_indexes_is_in_the_template_with_the_same_shape(
    model: type[Model],
) -> None:
    table = template_table(model)
    declared = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    for index in model_indexes(model):
        name = index.Meta.index_name
        assert name in declared, f"{model.__name__}.{name} is missing from the template"
        in_template = declared[name]
        assert template_key_schema(
            in_template["KeySchema"], table["AttributeDefinitions"]
        ) == key_schema(index.Meta.attributes), name
        assert (
            in_template["Projection"]["ProjectionType"] == index.Meta.projection.projection_type
        ), name
        # An INCLUDE index carries only the attributes it names: one the model reads but the
        # template leaves out reads back as None.
        assert (
            in_template["Projection"].get("NonKeyAttributes")
            == index.Meta.projection.non_key_attributes
        ), name


def test_given_the_models_with_indexes_then_the_check_above_covers_them() -> None:
    """Guards the index check against finding no indexes at all (and so passing vacuously)."""
    found = {index.Meta.index_name for model in TABLES for index in model_indexes(model)}
    assert {"phone-index", "status-index", "pending-index"} <= found


@pytest.mark.parametrize("model", MODELS)
def test_given_a_table_then_every_attribute_definition_is_a_key_the_table_uses(
    model: type[Model],
) -> None:
    # CloudFormation refuses a definition that no key schema uses, and one missing for a key.
    table = template_table(model)
    used = {k["AttributeName"] for k in table["KeySchema"]}
    for index in table.get("GlobalSecondaryIndexes", []):
        used |= {k["AttributeName"] for k in index["KeySchema"]}
    assert {d["AttributeName"] for d in table["AttributeDefinitions"]} == used


@pytest.mark.parametrize("stage", STAGES)
def test_given_a_stage_then_every_table_name_it_is_given_is_in_the_template(stage: str) -> None:
    env = stage_environment(stage)
    tables = {name: value for name, value in env.items() if name.endswith("_TABLE")}
    assert tables
    for name, value in tables.items():
        assert value in TEMPLATE_TABLES, f"{stage}: {name}={value!r} is not a template table"


def test_given_the_shared_environment_then_every_table_name_is_in_the_template() -> None:
    env = CONFIG["environment_variables"]
    tables = {name: value for name, value in env.items() if name.endswith("_TABLE")}
    assert len(tables) == len(TABLES)
    assert set(tables.values()) <= set(TEMPLATE_TABLES)


@pytest.mark.parametrize("model", MODELS)
def test_given_a_model_with_a_ttl_attribute_then_its_table_expires_items_by_it(
    model: type[Model],
) -> None:
    # moto never expires items, so a missing TimeToLiveSpecification passes every other test
    # and keeps data forever in AWS.
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    spec = template_table(model).get("TimeToLiveSpecification")
    if not ttl:
        assert spec is None, f"{model.__name__} has no TTLAttribute for {spec}"
        return
    assert spec == {"AttributeName": ttl[0], "Enabled": True}, model.__name__


# --- queues ------------------------------------------------------------------------------------


@pytest.mark.parametrize("queue", sorted(QUEUE_HANDLERS))
def test_given_a_work_queue_then_the_template_declares_it_with_a_dead_letter_queue(
    queue: str,
) -> None:
    assert queue in TEMPLATE_QUEUES, f"{queue} is not in the template"
    redrive = TEMPLATE_QUEUES[queue].get("RedrivePolicy")
    assert redrive, f"{queue} has no RedrivePolicy: a poison message would retry forever"
    target = redrive["deadLetterTargetArn"]
    logical_id, attribute = target["Fn::GetAtt"]
    assert attribute == "Arn"
    assert RESOURCES[logical_id]["Type"] == "AWS::SQS::Queue"
    dlq = RESOURCES[logical_id]["Properties"]["QueueName"]
    assert dlq != queue
    assert int(redrive["maxReceiveCount"]) >= 1


@pytest.mark.parametrize("queue", sorted(QUEUE_HANDLERS))
def test_given_a_work_queue_then_its_handler_in_the_app_is_the_one_configured(queue: str) -> None:
    from chalice.app import SQSEventConfig

    from app import app

    consumers = {
        source.queue: source.name
        for source in app.event_sources
        if isinstance(source, SQSEventConfig)
    }
    assert consumers.get(queue) == QUEUE_HANDLERS[queue]


@pytest.mark.parametrize("queue", sorted(QUEUE_HANDLERS))
def test_given_a_work_queue_then_its_visibility_outlasts_its_handler_in_prod(queue: str) -> None:
    # A message must stay hidden while its handler may still run, or a second one starts on it.
    handler = QUEUE_HANDLERS[queue]
    functions = CONFIG["stages"]["prod"].get("lambda_functions", {})
    timeout = functions.get(handler, {}).get("lambda_timeout")
    assert timeout, f"prod sets no lambda_timeout for {handler}"
    visibility = TEMPLATE_QUEUES[queue].get("VisibilityTimeout", 30)  # SQS's default
    assert visibility >= timeout, f"{queue}: visibility {visibility}s < {handler} {timeout}s"


@pytest.mark.parametrize("channel", sorted(SENDER_TIMEOUT_S))
def test_given_a_sender_then_its_timeout_is_the_one_its_send_budget_is_set_within(
    channel: Channel,
) -> None:
    # The sender stops taking people SEND_BUDGET_S into an invocation, inside its timeout.
    handler = QUEUE_HANDLERS[SENDER_QUEUES[channel]]
    timeout = CONFIG["stages"]["prod"]["lambda_functions"][handler]["lambda_timeout"]
    assert timeout == SENDER_TIMEOUT_S[channel]
    assert SEND_BUDGET_S.get(channel, 0) < timeout


@pytest.mark.parametrize("channel", sorted(SEND_BUDGET_S))
def test_given_a_crashed_chunk_then_it_comes_back_after_six_timeouts_and_no_later(
    channel: Channel,
) -> None:
    # SQS hands a dead invocation's chunk to another instance only after the visibility timeout:
    # the tail a crash adds. AWS's guidance for an SQS event source is at least six times the
    # function's timeout (room to retry a throttled invocation); more only lengthens the tail.
    visibility = TEMPLATE_QUEUES[SENDER_QUEUES[channel]]["VisibilityTimeout"]
    assert visibility == 6 * SENDER_TIMEOUT_S[channel]


def test_given_70000_pushes_then_a_crashed_chunk_is_sent_within_a_minute_of_the_start() -> None:
    # docs/deploy.md: the pushes of a 100,000-person action (70 % app) at PUSH_PER_SECOND, then a
    # chunk that died at the very end comes back after the visibility timeout and is sent again.
    rate = Settings.from_env({**stage_environment("prod"), "AWS_REGION": "eu-west-1"})
    visibility = TEMPLATE_QUEUES[SENDER_QUEUES[Channel.PUSH]]["VisibilityTimeout"]
    chunk_s = SEND_CHUNK / (rate.push_per_second / SENDERS[Channel.PUSH])
    assert rate.push_per_second <= SNS_PUBLISH_PER_SECOND
    assert 70_000 / rate.push_per_second + visibility + chunk_s <= 60


@pytest.mark.parametrize("channel", sorted(SENDER_CUT_OFF))
def test_given_a_reconciled_channel_then_its_sends_count_as_cut_off_only_after_its_sender(
    channel: Channel,
) -> None:
    # A receipt settles (and the sweep retries) an alert left `sending` once its sender is
    # surely dead: settling it earlier could race the sender's own record of the end.
    handler = QUEUE_HANDLERS[SENDER_QUEUES[channel]]
    timeout = CONFIG["stages"]["prod"]["lambda_functions"][handler]["lambda_timeout"]
    assert SENDER_CUT_OFF[channel].total_seconds() > timeout


def sqs_sources() -> dict[str, Any]:
    from chalice.app import SQSEventConfig

    from app import app

    return {s.queue: s for s in app.event_sources if isinstance(s, SQSEventConfig)}


@pytest.mark.parametrize("channel", sorted(SENDER_QUEUES))
def test_given_a_sender_then_its_event_source_caps_its_concurrency_and_nothing_else_does(
    channel: Channel,
) -> None:
    # Reserved concurrency below the SQS poller's own makes it throttle receives, and every
    # throttled receive counts toward maxReceiveCount: people dead-lettered without a failure.
    # The event source mapping's MaximumConcurrency (at least 2) caps it without that.
    source = sqs_sources()[SENDER_QUEUES[channel]]
    assert source.maximum_concurrency == SENDERS[channel] >= 2
    for stage in STAGES:
        functions = CONFIG["stages"][stage].get("lambda_functions", {})
        assert "reserved_concurrency" not in functions.get(source.name, {}), (stage, source.name)


# --- what X-Ray may record ---------------------------------------------------------------------


def xray_whitelist() -> dict[str, Any]:
    resource = importlib.resources.files("aws_xray_sdk.ext.resources") / "aws_para_whitelist.json"
    services: dict[str, Any] = json.loads(resource.read_text())["services"]
    return services


def recorded_request_fields(service: str, operation: str) -> set[str]:
    """Request fields X-Ray copies into a trace, whole or (descriptors) by their keys."""
    rules = xray_whitelist().get(service, {}).get("operations", {}).get(operation, {})
    return set(rules.get("request_parameters", [])) | set(rules.get("request_descriptors", {}))


@pytest.mark.parametrize(
    ("service", "operation", "sensitive"),
    [
        ("sns", "Publish", {"PhoneNumber", "Message", "MessageAttributes"}),
        ("dynamodb", "PutItem", {"Item", "ExpressionAttributeValues"}),
        ("dynamodb", "Query", {"KeyConditions", "ExpressionAttributeValues", "ExclusiveStartKey"}),
        ("dynamodb", "Scan", {"ExpressionAttributeValues", "ExclusiveStartKey", "ScanFilter"}),
        ("dynamodb", "GetItem", {"Key"}),
        ("dynamodb", "UpdateItem", {"Key", "ExpressionAttributeValues"}),
        ("dynamodb", "DeleteItem", {"Key"}),
    ],
)
def test_given_xray_tracing_then_no_phone_number_or_item_is_recorded(
    service: str, operation: str, sensitive: set[str]
) -> None:
    recorded = recorded_request_fields(service, operation)
    assert not recorded & sensitive, f"X-Ray would record {recorded & sensitive} of {operation}"
    assert "PhoneNumber" not in recorded
    assert "Item" not in recorded


def test_given_xray_tracing_then_the_whitelist_checked_is_the_one_the_sdk_uses() -> None:
    from aws_xray_sdk.ext import boto_utils

    assert boto_utils.whitelist["services"] == xray_whitelist()
    assert "TableName" in recorded_request_fields("dynamodb", "PutItem")  # found, not empty


def test_given_an_sms_publish_traced_then_its_trace_metadata_holds_no_phone_or_text() -> None:
    from aws_xray_sdk.ext.boto_utils import _extract_whitelisted_params

    phone, text = "+31612345678", "Burgernet: inbraak. De politie zoekt: man met rode jas"
    request = {
        "PhoneNumber": phone,
        "Message": text,
        "MessageAttributes": {"AWS.SNS.SMS.SMSType": {"StringValue": "Transactional"}},
    }
    meta: dict[str, Any] = {}
    _extract_whitelisted_params(
        "sns", "Publish", meta, ["Publish", request], {}, {"MessageId": "m"}
    )
    assert phone not in json.dumps(meta, default=str)
    assert "politie" not in json.dumps(meta, default=str)


def test_given_a_batch_write_traced_then_its_trace_metadata_holds_table_names_only() -> None:
    from aws_xray_sdk.ext.boto_utils import _extract_whitelisted_params

    request = {
        "RequestItems": {
            "burgernet-places": [{"PutRequest": {"Item": {"phone": {"S": "+31612345678"}}}}]
        }
    }
    meta: dict[str, Any] = {}
    _extract_whitelisted_params("dynamodb", "BatchWriteItem", meta, ["x", request], {}, {})
    recorded = json.dumps({k: list(v) for k, v in meta.items()})
    assert "burgernet-places" in recorded
    assert "+31612345678" not in recorded
