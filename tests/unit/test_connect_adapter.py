"""Voice calls through Amazon Connect: the exact request, error mapping, limits, local stand-in."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.adapters.connect import (
    MAX_ATTRIBUTE_BYTES,
    MAX_SPEECH_CHARS,
    ConnectVoice,
    EndedCall,
    RecordingVoice,
    client_token,
    ended_call,
)
from chalicelib.adapters.errors import SendFailed
from chalicelib.domain.model import Language

INSTANCE_ID = "11111111-2222-3333-4444-555555555555"
FLOW_ID = "66666666-7777-8888-9999-000000000000"
SOURCE = "+31800001100"
PHONE = "+31612345678"
LANDLINE = "+31301234567"
CONTACT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
REFERENCE = "01HZX3ACTION#01HZX3PARTICIPANT"
TEXT_NL = "Burgernet: inbraak in uw buurt. Gezocht: man, circa 30 jaar, rode jas."
TEXT_EN = "Burgernet: burglary near you. Wanted: man, about 30, red coat."


@pytest.fixture
def stubbed() -> Iterator[tuple[ConnectVoice, Stubber]]:
    client = boto3.client(
        "connect",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield ConnectVoice(client, INSTANCE_ID, FLOW_ID, SOURCE), stubber


def expected_request(
    phone: str, text: str, language_code: str, voice: str, reference: str
) -> dict[str, object]:
    return {
        "DestinationPhoneNumber": phone,
        "ContactFlowId": FLOW_ID,
        "InstanceId": INSTANCE_ID,
        "SourcePhoneNumber": SOURCE,
        "ClientToken": client_token(reference),
        "Attributes": {
            "message": text,
            "language": language_code,
            "voice": voice,
            "reference": reference,
        },
    }


# --- the request ------------------------------------------------------------------------------


def test_dutch_call_is_read_by_laura_in_nl_nl(stubbed: tuple[ConnectVoice, Stubber]) -> None:
    voice, stubber = stubbed
    stubber.add_response(
        "start_outbound_voice_contact",
        {"ContactId": CONTACT_ID},
        expected_params=expected_request(PHONE, TEXT_NL, "nl-NL", "Laura", REFERENCE),
    )

    assert voice.call(PHONE, TEXT_NL, Language.NL, REFERENCE) == CONTACT_ID
    stubber.assert_no_pending_responses()


def test_english_call_is_read_by_amy_in_en_gb(stubbed: tuple[ConnectVoice, Stubber]) -> None:
    voice, stubber = stubbed
    stubber.add_response(
        "start_outbound_voice_contact",
        {"ContactId": CONTACT_ID},
        expected_params=expected_request(LANDLINE, TEXT_EN, "en-GB", "Amy", REFERENCE),
    )

    assert voice.call(LANDLINE, TEXT_EN, Language.EN, REFERENCE) == CONTACT_ID
    stubber.assert_no_pending_responses()


def test_a_retried_start_sends_the_same_client_token(
    stubbed: tuple[ConnectVoice, Stubber],
) -> None:
    voice, stubber = stubbed
    for _ in range(2):
        stubber.add_response(
            "start_outbound_voice_contact",
            {"ContactId": CONTACT_ID},
            expected_params=expected_request(PHONE, TEXT_NL, "nl-NL", "Laura", REFERENCE),
        )

    voice.call(PHONE, TEXT_NL, Language.NL, REFERENCE)
    voice.call(PHONE, TEXT_NL, Language.NL, REFERENCE)
    stubber.assert_no_pending_responses()


def test_client_token_is_stable_per_reference_and_differs_between_references() -> None:
    assert client_token(REFERENCE) == client_token(REFERENCE)
    assert client_token(REFERENCE) != client_token(REFERENCE + "2")
    assert client_token("A#B") != client_token("A#C")
    assert len(client_token("x" * 10_000)) <= 500  # the API model's maximum
    uuid.UUID(client_token(REFERENCE))  # shaped like the token the SDK would generate


def test_client_token_does_not_depend_on_the_process() -> None:
    # A retry may run in another Lambda container: the token must be neither salted nor random.
    assert client_token("action-1#participant-1") == "dab4b682-5bfc-5001-ba95-9b59742c901f"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("LimitExceededException", 429, True),
        ("ThrottlingException", 429, True),
        ("TooManyRequestsException", 429, True),
        ("InternalServiceException", 500, True),
        ("ServiceQuotaExceededException", 402, True),
        ("DestinationNotAllowedException", 403, False),
        ("OutboundContactNotPermittedException", 403, False),
        ("InvalidParameterException", 400, False),
        ("InvalidRequestException", 400, False),
        ("ResourceNotFoundException", 404, False),
        ("AccessDeniedException", 403, False),
    ],
)
def test_client_errors_map_to_retryable_or_not(
    stubbed: tuple[ConnectVoice, Stubber], code: str, status: int, retryable: bool
) -> None:
    voice, stubber = stubbed
    stubber.add_client_error(
        "start_outbound_voice_contact",
        service_error_code=code,
        http_status_code=status,
        expected_params=expected_request(PHONE, TEXT_NL, "nl-NL", "Laura", REFERENCE),
    )

    with pytest.raises(SendFailed) as failed:
        voice.call(PHONE, TEXT_NL, Language.NL, REFERENCE)

    assert failed.value.code == code
    assert failed.value.retryable is retryable
    assert PHONE not in str(failed.value)


class _RaisingClient:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def start_outbound_voice_contact(self, **_: object) -> dict[str, str]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (EndpointConnectionError(endpoint_url="https://connect"), "ConnectionError", True),
        (ConnectTimeoutError(endpoint_url="https://connect"), "ConnectionError", True),
        (ReadTimeoutError(endpoint_url="https://connect"), "ReadTimeoutError", False),
    ],
)
def test_transport_errors_are_retryable_only_when_nothing_reached_connect(
    error: Exception, code: str, retryable: bool
) -> None:
    voice = ConnectVoice(_RaisingClient(error), INSTANCE_ID, FLOW_ID, SOURCE)

    with pytest.raises(SendFailed) as failed:
        voice.call(PHONE, TEXT_NL, Language.NL, REFERENCE)

    assert (failed.value.code, failed.value.retryable) == (code, retryable)


# --- refused before any request ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "text", "reference"),
    [
        (PHONE, "x" * (MAX_SPEECH_CHARS + 1), REFERENCE),  # longer than Polly speaks
        (PHONE, "   ", REFERENCE),  # nothing to say
        (PHONE, TEXT_NL, "r" * MAX_ATTRIBUTE_BYTES),  # attributes over Connect's 32 KB
        (PHONE, TEXT_NL, ""),  # would share one ClientToken with every other empty reference
        ("0612345678", TEXT_NL, REFERENCE),  # not E.164
    ],
    ids=["text-too-long", "blank-text", "attributes-over-32kb", "no-reference", "not-e164"],
)
def test_what_connect_would_refuse_is_refused_before_any_call(
    stubbed: tuple[ConnectVoice, Stubber], phone: str, text: str, reference: str
) -> None:
    voice, stubber = stubbed

    with pytest.raises(ValueError) as refused:
        voice.call(phone, text, Language.NL, reference)

    assert phone not in str(refused.value)
    stubber.assert_no_pending_responses()  # nothing queued was consumed...
    # ...and no request was made: one would have failed against the empty stub queue.


def test_longest_speakable_text_is_sent(stubbed: tuple[ConnectVoice, Stubber]) -> None:
    voice, stubber = stubbed
    text = "é" * MAX_SPEECH_CHARS  # two UTF-8 bytes each, still well inside 32 KB
    stubber.add_response(
        "start_outbound_voice_contact",
        {"ContactId": CONTACT_ID},
        expected_params=expected_request(PHONE, text, "nl-NL", "Laura", REFERENCE),
    )

    assert voice.call(PHONE, text, Language.NL, REFERENCE) == CONTACT_ID


# --- the local stand-in -----------------------------------------------------------------------


@pytest.fixture
def events(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Records of "burgernet.events" (attached directly: chalice may stop propagation)."""
    logger = logging.getLogger("burgernet.events")
    caplog.set_level(logging.DEBUG, logger="burgernet.events")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_recording_voice_records_the_call_with_a_masked_number(
    events: pytest.LogCaptureFixture,
) -> None:
    voice = RecordingVoice()

    contact_id = voice.call(PHONE, TEXT_NL, Language.NL, REFERENCE)

    uuid.UUID(contact_id, version=4)
    assert voice.calls == [("+316•••••678", Language.NL, TEXT_NL, contact_id)]
    # A set: the record may reach caplog's handler both directly and through the root logger.
    (record,) = {r for r in events.records if "voice_call_placed" in r.getMessage()}
    line = record.getMessage()
    assert contact_id in line
    assert REFERENCE in line
    for fragment in (PHONE, PHONE[1:], "612345678", "+316•••••678"):
        assert fragment not in line


