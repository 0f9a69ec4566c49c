"""Login and unsubscribe codes: they work, cannot be raced or farmed, and cost us no money.

Races run in threads against the emulated account, which has DynamoDB's per-item atomicity
(tools/moto_atomic.py says why): what they count is our code, not moto's.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.client
import pytest

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.sms import SnsSms
from chalicelib.domain.errors import DomainError
from chalicelib.handlers import workers as worker_handlers
from chalicelib.logic import signup as signups
from chalicelib.queues import CODES_QUEUE
from tests.support.builders import add_participant
from tests.support.residents import (
    DOM,
    DOMPLEIN,
    OTHER_PHONE,
    PHONE,
    UITHOF,
    TransactionFault,
    alerted_once,
    assert_error,
    code_sent_to,
    confirm,
    header,
    join,
    login,
    me,
    not_alerted,
    signup_body,
    start_signup,
    texts_to,
    unsubscribe,
    verify,
    wrong,
)
from tests.support.system import System
from tools.emulator import TEMPLATE

GUESSES = 60


def guess_at_once(
    signup_id: str, guesses: list[str], verify: Callable[[str, str, datetime], Any] | None = None
) -> Counter[str]:
    """Every guess at the same moment, each from its own thread; how each was answered."""
    check = verify or signups.verify_signup
    start = threading.Barrier(len(guesses))
    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def guess(code: str) -> None:
        start.wait()
        try:
            check(signup_id, code, datetime.now(UTC))
            answer = "accepted"
        except DomainError as exc:
            answer = exc.code
        with lock:
            answers[answer] += 1

    threads = [threading.Thread(target=guess, args=(code,)) for code in guesses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_sixty_simultaneous_wrong_guesses_get_five_judged_and_then_the_right_code_is_refused(
    utrecht: System,
) -> None:
    system = utrecht
    signup_id = start_signup(system)
    code = code_sent_to(system)
    guesses = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, GUESSES + 1)]

    answers = guess_at_once(signup_id, guesses)

    assert answers == {"wrong_code": 5, "locked": GUESSES - 5}, answers
    assert_error(verify(system, signup_id, code), 403, "locked", "code")


def test_a_right_code_sent_ten_times_at_once_joins_once(utrecht: System) -> None:
    system = utrecht
    signup_id = start_signup(system)
    code = code_sent_to(system)

    answers = guess_at_once(signup_id, [code] * 10)

    assert answers["accepted"] == 1, answers
    assert set(answers) <= {"accepted", "not_found", "locked"}, answers
    assert_error(verify(system, signup_id, code), 404, "not_found", "code")


# --- the phone's budget of wrong codes, over all its requests ----------------------------------


def wrong_until_locked(system: System, signup_id: str, code: str, times: int = 5) -> None:
    for _ in range(times):
        assert_error(verify(system, signup_id, wrong(code)), 400, "wrong_code", "code")


def test_after_ten_wrong_codes_in_a_day_not_even_the_right_code_of_a_new_request_is_judged(
    utrecht: System,
) -> None:
    system = utrecht
    for _ in range(2):  # two requests, five wrong guesses each
        signup_id = start_signup(system)
        wrong_until_locked(system, signup_id, code_sent_to(system))
    signup_id = start_signup(system)

    response = verify(system, signup_id, code_sent_to(system))

    body = assert_error(response, 429, "too_many_wrong_codes", "code")
    assert 0 < body["retry_after"] <= 24 * 3600
    assert header(response, "Retry-After") == str(body["retry_after"])


def test_a_right_code_does_not_count_as_a_wrong_one(utrecht: System) -> None:
    system = utrecht
    signup_id = start_signup(system)
    wrong_until_locked(system, signup_id, code_sent_to(system))
    signup_id = start_signup(system)
    code = code_sent_to(system)
    wrong_until_locked(system, signup_id, code, times=4)
    assert verify(system, signup_id, code).status_code == 201  # the tenth guess, but right
    signup_id = start_signup(system)
    code = code_sent_to(system)

    assert_error(verify(system, signup_id, wrong(code)), 400, "wrong_code", "code")  # 10th wrong
    assert_error(verify(system, signup_id, code), 429, "too_many_wrong_codes", "code")


# --- numbers that may receive codes ------------------------------------------------------------


def test_a_voice_signup_with_a_premium_rate_number_is_refused_and_told_what_is_allowed(
    utrecht: System,
) -> None:
    response = utrecht.post("/signup", signup_body(phone="0900 1234567", channel="voice"))

    body = assert_error(response, 400, "number_not_allowed", "phone")
    assert "06" in body["message"]  # in Dutch, the default: which numbers can take part
    assert utrecht.emulator.sms() == []


@pytest.mark.parametrize("route", ["/participants/login", "/unsubscribe"])
@pytest.mark.parametrize(
    ("phone", "allowed"),
    [
        ("06 12345678", True),
        ("030 1234567", True),
        ("0900 1234567", False),
        ("0842 123456", False),
        ("088 1234567", False),
        ("085 1234567", False),
        ("0970 12345678", False),
    ],
)
def test_login_and_unsubscribe_take_only_numbers_that_may_receive_codes(
    utrecht: System, route: str, phone: str, allowed: bool
) -> None:
    response = utrecht.post(route, {"phone": phone, "language": "en"})

    if allowed:
        assert response.status_code == 202, response.body
    else:
        body = assert_error(response, 400, "number_not_allowed", "phone")
        assert "mobile number (06)" in body["message"]


# --- the overall budget of codes per hour ------------------------------------------------------


@pytest.fixture
def two_codes_an_hour(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment whose budget is two codes an hour (set before the runtime is built)."""
    monkeypatch.setenv("CODES_PER_HOUR", "2")


