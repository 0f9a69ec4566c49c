"""Public actions on Mastodon and X: a thread per action, each post made once, never a private one.

The real adapters post over HTTP on loopback: Mastodon.py to mastodon_mock (a stateful mock of
Mastodon's REST API that nobody here wrote), requests with OAuth 1.0a to our X stand-in
(tools/social_standin.py), since nothing else speaks X's API; SQS, DynamoDB and SSM are moto.
What is checked is what the networks' readers would see: Mastodon's posts are read back through
its API with Mastodon.py (the account's statuses, a thread's replies, the attached photo).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import runtime as runtime_module
from chalicelib.adapters.parameters import CredentialsUnavailable, read_social_credentials
from chalicelib.adapters.social import CREDENTIAL_KEYS, mastodon_network
from chalicelib.dal import actions as action_store
from chalicelib.dal.models import Action, Photo
from chalicelib.domain.model import PostState, Stage
from chalicelib.handlers import workers
from chalicelib.logic import social
from chalicelib.queues import SOCIAL_QUEUE, QueueError
from chalicelib.runtime import runtime
from tests.support.builders import UTRECHT, add_participant
from tests.support.mastodon import MastodonServer
from tests.support.system import REGION, System
from tools.posts import mastodon_posts
from tools.social_standin import CREDENTIALS, PHOTO, SocialStandIn, State, put_credentials

CREDENTIALS_PARAMETER = "/burgernet/social-credentials"
NETWORKS = ("mastodon", "x")
PUBLIC_URL = "https://www.burgernet.nl"


@pytest.fixture(scope="module")
def standin() -> Iterator[SocialStandIn]:
    """X on a loopback port (and photos to attach)."""
    server = SocialStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mastodon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MastodonServer]:
    """Burgernet's Mastodon account on mastodon_mock, on a loopback port."""
    server = MastodonServer(str(tmp_path_factory.mktemp("mastodon-media"))).start()
    yield server
    server.stop()


@pytest.fixture
def env(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    standin: SocialStandIn,
    mastodon: MastodonServer,
) -> Any:
    """The test stage, posting to both networks (each starting the test with no posts)."""
    standin.server.state = State()
    mastodon.reset()
    social_env = {
        "SOCIAL_NETWORKS": "mastodon,x",
        "MASTODON_URL": mastodon.url,
        "X_API_URL": standin.url,
        "PUBLIC_URL": PUBLIC_URL,
    }
    for name, value in social_env.items():
        monkeypatch.setenv(name, value)
    return {**env, **social_env}


@pytest.fixture
def posting(system: System) -> System:
    """The system, with the networks' credentials where the poster reads them."""
    store_credentials()
    return system


def store_credentials(value: str | None = None, kind: str = "SecureString") -> None:
    put_credentials(boto3.client("ssm", region_name=REGION), CREDENTIALS_PARAMETER, value, kind)


def action_body(**changes: Any) -> dict[str, Any]:
    return {
        "incident": "burglary",
        "description": "Man, circa 30 jaar, rode jas, zwarte fiets",
        "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 1000},
        "place": "Utrecht, Binnenstad",
        **changes,
    }


def start(system: System, **changes: Any) -> dict[str, Any]:
    response = system.post("/actions", action_body(**changes))
    assert response.status_code == 202
    body: dict[str, Any] = response.json_body
    return body


def run_posts(system: System, rounds: int = 1) -> list[dict[str, Any]]:
    """Feed the social queue to its handler; a failed message goes back, as SQS would redeliver
    it. Returns the messages still failing after the last round."""
    failing: list[dict[str, Any]] = []
    for _ in range(rounds):
        failing = []
        for message in system.emulator.drain(SOCIAL_QUEUE):
            result = system.invoke("social_poster", SOCIAL_QUEUE, [message])
            if result["batchItemFailures"]:
                failing.append(message)
        requeue(system, failing)
    return failing


def requeue(system: System, messages: list[dict[str, Any]]) -> None:
    url = system.emulator.sqs.get_queue_url(QueueName=SOCIAL_QUEUE)["QueueUrl"]
    for message in messages:
        system.emulator.sqs.send_message(QueueUrl=url, MessageBody=message["Body"])