def test_recording_voice_places_one_call_per_reference() -> None:
    voice = RecordingVoice()

    first = voice.call(PHONE, TEXT_NL, Language.NL, REFERENCE)
    again = voice.call(PHONE, TEXT_NL, Language.NL, REFERENCE)
    other = voice.call(LANDLINE, TEXT_EN, Language.EN, "another#reference")

    assert first == again != other
    assert [(c.phone, c.language) for c in voice.calls] == [
        ("+316•••••678", Language.NL),
        ("+313•••••567", Language.EN),
    ]


def test_recording_voice_refuses_what_connect_would_refuse() -> None:
    voice = RecordingVoice()

    with pytest.raises(ValueError):
        voice.call(PHONE, "x" * (MAX_SPEECH_CHARS + 1), Language.NL, REFERENCE)

    assert voice.calls == []


def test_a_calls_reference_is_read_from_its_contact_attributes(
    stubbed: tuple[ConnectVoice, Stubber],
) -> None:
    voice, stubber = stubbed
    stubber.add_response(
        "get_contact_attributes",
        {"Attributes": {"message": TEXT_NL, "reference": REFERENCE}},
        {"InstanceId": INSTANCE_ID, "InitialContactId": CONTACT_ID},
    )
    stubber.add_client_error(
        "get_contact_attributes", "ResourceNotFoundException", http_status_code=404
    )

    assert voice.reference_of(CONTACT_ID) == REFERENCE
    assert voice.reference_of(CONTACT_ID) is None  # not a contact of this instance
    stubber.assert_no_pending_responses()


