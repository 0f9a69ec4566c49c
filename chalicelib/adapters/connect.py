"""Voice calls through Amazon Connect StartOutboundVoiceContact, a local stand-in, and how each
call went, read from Connect's contact events (EventBridge)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from chalicelib.adapters.errors import RETRYABLE_CODES, error_code, provider_errors
from chalicelib.domain.model import CallOutcome, Language
from chalicelib.logs import log_event

# The text-to-speech language and the neural Amazon Polly voice the flow speaks each language in.
VOICES: dict[Language, tuple[str, str]] = {
    Language.NL: ("nl-NL", "Laura"),
    Language.EN: ("en-GB", "Amy"),
}

# Connect error codes worth another try later, server errors included: the ClientToken makes the
# retry safe, as a start that did get through returns its ContactId instead of a second call.
CONNECT_RETRYABLE_CODES = RETRYABLE_CODES | {
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "LimitExceededException",  # too many concurrent calls for the instance
    "ServiceQuotaExceededException",
    "ThrottlingException",
    "TooManyRequestsException",
    "InternalServiceException",
}

# Connect: up to 32,768 UTF-8 bytes across all attribute keys and values of a contact.
MAX_ATTRIBUTE_BYTES = 32_768
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# Amazon Polly synthesises at most 3,000 billed characters in one go; for plain text every
# character is billed. A longer message would be cut off or fail mid-call, so it is refused.
MAX_SPEECH_CHARS = 3_000
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# Fixed namespace for ClientTokens: uuid5(namespace, reference) is stable across processes.
_CLIENT_TOKEN_NAMESPACE = uuid.UUID("6b1f4d2e-8c3a-5e7b-9f10-2a4c6e8b0d13")


def client_token(reference: str) -> str:
    """Return the idempotency token for a call: the same for the same reference, always."""
    return str(uuid.uuid5(_CLIENT_TOKEN_NAMESPACE, reference))


def call_attributes(text: str, language: Language, reference: str) -> dict[str, str]:
    """Build the contact attributes the outbound flow reads; ValueError if Connect would refuse."""
    if not text.strip():
        raise ValueError("nothing to say: the text is empty")
    if len(text) > MAX_SPEECH_CHARS:
        raise ValueError(f"text is {len(text)} characters; at most {MAX_SPEECH_CHARS} are spoken")
    if not reference:
        # Every empty reference would share one ClientToken: only the first call would be placed.
        raise ValueError("a call needs a reference to make retrying it safe")
    language_code, voice = VOICES[language]
    attributes = {
        "message": text,
        "language": language_code,
        "voice": voice,
        "reference": reference,
    }
    check_attributes(attributes)
    return attributes


def check_attributes(attributes: dict[str, str]) -> None:
    """Raise ValueError unless Connect accepts these contact attributes (keys and total size)."""
    for key in attributes:
        if not _ATTRIBUTE_KEY.fullmatch(key):
            raise ValueError(f"attribute key {key!r}: only letters, digits, '-' and '_' allowed")
    size = sum(len(key.encode()) + len(value.encode()) for key, value in attributes.items())
    if size > MAX_ATTRIBUTE_BYTES:
        raise ValueError(f"attributes take {size} bytes; Connect allows {MAX_ATTRIBUTE_BYTES}")


def check_phone(phone: str) -> None:
    """Raise ValueError unless phone is E.164; the message leaves the number out (logs)."""
    if not _E164.fullmatch(phone):
        raise ValueError("destination is not an E.164 phone number")


def mask_phone(phone: str) -> str:
    """Keep the country/trunk start and the last three digits: +31612345678 -> +316•••••678."""
    if len(phone) <= 8:
        return "•" * len(phone)
    return phone[:4] + "•" * (len(phone) - 7) + phone[-3:]


@dataclass(frozen=True)
class ConnectVoice:
    """Places one outbound call per call(); the contact flow reads the text out."""

    client: Any  # boto3 "connect" client
    instance_id: str
    contact_flow_id: str
    source_number: str  # E.164 caller id: a number claimed by the instance (the callback trunk)

    def call(self, phone: str, text: str, language: Language, reference: str) -> str:
        """Start an outbound call that reads `text`; return the ContactId or raise SendFailed.

        `reference` (e.g. action id + participant id) names the delivery: a second start with
        the same reference within Connect's 7-day token window returns the first ContactId.
        Raises ValueError, before any request, for a text or reference Connect would refuse.
        """
        check_phone(phone)
        attributes = call_attributes(text, language, reference)
        with provider_errors(CONNECT_RETRYABLE_CODES):
            response = self.client.start_outbound_voice_contact(
                DestinationPhoneNumber=phone,
                ContactFlowId=self.contact_flow_id,
                InstanceId=self.instance_id,
                SourcePhoneNumber=self.source_number,
                ClientToken=client_token(reference),
                Attributes=attributes,
            )
        return str(response["ContactId"])

    def reference_of(self, contact_id: str) -> str | None:
        """The reference a call was placed with, read from its contact attributes."""
        try:
            response = self.client.get_contact_attributes(
                InstanceId=self.instance_id, InitialContactId=contact_id
            )
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None  # not a contact of this instance
            raise
        reference = response.get("Attributes", {}).get("reference")
        return str(reference) if reference else None


class RecordedCall(NamedTuple):
    """A call the local stand-in would have placed; the phone number is masked."""

    phone: str
    language: Language
    text: str
    contact_id: str


@dataclass
class RecordingVoice:
    """The local stand-in for ConnectVoice: records what would have been spoken, calls nobody.

    Like Connect, a repeated reference returns the first contact id and places no second call.
    """

    calls: list[RecordedCall] = field(default_factory=list)
    _contacts: dict[str, str] = field(default_factory=dict, repr=False)
    _references: dict[str, str] = field(default_factory=dict, repr=False)  # contact -> reference

    def call(self, phone: str, text: str, language: Language, reference: str) -> str:
        """Record the call that would have read `text`; return its (uuid4) contact id."""
        check_phone(phone)
        call_attributes(text, language, reference)  # refuse what ConnectVoice would refuse
        token = client_token(reference)
        if token in self._contacts:
            return self._contacts[token]
        contact_id = str(uuid.uuid4())
        self._contacts[token] = contact_id
        self._references[contact_id] = reference
        self.calls.append(RecordedCall(mask_phone(phone), language, text, contact_id))
        log_event(
            "voice_call_placed",
            contact_id=contact_id,
            reference=reference,
            language=language.value,
            chars=len(text),
        )
        return contact_id

    def reference_of(self, contact_id: str) -> str | None:
        """The reference a recorded call was placed with."""
        return self._references.get(contact_id)


def caller_of(invocation: Mapping[str, Any]) -> str | None:
    """The calling number of a contact flow's Lambda invocation; None when withheld."""
    contact = (invocation.get("Details") or {}).get("ContactData") or {}
    endpoint = contact.get("CustomerEndpoint") or {}
    return endpoint.get("Address") if endpoint.get("Type") == "TELEPHONE_NUMBER" else None


