"""The local runner's AWS calls answered by its emulator in-process: the functions read what the
socket gave them, other processes see what they did, and no other address is answered."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from moto.server import ThreadedMotoServer

from bench.local_scale import free_port
from tools import moto_inprocess

REGION = "eu-west-1"
TABLE = "burgernet-deliveries"
BUCKET = "burgernet-photos"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedMotoServer]:
    """A moto server in this process, as `make run` starts it, the hook installed first."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    moto_inprocess.install()
    emulator = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    emulator.start()
    try:
        yield emulator
    finally:
        moto_inprocess.uninstall()
        emulator.stop()


def endpoint(server: ThreadedMotoServer) -> str:
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def clients(url: str, **config: Any) -> dict[str, Any]:
    """Clients as the app makes them: created after install, so they carry the hook."""
    session = boto3.session.Session()
    return {
        service: session.client(
            service, region_name=REGION, endpoint_url=url, config=Config(**config)
        )
        for service in ("dynamodb", "sns", "sqs", "s3")
    }


def take(dynamodb: Any, pk: str) -> Any:
    """The ledger's kind of write: queued -> sending, refused if it was taken."""
    return dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": pk}},
        UpdateExpression="SET #s = :sending",
        ConditionExpression="#s = :queued",
        ExpressionAttributeNames={"#s": "alert_status"},
        ExpressionAttributeValues={":sending": {"S": "sending"}, ":queued": {"S": "queued"}},
        ReturnValues="ALL_NEW",
    )


def what_a_sender_reads(aws: dict[str, Any]) -> dict[str, Any]:
    """A sender's usual calls, and what each answers (refusals included)."""
    dynamodb, sns, sqs, s3 = aws["dynamodb"], aws["sns"], aws["sqs"], aws["s3"]
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "a#1"}, "alert_status": {"S": "queued"}})
    taken = take(dynamodb, "a#1")["Attributes"]
    with pytest.raises(ClientError) as refused:
        take(dynamodb, "a#1")
    url = sqs.create_queue(QueueName="burgernet-sms")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"chunk": 1}')
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    with pytest.raises(ClientError) as no_queue:
        sqs.get_queue_url(QueueName="burgernet-nowhere")
    published = sns.publish(PhoneNumber="+31612345678", Message="Burgernet: inbraak")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(
        Bucket=BUCKET, Key="public/a.jpg", Body=b"\xff\xd8jpeg", Metadata={"taken_by": "p"}
    )
    photo = s3.get_object(Bucket=BUCKET, Key="public/a.jpg")
    return {
        "taken": taken,
        "refused": refused.value.response["Error"]["Code"],
        "refused_status": refused.value.response["ResponseMetadata"]["HTTPStatusCode"],
        "received": [m["Body"] for m in received],
        "no_queue": no_queue.value.response["Error"]["Code"],
        "published": sorted(published),
        "photo": (photo["Body"].read(), photo["ContentLength"], photo["Metadata"]),
    }


def sent_sms(url: str) -> list[str]:
    """The SMS texts the emulator recorded, read over HTTP as `make sms` does."""
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=10) as response:
        recorded = json.load(response)["sns"]["SMS"]
    return [sms["message"] for sms in recorded]


def reset(url: str) -> None:
    """Empty the emulator (moto's own reset, over HTTP)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def test_calls_answered_in_process_read_as_they_do_over_the_socket(
    server: ThreadedMotoServer,
) -> None:
    url = endpoint(server)
    before = moto_inprocess.calls()
    over_socket = what_a_sender_reads(clients(url))
    assert moto_inprocess.calls() == before  # not serving yet: all of that went over the socket
    reset(url)

    moto_inprocess.serve(server)
    in_process = what_a_sender_reads(clients(url))

    assert in_process == over_socket
    assert in_process["refused"] == "ConditionalCheckFailedException"
    assert in_process["photo"] == (b"\xff\xd8jpeg", 6, {"taken_by": "p"})
    assert moto_inprocess.calls() - before == 13  # every call of the round: none over the socket
    # What the functions did in-process, a process outside reads over the socket.
    assert sent_sms(url) == ["Burgernet: inbraak"]


def test_a_request_for_another_address_goes_out_over_the_socket(
    server: ThreadedMotoServer,
) -> None:
    moto_inprocess.serve(server)
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    sqs = clients(nobody, retries={"total_max_attempts": 1}, connect_timeout=2)["sqs"]
    before = moto_inprocess.calls()

    with pytest.raises(EndpointConnectionError):
        sqs.list_queues()
    assert moto_inprocess.calls() == before