@pytest.fixture
def app_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything the app logs under "burgernet" (chalice stops it reaching the root)."""
    app_logger = logging.getLogger("burgernet")
    caplog.set_level(logging.INFO, logger="burgernet.events")
    app_logger.addHandler(caplog.handler)
    yield caplog
    app_logger.removeHandler(caplog.handler)


def test_when_the_hours_codes_are_spent_every_route_that_sends_one_says_so_and_ops_are_told(
    two_codes_an_hour: None, utrecht: System, app_log: pytest.LogCaptureFixture
) -> None:
    system = utrecht
    add_participant(OTHER_PHONE, DOM)
    start_signup(system)  # one
    assert system.post("/participants/login", {"phone": "06-55555555"}).status_code == 202  # two

    refused = [
        system.post("/signup", signup_body(phone="06-11111111")),
        system.post("/participants/login", {"phone": OTHER_PHONE}),
        system.post("/unsubscribe", {"phone": OTHER_PHONE}),
    ]

    for response in refused:
        body = assert_error(response, 503, "codes_unavailable")
        assert 0 < body["retry_after"] <= 3600
        assert header(response, "Retry-After") == str(body["retry_after"])
    system.run_queues()
    assert texts_to(system, "+31611111111") == texts_to(system, OTHER_PHONE) == []
    # Each refusal is a line the alarm's metric filter counts.
    pattern = metric_filter_pattern()
    assert sum(pattern in r.getMessage() for r in app_log.records) == len(refused)


def metric_filter_pattern() -> str:
    """The quoted term the code budget's metric filter looks for in the API's log."""
    resources = json.loads(TEMPLATE.read_text())["Resources"]
    metric = resources["CodeBudgetExhaustedMetric"]["Properties"]
    assert metric["LogGroupName"] == {"Ref": "ApiHandlerLogGroup"}
    group = resources["ApiHandlerLogGroup"]["Properties"]["LogGroupName"]
    assert group == {"Fn::Sub": "/aws/lambda/${APIHandler}"}
    [transformation] = metric["MetricTransformations"]
    alarm = resources["CodeBudgetExhaustedAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )
    assert alarm["AlarmActions"] == [{"Ref": "OpsTopic"}]
    assert resources["OpsTopic"]["Properties"]["TopicName"] == "burgernet-ops"
    term = str(metric["FilterPattern"])
    assert term.startswith('"') and term.endswith('"')
    return term[1:-1]


# --- login and unsubscribe look the same for everyone ------------------------------------------


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS operation the app makes, in order ("dynamodb.UpdateItem", ...)."""
    calls: list[str] = []
    make_api_call = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation: str, params: Any) -> Any:
        calls.append(f"{self.meta.service_model.service_name}.{operation}")
        return make_api_call(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return calls


@pytest.mark.parametrize(
    ("route", "id_field"), [("/participants/login", "login_id"), ("/unsubscribe", "unsubscribe_id")]
)
def test_a_member_and_a_stranger_get_the_same_answer_after_the_same_work_and_only_the_member_a_code(
    utrecht: System, aws_calls: list[str], route: str, id_field: str
) -> None:
    system = utrecht
    add_participant(PHONE, DOM)
    system.post(route, {"phone": "06-55555555"})  # first use: queue URLs looked up, cached
    system.run_queues()
    asked = []
    for phone in (PHONE, OTHER_PHONE):
        aws_calls.clear()
        response = system.post(route, {"phone": phone})
        asked.append((response, list(aws_calls)))
    (member, member_calls), (stranger, stranger_calls) = asked

    assert member.status_code == stranger.status_code == 202
    assert set(member.json_body) == set(stranger.json_body) == {id_field, "expires_in"}
    assert member.json_body["expires_in"] == stranger.json_body["expires_in"]
    for answer in (member, stranger):
        uuid.UUID(answer.json_body[id_field])
    assert dict(member.headers) == dict(stranger.headers)
    # Nothing that takes longer for one of them: the same writes, the same one queued job.
    assert member_calls == stranger_calls
    assert member_calls[-1] == "sqs.SendMessageBatch" and "sns.Publish" not in member_calls
    assert texts_to(system, PHONE) == texts_to(system, OTHER_PHONE) == []  # nothing sent yet

    system.run_queues()

    assert len(texts_to(system, PHONE)) == 1
    assert texts_to(system, OTHER_PHONE) == []
    wrongs = [
        system.post(
            f"{route}/{'verify' if route.endswith('login') else 'confirm'}",
            {id_field: answer.json_body[id_field], "code": wrong(code_sent_to(system))},
        )
        for answer in (member, stranger)
    ]
    assert [w.status_code for w in wrongs] == [400, 400]
    assert wrongs[0].json_body == wrongs[1].json_body
    assert wrongs[0].json_body["error"] == "wrong_code"


# --- the code sender --------------------------------------------------------------------------


def login_code_job(system: System, phone: str = PHONE) -> tuple[str, dict[str, Any]]:
    """POST /participants/login for a member; its login id and its job, taken off the queue."""
    add_participant(phone, DOM)
    response = system.post("/participants/login", {"phone": phone})
    assert response.status_code == 202, response.body
    [job] = system.emulator.drain(CODES_QUEUE)
    return str(response.json_body["login_id"]), job


def log_in(system: System, login_id: str, code: str) -> Any:
    return system.post("/participants/login/verify", {"login_id": login_id, "code": code})


def test_a_request_locked_before_its_code_goes_out_never_gets_one(utrecht: System) -> None:
    system = utrecht
    login_id, job = login_code_job(system)
    for _ in range(5):
        assert_error(log_in(system, login_id, "000000"), 400, "wrong_code", "code")

    system.invoke("code_sender", CODES_QUEUE, [job])

    assert texts_to(system, PHONE) == []


def test_a_code_job_that_waited_past_the_codes_validity_sends_nothing(
    utrecht: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = utrecht
    _, job = login_code_job(system)
    later = datetime.now(UTC) + timedelta(minutes=16)
    monkeypatch.setattr(worker_handlers, "now", lambda: later)

    system.invoke("code_sender", CODES_QUEUE, [job])

    assert texts_to(system, PHONE) == []


def failing_sms(monkeypatch: pytest.MonkeyPatch, failure: SendFailed) -> None:
    """The next SMS fails with `failure`; later ones go out."""
    send = SnsSms.send
    failures = [failure]

    def once(self: SnsSms, phone: str, text: str) -> str:
        if failures:
            raise failures.pop()
        return send(self, phone, text)

    monkeypatch.setattr(SnsSms, "send", once)


def test_a_throttled_code_comes_back_from_the_queue_and_the_code_that_arrives_works(
    utrecht: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = utrecht
    login_id, job = login_code_job(system)
    failing_sms(monkeypatch, SendFailed("Throttling", retryable=True))

    first = system.invoke("code_sender", CODES_QUEUE, [job])
    assert first["batchItemFailures"] == [{"itemIdentifier": job["MessageId"]}]
    assert texts_to(system, PHONE) == []
    system.invoke("code_sender", CODES_QUEUE, [job])  # SQS delivers it again

    assert len(texts_to(system, PHONE)) == 1
    assert log_in(system, login_id, code_sent_to(system)).status_code == 200


def test_a_code_that_may_have_gone_out_is_not_sent_again(
    utrecht: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = utrecht
    _, job = login_code_job(system)
    failing_sms(monkeypatch, SendFailed("InternalError", retryable=False, ambiguous=True))

    result = system.invoke("code_sender", CODES_QUEUE, [job])

    assert result["batchItemFailures"] == []


# --- Logging in -----------------------------------------------------------------------------------


def test_a_participant_logs_in_with_a_code_and_sees_their_details(utrecht: System) -> None:
    system = utrecht
    participant_id = join(system)

    started = system.post("/participants/login", {"phone": "+31 6 1234 5678"})

    assert started.status_code == 202, started.body
    assert set(started.json_body) == {"login_id", "expires_in"}
    assert started.json_body["expires_in"] == 900
    system.run_queues()
    assert len(texts_to(system)) == 2
    verified = system.post(
        "/participants/login/verify",
        {"login_id": started.json_body["login_id"], "code": code_sent_to(system)},
    )
    assert verified.status_code == 200, verified.body
    assert verified.json_body["expires_in"] == 1800
    view = me(system, verified.json_body["token"])
    assert view["participant_id"] == participant_id
    assert view["phone"] == PHONE
    assert (view["language"], view["channel"], view["quiet_hours"]) == ("nl", "sms", None)
    assert [
        (p["label"], p["postcode"], p["house_number"], p["municipality"]) for p in view["places"]
    ] == [("home", "3511LX", "1", "GM0344")]


def test_a_login_for_an_unknown_phone_looks_the_same_and_sends_nothing(utrecht: System) -> None:
    system = utrecht
    join(system)
    known = system.post("/participants/login", {"phone": "06-12345678"})

    unknown = system.post("/participants/login", {"phone": "06-87654321"})
    system.run_queues()

    assert unknown.status_code == known.status_code == 202
    assert set(unknown.json_body) == set(known.json_body)
    assert unknown.json_body["expires_in"] == known.json_body["expires_in"]
    assert texts_to(system, OTHER_PHONE) == []


def test_a_wrong_login_code_gives_no_token(utrecht: System) -> None:
    system = utrecht
    join(system)
    started = system.post("/participants/login", {"phone": "06-12345678"})
    system.run_queues()

    response = system.post(
        "/participants/login/verify",
        {"login_id": started.json_body["login_id"], "code": wrong(code_sent_to(system))},
    )

    body = assert_error(response, 400, "wrong_code", "code")
    assert "token" not in body


# --- Unsubscribing --------------------------------------------------------------------------------


def test_unsubscribing_with_a_code_stops_the_alerts_and_says_goodbye(utrecht: System) -> None:
    system = utrecht
    join(system)
    unsubscribe_id = unsubscribe(system)
    assert "af te melden" in texts_to(system)[-1]

    response = confirm(system, unsubscribe_id, code_sent_to(system))

    assert response.status_code == 200, response.body
    assert response.json_body == {"status": "unsubscribed"}
    assert "afgemeld" in texts_to(system)[-1]
    assert not_alerted(system)
    # And they are unknown now: a login sends nothing.
    sent = len(texts_to(system))
    assert system.post("/participants/login", {"phone": PHONE}).status_code == 202
    system.run_queues()
    assert len(texts_to(system)) == sent


def test_unsubscribing_an_unknown_phone_looks_the_same_and_sends_nothing(
    utrecht: System,
) -> None:
    response = utrecht.post("/unsubscribe", {"phone": "06-87654321"})
    utrecht.run_queues()

    assert response.status_code == 202, response.body
    assert "unsubscribe_id" in response.json_body
    assert utrecht.emulator.sms() == []


def test_a_wrong_unsubscribe_code_changes_nothing(utrecht: System) -> None:
    system = utrecht
    join(system)
    unsubscribe_id = unsubscribe(system)

    response = confirm(system, unsubscribe_id, wrong(code_sent_to(system)))

    assert_error(response, 400, "wrong_code", "code")
    assert not any("afgemeld" in t for t in texts_to(system))
    assert alerted_once(system)
    assert me(system, login(system))["phone"] == PHONE


# --- All or nothing ----------------------------------------------------------------------------


def test_a_failed_unsubscribe_leaves_them_whole_and_the_code_still_works(
    utrecht: System, transaction_fault: TransactionFault
) -> None:
    system = utrecht
    join(system, places=[DOMPLEIN, {"label": "work", "lat": UITHOF[0], "lon": UITHOF[1]}])
    unsubscribe_id = unsubscribe(system)
    code = code_sent_to(system)
    transaction_fault.arm()

    failed = confirm(system, unsubscribe_id, code)

    assert transaction_fault.hits == 1
    assert failed.status_code >= 500, failed.body
    assert not any("afgemeld" in t for t in texts_to(system))
    assert alerted_once(system, DOM)
    assert alerted_once(system, UITHOF)

    retried = confirm(system, unsubscribe_id, code)

    assert retried.status_code == 200, retried.body
    assert not_alerted(system, DOM)
    assert not_alerted(system, UITHOF)
