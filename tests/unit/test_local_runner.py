"""The local runner hands handlers the events Lambda would: chalice must accept each of them."""

from __future__ import annotations

from chalice.app import CloudWatchEvent, SQSEvent

from tools.local import cloudwatch_event, lambda_sqs_event, schedule_seconds


def test_scheduled_and_contact_events_are_what_chalice_reads() -> None:
    for source, detail_type in (
        ("aws.events", "Scheduled Event"),
        ("aws.connect", "Amazon Connect Contact Event"),
    ):
        event = CloudWatchEvent(cloudwatch_event(source, detail_type, {"contactId": "c"}), None)
        assert (event.source, event.detail_type, event.detail) == (
            source,
            detail_type,
            {"contactId": "c"},
        )


def test_queue_messages_arrive_as_lambda_records() -> None:
    message = {"MessageId": "m-1", "ReceiptHandle": "r", "Body": '{"a": 1}', "MD5OfBody": "x"}
    event = SQSEvent(lambda_sqs_event("arn:aws:sqs:eu-west-1:1:q", [message]), None)
    [record] = list(event)
    assert record.body == '{"a": 1}' and record.to_dict()["messageId"] == "m-1"


def test_schedules_run_at_their_rate() -> None:
    assert schedule_seconds("rate(1 minute)") == 60
    assert schedule_seconds("rate(2 hours)") == 7200