def test_recording_voice_knows_the_reference_of_each_call_it_placed() -> None:
    voice = RecordingVoice()
    contact = voice.call(PHONE, TEXT_NL, Language.NL, REFERENCE)

    assert voice.reference_of(contact) == REFERENCE
    assert voice.reference_of(CONTACT_ID) is None


# --- contact events --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detail", "outcome"),
    [
        ({"connectedToSystemTimestamp": "2026-11-28T12:00:05Z"}, "answered"),
        ({"disconnectReason": "TELECOM_BUSY"}, "busy"),
        ({"disconnectReason": "TELECOM_NUMBER_INVALID"}, "failed"),
        ({"disconnectReason": "TELECOM_TIMEOUT"}, "no_answer"),
        ({}, "no_answer"),
    ],
)
def test_a_disconnect_event_tells_how_the_call_went(detail: dict[str, str], outcome: str) -> None:
    event = {"eventType": "DISCONNECTED", "contactId": CONTACT_ID, **detail}
    assert ended_call(event) == EndedCall(CONTACT_ID, outcome)


@pytest.mark.parametrize("event_type", ["INITIATED", "CONNECTED_TO_SYSTEM", "CONNECTED_TO_AGENT"])
def test_any_other_contact_event_ends_no_call(event_type: str) -> None:
    assert ended_call({"eventType": event_type, "contactId": CONTACT_ID}) is None