def add_update(system: System, action_id: str, message: str, description: str | None = None) -> str:
    """POST /actions/{id}/updates, as dispatch sends it."""
    body = {"message": message, **({"description": description} if description else {})}
    response = system.post(f"/actions/{action_id}/updates", body)
    assert response.status_code == 202, response.body
    return str(response.json_body["update_id"])


# --- the thread -----------------------------------------------------------------------------


def test_a_public_action_is_a_post_and_its_update_and_result_reply_in_its_thread(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    action = start(posting)
    run_posts(posting)
    add_update(
        posting, action["action_id"], "Nu te voet richting het station.", "Man, rode jas, te voet"
    )
    run_posts(posting)
    posting.post(f"/actions/{action['action_id']}/close", {"outcome": "arrested"})
    run_posts(posting)

    ref, link = action["ref"], f"{PUBLIC_URL}/a/{action['ref']}"
    # Mastodon, read back through its API: three public Dutch posts, the update and the result
    # in the start post's thread, and nothing but the action's public texts.
    first, update, result = mastodon.statuses()
    assert first.text == (
        "Burgernet: inbraak in Utrecht, Binnenstad. De politie zoekt: Man, circa 30 jaar, rode "
        "jas, zwarte fiets. Ziet u deze persoon of dit voertuig? Bel direct gratis 0800-0011 en "
        f"noem ref. {ref}. {link}"
    )
    assert update.text == (
        "Update Burgernet, inbraak in Utrecht, Binnenstad: Nu te voet richting het station. "
        f"Signalement: Man, rode jas, te voet. Gezien? Bel direct gratis 0800-0011 en noem ref. "
        f"{ref}. {link}"
    )
    assert "Er is een verdachte aangehouden." in result.text
    assert result.text.endswith(f"0800-0011 en noem ref. {ref}. Bedankt voor uw hulp! {link}")
    assert (first.in_reply_to, update.in_reply_to, result.in_reply_to) == (None, first.id, first.id)
    assert mastodon.replies(first.id) == [update, result]
    assert {(s.visibility, s.language) for s in (first, update, result)} == {("public", "nl")}

    x_first, x_update, x_result = standin.posts()
    assert x_first.in_reply_to is None
    assert x_first.text.startswith("Burgernet: inbraak in Utrecht, Binnenstad. De politie zoekt:")
    assert "Nu te voet richting het station." in x_update.text
    assert "Er is een verdachte aangehouden." in x_result.text
    assert (x_update.in_reply_to, x_result.in_reply_to) == (x_first.id, x_first.id)
    for post in (x_first, x_update, x_result):
        assert f"0800-0011 en noem ref. {ref}." in post.text
        assert post.text.endswith(link)


def test_an_exercise_is_never_posted_by_default(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    action = start(posting, exercise=True)
    add_update(posting, action["action_id"], "Nu te voet.")
    posting.post(f"/actions/{action['action_id']}/close", {"outcome": "found"})

    # Asked for like any public action's posts, and refused by the poster: a drill on an account
    # people follow for news reads as a real search.
    assert run_posts(posting) == []
    assert (mastodon.statuses(), standin.posts()) == ([], [])
    assert action_store.get_action(action["action_id"]).posts.as_dict() == {}


def test_a_region_that_posts_exercises_gets_each_post_marked_as_one(
    posting: System,
    standin: SocialStandIn,
    mastodon: MastodonServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOCIAL_POST_EXERCISES", "true")
    runtime_module.reset()  # settings are read once per cold start: this is a new one
    runtime_module.runtime()
    action = start(posting, exercise=True)
    assert run_posts(posting) == []
    posting.post(f"/actions/{action['action_id']}/close", {"outcome": "found"})
    assert run_posts(posting) == []

    for posts in (mastodon.statuses(), standin.posts()):
        assert len(posts) == 2
        assert all(p.text.startswith("OEFENING, geen echte actie. Burgernet") for p in posts)


def test_an_expired_action_gets_its_result_reply_too(
    posting: System,
    standin: SocialStandIn,
    mastodon: MastodonServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start(posting, duration_minutes=5)
    run_posts(posting)
    later = datetime.now(UTC) + timedelta(minutes=6)
    monkeypatch.setattr(workers, "now", lambda: later)

    assert posting.sweep()["expired"] == 1
    run_posts(posting)

    for first, result in (mastodon.statuses(), standin.posts()):
        assert result.in_reply_to == first.id
        assert "de actie is beëindigd." in result.text


def test_the_photo_goes_with_the_post_on_mastodon(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    action = start(posting)
    photo = Photo(large=f"{standin.url}/photos/large.png", small=f"{standin.url}/photos/small.png")
    Action(action["action_id"]).update(actions=[Action.photo.set(photo)])
    run_posts(posting)
    posting.post(f"/actions/{action['action_id']}/close", {"outcome": "found"})
    run_posts(posting)

    first, result = mastodon.statuses()
    (attached,) = first.media
    assert (attached["type"], attached["description"]) == ("image", "Foto bij deze Burgernet-actie")
    assert mastodon.fetch(attached["url"]) == PHOTO  # the public photo, nothing else
    assert result.media == []  # the result shows no one anymore


def test_a_photo_that_cannot_be_fetched_does_not_hold_the_post_back(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    action = start(posting)
    gone = Photo(large=f"{standin.url}/nothing-here.png", small=f"{standin.url}/nothing.png")
    Action(action["action_id"]).update(actions=[Action.photo.set(gone)])

    assert run_posts(posting) == []
    (post,) = mastodon.statuses()
    assert post.media == []


# --- never a private action -----------------------------------------------------------------


def test_a_non_public_action_is_never_posted_not_even_when_asked_to(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    action = start(posting, public=False)
    add_update(posting, action["action_id"], "Nu te voet.")
    posting.post(f"/actions/{action['action_id']}/close", {"outcome": "found"})
    assert posting.emulator.drain(SOCIAL_QUEUE) == []  # nothing asked for

    # Messages for it anyway (a caller that forgot to check): still nothing posted.
    for kind in ("start", "result"):
        social.enqueue(runtime().posts, action["action_id"], kind)
    social.enqueue(runtime().posts, action["action_id"], "update", "an-update")
    assert run_posts(posting) == []
    assert (mastodon.statuses(), standin.posts()) == ([], [])


# --- once, and never in the way of an alert -------------------------------------------------


def test_the_first_post_id_recorded_stands(posting: System) -> None:
    action_id = start(posting)["action_id"]

    assert action_store.record_post(action_id, "x", "start", "111") == "111"
    assert action_store.record_post(action_id, "x", "start", "222") == "111"  # a racing second run
    assert action_store.posted(action_store.get_action(action_id), "x", "start") == "111"


def test_a_redelivered_message_posts_nothing_twice(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    start(posting)
    (message,) = posting.emulator.drain(SOCIAL_QUEUE)

    for _ in range(3):  # SQS delivers at least once
        result = posting.invoke("social_poster", SOCIAL_QUEUE, [message])
        assert result["batchItemFailures"] == []

    assert (len(mastodon.statuses()), len(standin.posts())) == (1, 1)


def test_a_post_whose_answer_was_lost_is_not_made_again(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    action = start(posting)
    standin.state.lose_answers = True  # each post is made, its answer never comes
    with mastodon.answers_lost():
        assert len(run_posts(posting)) == 1
    standin.state.lose_answers = False
    assert (len(mastodon.statuses()), len(standin.posts())) == (1, 1)

    still_failing = run_posts(posting)

    # Mastodon answers the repeat with the first post (Idempotency-Key); X refuses it as a
    # duplicate, and the post is found among our own recent posts: both ids are in the ledger.
    [toot], [tweet] = mastodon.statuses(), standin.posts()
    assert (len(mastodon.statuses()), len(standin.posts())) == (1, 1)
    assert still_failing == []
    stored = action_store.get_action(action["action_id"])
    assert action_store.posted(stored, "mastodon", "start") == toot.id
    assert action_store.posted(stored, "x", "start") == tweet.id


def test_an_x_start_post_whose_answer_was_lost_still_gets_its_thread_each_reply_once(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    # An & is escaped, and the link shortened, in the text X gives back: it still matches.
    action = start(posting, description="Man, rode jas & zwarte fiets")
    standin.state.lose_answers = True
    run_posts(posting)  # X made the start post; its answer was lost
    standin.state.lose_answers = False
    add_update(posting, action["action_id"], "Nu te voet richting het station.")
    posting.post(f"/actions/{action['action_id']}/close", {"outcome": "arrested"})

    assert run_posts(posting, rounds=2) == []  # the start's retry, then the replies

    first, update, result = standin.posts()
    assert "rode jas & zwarte fiets" in first.text
    assert "Nu te voet richting het station." in update.text
    assert "Er is een verdachte aangehouden." in result.text
    assert (first.in_reply_to, update.in_reply_to, result.in_reply_to) == (None, first.id, first.id)
    assert len(mastodon.replies(mastodon.statuses()[0].id)) == 2


def test_an_x_reply_whose_answer_was_lost_is_found_in_its_thread_not_made_again(
    posting: System, standin: SocialStandIn
) -> None:
    action = start(posting)
    run_posts(posting)
    add_update(posting, action["action_id"], "Nu te voet richting het station.")
    standin.state.lose_answers = True
    assert len(run_posts(posting)) == 1  # the update reply was made; its answer lost
    standin.state.lose_answers = False

    assert run_posts(posting) == []

    first, update = standin.posts()
    assert update.in_reply_to == first.id
    [stored_update] = action_store.get_action(action["action_id"]).updates
    stored = action_store.get_action(action["action_id"])
    assert action_store.posted(stored, "x", stored_update.update_id) == update.id


def test_an_x_duplicate_not_among_our_recent_posts_is_tried_again_not_guessed(
    posting: System, standin: SocialStandIn
) -> None:
    action = start(posting)
    standin.state.lose_answers = True
    run_posts(posting)
    standin.state.lose_answers = False
    standin.state.timeline_hidden = True  # X's timeline lags, or the post scrolled out of it

    assert len(run_posts(posting)) == 1  # still outstanding: SQS tries again later
    assert action_store.posted(action_store.get_action(action["action_id"]), "x", "start") is None

    standin.state.timeline_hidden = False
    assert run_posts(posting) == []
    assert len(standin.posts()) == 1


def test_a_network_outage_never_delays_an_alert_and_its_posts_follow_when_it_is_back(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    add_participant("+31610000001", UTRECHT)
    mastodon.down()

    start(posting)
    posting.run_queues()
    assert len(posting.emulator.sms_to("+31610000001")) == 1  # the alert went out

    assert len(run_posts(posting, rounds=3)) == 1  # X posted, Mastodon tried again and again
    mastodon.up()
    assert (mastodon.statuses(), len(standin.posts())) == ([], 1)

    assert run_posts(posting) == []
    assert (len(mastodon.statuses()), len(standin.posts())) == (1, 1)  # X not posted twice


def test_a_reply_waits_until_its_threads_start_post_exists(
    posting: System, standin: SocialStandIn, mastodon: MastodonServer
) -> None:
    mastodon.down()
    action = start(posting)
    run_posts(posting)  # X has its start post; Mastodon's is still to come
    posting.post(f"/actions/{action['action_id']}/close", {"outcome": "arrested"})
    pending = posting.emulator.drain(SOCIAL_QUEUE)  # the start (tried again), the result
    mastodon.up()

    # The result comes round before the start: on Mastodon it must wait for its thread.
    requeue(posting, pending[::-1])
    assert len(run_posts(posting)) == 1
    assert [p.in_reply_to for p in mastodon.statuses()] == [None]  # the start only
    run_posts(posting)

    for first, result in (mastodon.statuses(), standin.posts()):
        assert "Burgernet: inbraak" in first.text
        assert result.in_reply_to == first.id


def test_when_the_social_queue_refuses_the_action_still_starts_and_alerts(
    posting: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_participant("+31610000001", UTRECHT)
    queue = runtime().posts
    assert queue is not None

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise QueueError("1 of 1 messages refused by burgernet-social: ServiceUnavailable")

    monkeypatch.setattr(queue, "send", refuse)

    start(posting)
    posting.run_queues()
    assert len(posting.emulator.sms_to("+31610000001")) == 1


# --- taken back at redaction ---------------------------------------------------------------


def redaction_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers' clock, a minute past the days a closed action's free text is kept."""
    days = int(runtime().settings.keep_descriptions_days)
    later = datetime.now(UTC) + timedelta(days=days, minutes=1)
    monkeypatch.setattr(workers, "now", lambda: later)


def posted_thread(system: System, **changes: Any) -> str:
    """A public action with its start, an update and its result posted on both networks."""
    action_id = str(start(system, **changes)["action_id"])
    add_update(system, action_id, "Nu te voet richting het station.")
    system.post(f"/actions/{action_id}/close", {"outcome": "arrested"})
    assert run_posts(system, rounds=2) == []
    return action_id


def ledger(action_id: str) -> dict[str, str]:
    """The post ledger's state of each post: "<network>:<slot>" -> posted | deleted | ..."""
    action = action_store.get_action(action_id)
    return {key: action_store.post_state(action, key) for key in action_store.made_posts(action)}


def test_redaction_deletes_every_post_of_the_action_and_the_ledger_says_so(
    posting: System,
    standin: SocialStandIn,
    mastodon: MastodonServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    action_id = posted_thread(posting)
    assert (len(mastodon.statuses()), len(standin.posts())) == (3, 3)
    redaction_day(monkeypatch)
    other = start(posting)  # a newer action: its post stays
    assert run_posts(posting) == []

    assert posting.sweep()["redacted"] == 1
    assert run_posts(posting) == []

    # What a reader sees: only the newer action's posts (its start, and the result the sweep
    # gave it when it ran out of time), on either network.
    toots, tweets = mastodon.statuses(), standin.posts()
    assert (len(toots), len(tweets)) == (2, 2)
    assert all(other["ref"] in post.text for post in [*toots, *tweets])
    assert set(ledger(action_id).values()) == {PostState.DELETED}
    assert len(ledger(action_id)) == 6  # start, update and result on both networks
    assert set(ledger(other["action_id"]).values()) == {PostState.POSTED}


def test_a_redelivered_take_back_and_a_second_sweep_send_no_second_delete(
    posting: System,
    standin: SocialStandIn,
    mastodon: MastodonServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    action_id = posted_thread(posting)
    redaction_day(monkeypatch)
    posting.sweep()
    (message,) = posting.emulator.drain(SOCIAL_QUEUE)
    assert posting.invoke("social_poster", SOCIAL_QUEUE, [message])["batchItemFailures"] == []

    with mastodon.requests_sent() as sent:
        for _ in range(2):  # SQS delivers at least once
            result = posting.invoke("social_poster", SOCIAL_QUEUE, [message])
            assert result["batchItemFailures"] == []
        assert posting.sweep()["redacted"] == 0  # no longer due: nothing asked again
        assert run_posts(posting) == []

    assert [m for m, _ in sent if m == "DELETE"] == []
    assert len(standin.state.delete_requests) == 3  # each X post's DELETE, once
    assert len(set(standin.state.delete_requests)) == 3
    assert set(ledger(action_id).values()) == {PostState.DELETED}


def test_a_post_already_gone_from_the_network_counts_as_deleted(
    posting: System,
    standin: SocialStandIn,
    mastodon: MastodonServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    action_id = start(posting)["action_id"]
    assert run_posts(posting) == []
    posting.post(f"/actions/{action_id}/close", {"outcome": "found"})
    assert run_posts(posting) == []
    [start_toot, _] = mastodon.statuses()
    mastodon.delete(start_toot.id)  # a moderator took it down first: Mastodon answers 404
    standin.state.posts = standin.state.posts[1:]  # and X's start post went too
    redaction_day(monkeypatch)

    posting.sweep()

    assert run_posts(posting) == []
    assert (mastodon.statuses(), standin.posts()) == ([], [])
    assert set(ledger(action_id).values()) == {PostState.DELETED}


def test_a_refused_delete_stays_in_the_ledger_and_the_queue_until_it_is_done(
    posting: System,
    standin: SocialStandIn,
    mastodon: MastodonServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    action_id = posted_thread(posting)
    redaction_day(monkeypatch)
    standin.state.refuse_deletes = 429  # X throttles
    mastodon.refuse("DELETE", 503)  # Mastodon is down for deletes

    posting.sweep()
    assert len(run_posts(posting, rounds=2)) == 1  # back in the queue each time

    assert set(ledger(action_id).values()) == {PostState.DELETE_FAILED}
    assert (len(mastodon.statuses()), len(standin.posts())) == (3, 3)  # still to be read
    standin.state.refuse_deletes = None
    mastodon.up()

    assert run_posts(posting) == []
    assert (mastodon.statuses(), standin.posts()) == ([], [])
    assert set(ledger(action_id).values()) == {PostState.DELETED}


def test_deleted_is_final_in_the_ledger_even_for_an_action_stored_before_post_states(
    posting: System,
) -> None:
    action_id = start(posting)["action_id"]
    # As an action written before the ledger kept states: a post id, no post_states at all.
    Action(action_id).update(
        actions=[Action.post_states.remove(), Action.posts.set({"x:start": "1800000000000000001"})]
    )

    action_store.record_post_state(action_id, "x:start", PostState.DELETE_FAILED)
    action_store.record_post_state(action_id, "x:start", PostState.DELETED)
    # A second poster whose DELETE failed late (X answered 503 after the other's 200).
    action_store.record_post_state(action_id, "x:start", PostState.DELETE_FAILED)

    assert ledger(action_id) == {"x:start": PostState.DELETED}


def test_a_post_message_that_comes_after_the_redaction_posts_nothing(
    posting: System,
    standin: SocialStandIn,
    mastodon: MastodonServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    action_id = start(posting)["action_id"]
    assert run_posts(posting) == []
    posting.post(f"/actions/{action_id}/close", {"outcome": "found"})
    posting.emulator.drain(SOCIAL_QUEUE)  # the result's message, dead-lettered (say)
    redaction_day(monkeypatch)
    posting.sweep()
    assert run_posts(posting) == []

    social.enqueue(runtime().posts, action_id, Stage.RESULT)  # the DLQ redriven, by hand
    assert run_posts(posting) == []

    assert (mastodon.statuses(), standin.posts()) == ([], [])


def test_an_exercise_a_region_posted_is_taken_back_like_any_action(
    posting: System,
    standin: SocialStandIn,
    mastodon: MastodonServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOCIAL_POST_EXERCISES", "true")
    runtime_module.reset()
    runtime_module.runtime()
    posted_thread(posting, exercise=True)
    assert len(mastodon.statuses()) == 3
    redaction_day(monkeypatch)

    posting.sweep()
    assert run_posts(posting) == []

    assert (mastodon.statuses(), standin.posts()) == ([], [])


# --- make posts -----------------------------------------------------------------------------


def test_make_posts_reads_every_mastodon_post_back_oldest_first_as_a_reader_sees_it(
    env: dict[str, str], mastodon: MastodonServer
) -> None:
    account = mastodon_network(mastodon.url, CREDENTIALS["mastodon"])
    first = account.post("Rode jas & <zwarte> fiets, café", reply_to=None, photo_url=None, key="0")
    for n in range(1, 41):  # more than one page (Mastodon gives at most 40)
        account.post(f"Update {n}", reply_to=first, photo_url=None, key=str(n))

    posts = mastodon_posts(mastodon.url)

    assert len(posts) == 41
    assert posts[0] == {
        "network": "mastodon",
        "id": first,
        "text": "Rode jas & <zwarte> fiets, café",
        "in_reply_to": None,
    }
    assert [p["text"] for p in posts[1:]] == [f"Update {n}" for n in range(1, 41)]
    assert {p["in_reply_to"] for p in posts[1:]} == {first}


# --- credentials --------------------------------------------------------------------------


def test_credentials_come_from_a_secure_string_and_a_missing_key_is_named(system: System) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    needed = {n: CREDENTIAL_KEYS[n] for n in NETWORKS}
    store_credentials()
    assert read_social_credentials(ssm, CREDENTIALS_PARAMETER, needed) == CREDENTIALS

    store_credentials(json.dumps({"mastodon": CREDENTIALS["mastodon"], "x": {"api_key": "k"}}))
    with pytest.raises(CredentialsUnavailable) as missing:
        read_social_credentials(ssm, CREDENTIALS_PARAMETER, needed)
    assert str(missing.value).endswith("lacks x: api_secret, access_token, access_token_secret")
    assert "stand-in" not in str(missing.value)  # never a value

    store_credentials(kind="String")
    with pytest.raises(CredentialsUnavailable, match="must be a SecureString"):
        read_social_credentials(ssm, CREDENTIALS_PARAMETER, needed)