UNREACHABLE = ("TELECOM_NUMBER_INVALID", "TELECOM_PROBLEM", "TELECOM_POTENTIAL_BLOCKING")


class EndedCall(NamedTuple):
    """A call a contact event reports as ended, and how it went."""

    contact_id: str
    outcome: CallOutcome


def ended_call(detail: Mapping[str, Any]) -> EndedCall | None:
    """The call a contact event's detail reports as disconnected; None for any other event."""
    if detail.get("eventType") != "DISCONNECTED":
        return None
    return EndedCall(str(detail.get("contactId")), call_outcome(detail))


def call_outcome(detail: Mapping[str, Any]) -> CallOutcome:
    """The outcome of a disconnected call: answered, no_answer, busy or failed.

    A call that reached media (CONNECTED_TO_SYSTEM: a person or a voicemail) was answered;
    otherwise the disconnect reason tells busy or a number that cannot be called apart from
    simply not answered.
    """
    if detail.get("connectedToSystemTimestamp"):
        return CallOutcome.ANSWERED
    reason = str(detail.get("disconnectReason") or "").upper()
    if "BUSY" in reason:
        return CallOutcome.BUSY
    if reason in UNREACHABLE:
        return CallOutcome.FAILED
    return CallOutcome.NO_ANSWER
