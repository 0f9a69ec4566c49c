"""The delivery ledger: who was claimed for which action, and what happened to each message.

Every state change is a conditional write on one item, so redelivered queue messages,
overlapping scheduled runs and crashed workers never send anyone a second alert or result.

`alert_status`: queued -> sending -> sent | failed | unknown, or queued -> cancelled when the
action closed first. `unknown` is an ambiguous send (a lost answer, a crash mid-publish): it may
have reached the phone, so it is tried again at most once (`alert_retried`): on the provider's
record (logic/receipts.py), or for a push under the same collapse id (logic/sending.py).
`result_status` (only for people alerted): queued -> sending -> sent | failed | unknown, or
skipped when their alert did not knowably go out.

The action's counters are bumped with each transition (live progress for dispatch) and set from
a full pass over the ledger when the results are fanned out. Inside `counts_per_chunk` (a sender's
chunk) the bumps are gathered and written to the action item once, when the chunk ends: the
action item is one partition key, which the ledger's shards do not spread.

An action's deliveries are spread over SHARDS partition keys, `<action id>#<shard>`, the shard
a stable hash of the person: every function here takes the action id and finds the key itself.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pynamodb.attributes import MapAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action

from chalicelib.dal import models
from chalicelib.dal.models import MAX_CONNECTIONS, Delivery
from chalicelib.dal.pseudonyms import pseudonym
from chalicelib.dal.records import ActionRecord, DeliveryRecord
from chalicelib.domain.model import Channel, DeliveryStatus, Kind
from chalicelib.domain.receipts import RECONCILED
from chalicelib.tracing import carried

T = TypeVar("T")

CALLER = "caller"  # the pseudonym purpose of the caller index's phone_hash
# Partition keys per action. DynamoDB gives one key about 1,000 write units a second, and one
# action's peak (claims on 16 threads while its pushes and SMS already go out) is about 4,400
# ledger writes a second: 16 keys hold each near 300/s, about a third of the limit, with room
# for the spread of the hash. The arithmetic: docs/architecture.md#the-ledgers-partition-keys.
# Changing it moves every stored delivery to another key: only with an empty ledger.
SHARDS = 16
PAGE = 250  # deliveries a read takes from each shard at a time: SHARDS pages in memory at most
# An alert `sending` for longer than the sender Lambda's timeout was cut off mid-publish: whether
# it reached the phone is unknown, so its result is skipped rather than waited for forever.
ALERT_IN_FLIGHT = timedelta(minutes=6)
LEDGER_TTL = timedelta(days=90)  # long enough for questions and audits, then gone (AVG/GDPR)
CLAIM_THREADS = MAX_CONNECTIONS
# One pool for the process: targeting claims chunk after chunk, and threads start only on use.
_claimers = ThreadPoolExecutor(max_workers=CLAIM_THREADS, thread_name_prefix="claim")
_readers = ThreadPoolExecutor(max_workers=SHARDS, thread_name_prefix="ledger-read")
# Alerts that did not knowably go out: their person gets no result.
NOT_KNOWABLY_ALERTED = frozenset(
    {DeliveryStatus.FAILED, DeliveryStatus.CANCELLED, DeliveryStatus.UNKNOWN}
)
# An alert sent or on its way: its person gets the result (its sender settles which it was).
IN_FLIGHT_OR_SENT = frozenset({DeliveryStatus.SENDING, DeliveryStatus.SENT})


@dataclass(frozen=True)
class Recipient:
    """A person chosen for an action, with what sending needs."""

    participant_id: str
    phone: str
    language: str
    channel: str
    distance_m: float
    device_id: str | None = None  # push: the app install
    endpoint_arn: str | None = None  # push: its SNS endpoint
    not_before: datetime | None = None  # a call held until the person's quiet hours end


def shard_of(participant_id: str) -> int:
    """The shard of a person's deliveries: the same in every process and every release."""
    # crc32, not hash(): Python salts the hash of a str per process.
    return zlib.crc32(participant_id.encode()) % SHARDS


def ledger_key(action_id: str, participant_id: str) -> str:
    """The partition key of one person's delivery for one action."""
    return f"{action_id}#{shard_of(participant_id):02d}"


def ledger_keys(action_id: str) -> list[str]:
    """Every partition key an action's deliveries may have."""
    return [f"{action_id}#{shard:02d}" for shard in range(SHARDS)]


def ledger_item(delivery: DeliveryRecord) -> Delivery:
    """The stored item behind a record this module handed out: a write refreshes it in place."""
    if not isinstance(delivery, Delivery):
        raise TypeError(f"not a ledger item: {type(delivery).__name__}")
    return delivery


def _conditional_failed(exc: PutError | UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


def _on_pool(write: Callable[[T], bool], items: Sequence[T]) -> Iterator[bool]:
    """`write` for each item, CLAIM_THREADS at a time on the claim pool, answers in order."""
    # pynamodb makes a model's client on first use, without a lock: made here, before the pool,
    # so a cold start's threads share one client instead of each building their own.
    _ = Delivery._get_connection().connection.client
    return _claimers.map(carried(write), items)


def claim(action_id: str, recipients: Sequence[Recipient], now: datetime) -> int:
    """Claim each recipient for the action, at most once ever; return how many were new."""

    def claim_one(r: Recipient) -> bool:
        delivery = Delivery(
            ledger_key(action_id, r.participant_id),
            r.participant_id,
            action_id=action_id,
            phone=r.phone,
            phone_hash=pseudonym(CALLER, r.phone) if r.phone else None,  # an app has none
            language=r.language,
            channel=r.channel,
            distance_m=round(r.distance_m),
            device_id=r.device_id,
            endpoint_arn=r.endpoint_arn,
            claimed_at=now,
            alert_status=DeliveryStatus.QUEUED,
            update_status={},
            expires=now + LEDGER_TTL,
        )
        try:
            delivery.save(condition=Delivery.ledger_key.does_not_exist())
        except PutError as exc:
            if not _conditional_failed(exc):
                raise
            return False  # claimed before: by an earlier, interrupted run
        return True

    new = sum(_on_pool(claim_one, recipients))
    add_counts(action_id, targeted=new)
    return new


def load(action_id: str, participant_ids: Sequence[str]) -> list[Delivery]:
    """The ledger entries of these people for this action (consistent reads), in the given order."""
    keys = [(ledger_key(action_id, pid), pid) for pid in participant_ids]
    found = {d.participant_id: d for d in Delivery.batch_get(keys, consistent_read=True)}
    return [found[pid] for pid in participant_ids if pid in found]


def _fields(
    kind: Kind, update_id: str | None
) -> tuple[Path, UTCDateTimeAttribute | None, UnicodeAttribute | None]:
    """Where the ledger keeps a message's status, when it was sent, and the provider's id.

    The status is a path, written with the status's value: an update's status is a key of a
    raw map, which stores only plain strings, and the status attributes take them too.
    """
    if kind is Kind.ALERT:
        return Path(Delivery.alert_status), Delivery.alert_at, Delivery.alert_message_id
    if kind is Kind.RESULT:
        return Path(Delivery.result_status), Delivery.result_at, Delivery.result_message_id
    if update_id is None:
        raise ValueError("an update's ledger step needs its update id")
    return Delivery.update_status[update_id], None, None  # the alert's time and id suffice


def _transition(
    delivery: DeliveryRecord,
    kind: Kind,
    before: DeliveryStatus,
    after: DeliveryStatus,
    now: datetime | None = None,
    update_id: str | None = None,
) -> bool:
    status, at, _ = _fields(kind, update_id)
    condition = status == before.value
    if kind is not Kind.ALERT and after is DeliveryStatus.SENDING:
        # results and updates: only to the alerted
        condition &= Delivery.alert_status == DeliveryStatus.SENT
    updates: list[Action] = [status.set(after.value)]
    if now is not None and at is not None:
        updates.append(at.set(now))
    return _conditional_update(delivery, updates, condition)


def start_sending(
    delivery: DeliveryRecord, kind: Kind, now: datetime, update_id: str | None = None
) -> bool:
    """Take a queued message for sending (noting since when); False if another run has it."""
    return _transition(
        delivery, kind, DeliveryStatus.QUEUED, DeliveryStatus.SENDING, now, update_id
    )


def release(delivery: DeliveryRecord, kind: Kind, update_id: str | None = None) -> None:
    """Put a message whose send was refused for now (throttled) back to queued."""
    _transition(delivery, kind, DeliveryStatus.SENDING, DeliveryStatus.QUEUED, update_id=update_id)


def finish_sending(
    delivery: DeliveryRecord,
    kind: Kind,
    outcome: DeliveryStatus,
    now: datetime,
    message_id: str | None = None,
    also: Sequence[Action] = (),
    update_id: str | None = None,
    line: int | None = None,
) -> None:
    """Record how a message's send ended (sent, failed or unknown; with the provider's id when
    sent), and count it.

    `also` adds channel-specific fields to the same write; `line` notes the call line an
    unknown call may still hold. An update is counted on the action by its sender, a chunk at
    a time.
    """
    status, at, msg = _fields(kind, update_id)
    updates: list[Action] = [status.set(outcome.value), *also]
    if line is not None:
        updates.append(Delivery.voice_line.set(line))
    if at is not None:
        updates.append(at.set(now))
    if message_id and msg is not None:
        updates.append(msg.set(message_id))
    ledger_item(delivery).update(actions=updates, condition=status == DeliveryStatus.SENDING.value)
    if kind is not Kind.UPDATE:
        prefix = "" if kind is Kind.ALERT else "results_"
        # An ambiguous alert is noted on the action in the same write that counts it, so the
        # sweep's reconciliation finds it without reading the ledger. Not a push: nothing settles
        # it (no receipts), and each note makes every write of the action item dearer.
        unsettled = (
            kind is Kind.ALERT
            and outcome is DeliveryStatus.UNKNOWN
            and Channel(delivery.channel) in RECONCILED
        )
        also_action = [_unsettled().add({delivery.participant_id})] if unsettled else []
        _bump(delivery.action_id, {prefix + outcome.value: 1}, also_action)


def cut_off(delivery: DeliveryRecord, now: datetime, after: timedelta = ALERT_IN_FLIGHT) -> bool:
    """An alert `sending` for longer than its sender may run (`after`; by default the longest
    of any channel): its worker died mid-publish."""
    return (
        delivery.alert_status is DeliveryStatus.SENDING
        and delivery.alert_at is not None
        and now - delivery.alert_at >= after
    )


def settle_cut_off_alert(delivery: DeliveryRecord, now: datetime) -> bool:
    """An alert left `sending` by a worker that died mid-publish: unknown; False if it moved on."""
    if not _transition(delivery, Kind.ALERT, DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN, now):
        return False
    _bump(
        delivery.action_id,
        {DeliveryStatus.UNKNOWN.value: 1},
        [_unsettled().add({delivery.participant_id})],
    )
    return True


def cancel_unsent_alert(delivery: DeliveryRecord) -> None:
    """Cancel an alert still queued when its action closed (no-op if it moved on already)."""
    if _transition(delivery, Kind.ALERT, DeliveryStatus.QUEUED, DeliveryStatus.CANCELLED):
        add_counts(delivery.action_id, cancelled=1)


def skip_result(delivery: DeliveryRecord) -> None:
    """Drop a queued result for someone whose alert did not (knowably) go out."""
    _transition(delivery, Kind.RESULT, DeliveryStatus.QUEUED, DeliveryStatus.SKIPPED)


def skip_update(delivery: DeliveryRecord, update_id: str) -> None:
    """Drop a queued update whose action closed first: the result says what matters now."""
    _transition(
        delivery, Kind.UPDATE, DeliveryStatus.QUEUED, DeliveryStatus.SKIPPED, update_id=update_id
    )


def update_statuses(delivery: DeliveryRecord) -> dict[str, DeliveryStatus]:
    """Update id -> how its message to this person stands."""
    raw: Any = ledger_item(delivery).update_status
    stored = raw.as_dict() if isinstance(raw, MapAttribute) else raw or {}
    return {update_id: DeliveryStatus(status) for update_id, status in stored.items()}


def queue_update(delivery: DeliveryRecord, update_id: str) -> bool:
    """Queue an update for a person alerted; True if it is (now, or still) queued to be sent."""
    status = update_statuses(delivery).get(update_id)
    if status is DeliveryStatus.QUEUED:
        return True  # queued by an earlier run that may have crashed before enqueueing
    if status is not None or delivery.alert_status is not DeliveryStatus.SENT:
        return False
    path = Delivery.update_status[update_id]
    try:
        ledger_item(delivery).update(
            actions=[path.set(DeliveryStatus.QUEUED.value)],  # a raw map: stored as the string
            condition=path.does_not_exist() & (Delivery.alert_status == DeliveryStatus.SENT),
        )
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise
        return False
    return True


def queue_result(delivery: DeliveryRecord) -> bool:
    """Queue an alerted person's result; True if it is (now, or still) queued to be sent."""
    if delivery.result_status is DeliveryStatus.QUEUED:
        return True  # queued by an earlier run that may have crashed before enqueueing
    if delivery.result_status is not None or delivery.alert_status not in IN_FLIGHT_OR_SENT:
        return False
    try:
        ledger_item(delivery).update(
            actions=[Delivery.result_status.set(DeliveryStatus.QUEUED)],
            condition=Delivery.result_status.does_not_exist(),
        )
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise
        return False
    return True


def queue_results(deliveries: Sequence[DeliveryRecord]) -> list[DeliveryRecord]:
    """The people among `deliveries` whose result is (now, or still) queued: queue_result for
    each, on the claim pool. One write at a time, a 100,000-person close queued about 200 a
    second, and its result SMS went out at half the rate (docs/benchmarks.md)."""
    queued = _on_pool(queue_result, deliveries)
    return [d for d, ok in zip(deliveries, queued, strict=True) if ok]


def _page(
    key: str, start: dict[str, Any] | None, attributes: Sequence[str] | None
) -> tuple[list[Delivery], dict[str, Any] | None]:
    """One page of one shard from `start`, and where the next begins (None: the shard is done)."""
    found = Delivery.query(
        key,
        consistent_read=True,
        limit=PAGE,
        page_size=PAGE,
        last_evaluated_key=start,
        attributes_to_get=attributes,
    )
    page = list(found)
    return page, found.last_evaluated_key


def ledger(action_id: str, attributes: Sequence[str] | None = None) -> Iterator[Delivery]:
    """Every delivery of an action (only `attributes` of each, if given), page by page.

    Each round reads the next page of every shard not yet done, side by side, then hands them
    out: nothing is read ahead while the caller works through a round, so at most SHARDS pages
    are held at once.
    """
    read = carried(_page)
    starts: dict[str, dict[str, Any] | None] = dict.fromkeys(ledger_keys(action_id))
    while starts:
        pages: dict[str, Future[tuple[list[Delivery], dict[str, Any] | None]]] = {
            key: _readers.submit(read, key, start, attributes) for key, start in starts.items()
        }
        starts = {}
        for key, future in pages.items():
            page, start = future.result()
            if start is not None:
                starts[key] = start
            yield from page


def add_counts(action_id: str, **deltas: int) -> None:
    """Add to the action's live counters."""
    _bump(action_id, deltas)


# The counters a full pass over the ledger sets (set_alert_counts), by the alert state each counts.
ALERT_COUNTERS = {
    DeliveryStatus.SENT: models.Action.sent,
    DeliveryStatus.FAILED: models.Action.failed,
    DeliveryStatus.CANCELLED: models.Action.cancelled,
    DeliveryStatus.UNKNOWN: models.Action.unknown,
}


def set_alert_counts(action_id: str, alerts: Counter[DeliveryStatus]) -> None:
    """Overwrite the action's alert counters with the ledger's truth (a tally of its ledger)."""
    action = models.Action
    action(action_id).update(
        actions=[
            action.targeted.set(alerts.total()),
            *(counter.set(alerts[state]) for state, counter in ALERT_COUNTERS.items()),
            action.recounts.add(1),  # chunks counting since before this pass must not add to it
        ]
    )


def recount_alerts(action_id: str) -> None:
    """Set the action's alert counters from a full pass over its ledger."""
    set_alert_counts(
        action_id, Counter(d.alert_status for d in ledger(action_id, ["alert_status"]))
    )


@dataclass
class _Gathered:
    """One action's counter deltas, gathered over a chunk and not yet written.

    `recounts` is the action's count of full passes when the chunk read it: if a pass ran since,
    it may have counted some of the chunk's alerts already, so the gathered alert deltas are not
    added; the alert counters are set from the ledger once more instead (only the chunks that
    overlap the close's pass: each sender instance's chunk then).
    """

    action_id: str
    recounts: float | None
    deltas: Counter[str] = field(default_factory=Counter)
    recounted: bool = False

    def write(self, also: Sequence[Action] = ()) -> None:
        names = {c.attr_name for c in (*ALERT_COUNTERS.values(), models.Action.targeted)}
        alerts = {k: v for k, v in self.deltas.items() if k in names and v}
        others = {k: v for k, v in self.deltas.items() if k not in names}
        self.deltas.clear()
        if not alerts:
            _write(self.action_id, others, also)
            return
        if not self.recounted:
            seen = models.Action.recounts
            unchanged = seen.does_not_exist() if self.recounts is None else seen == self.recounts
            try:
                _write(self.action_id, alerts | others, also, condition=unchanged)
                return
            except UpdateError as exc:
                if not _conditional_failed(exc):
                    raise
        _write(self.action_id, others, also)
        recount_alerts(self.action_id)  # after this chunk's ledger writes: it counts them
        self.recounted = True  # the pass count moved on: the rest of the chunk recounts too


_gathering: ContextVar[_Gathered | None] = ContextVar("gathering", default=None)


@contextmanager
def counts_per_chunk(action: ActionRecord) -> Iterator[None]:
    """Within: the action's counter deltas are gathered and written in one update on leaving,
    however it is left (a crash too, unless the process dies first: the close's full pass over
    the ledger then sets the alert counters right)."""
    gathered = _Gathered(action.action_id, action.recounts)
    token = _gathering.set(gathered)
    try:
        yield
    finally:
        _gathering.reset(token)
        gathered.write()


def _bump(action_id: str, deltas: dict[str, int], also: Sequence[Action] = ()) -> None:
    gathered = _gathering.get()
    if gathered is None or gathered.action_id != action_id:
        _write(action_id, deltas, also)
        return
    gathered.deltas.update(deltas)
    if also:
        # A note for the sweep (an ambiguous alert) is not held back to the chunk's end: it goes
        # now, with what was gathered so far, so a dying run loses no more of it than before.
        gathered.write(also)


def _write(
    action_id: str, deltas: dict[str, int], also: Sequence[Action] = (), condition: Any = None
) -> None:
    updates = [getattr(models.Action, name).add(delta) for name, delta in deltas.items() if delta]
    updates.extend(also)
    if updates:
        models.Action(action_id).update(actions=updates, condition=condition)


def _unsettled() -> Any:
    return models.Action.unsettled


# Reconciling ambiguous alerts from the providers' receipts (logic/receipts.py).


def note_unsettled(delivery: DeliveryRecord) -> None:
    """Note an alert found left `sending` by a run that died, for the sweep to settle."""
    _bump(delivery.action_id, {}, [_unsettled().add({delivery.participant_id})])


def forget_unsettled(action_id: str, participant_ids: Sequence[str]) -> None:
    """These people's alerts need no more reconciling."""
    if participant_ids:
        _bump(action_id, {}, [_unsettled().delete(set(participant_ids))])


def unsettled_of(action: ActionRecord) -> list[Delivery]:
    """The deliveries an action notes as ambiguous and not yet settled (consistent reads)."""
    return load(action.action_id, sorted(action.unsettled or ()))


def receipt_candidates(phone: str, since: datetime) -> list[Delivery]:
    """Every delivery to this E.164 number claimed since `since`, read whole (caller index)."""
    people: dict[str, list[str]] = {}
    for hit in Delivery.by_caller.query(pseudonym(CALLER, phone), Delivery.claimed_at >= since):
        people.setdefault(hit.action_id, []).append(hit.participant_id)
    return [found for action_id, ids in people.items() for found in load(action_id, ids)]


def settle_ambiguous_alert(
    delivery: DeliveryRecord,
    before: DeliveryStatus,
    outcome: DeliveryStatus,
    message_id: str | None = None,
    also: Sequence[Action] = (),
) -> bool:
    """An ambiguous alert (`before`: unknown, or sending when cut off) settled from the
    provider's record as sent or failed, and counted; False if it moved on meanwhile."""
    updates: list[Action] = [Delivery.alert_status.set(outcome), *also]
    if message_id and not delivery.alert_message_id:
        updates.append(Delivery.alert_message_id.set(message_id))
    if not _conditional_update(delivery, updates, Delivery.alert_status == before):
        return False
    deltas = {outcome.value: 1}
    if before is DeliveryStatus.UNKNOWN:
        deltas[DeliveryStatus.UNKNOWN.value] = -1
    _bump(delivery.action_id, deltas, [_unsettled().delete({delivery.participant_id})])
    return True


def retry_ambiguous_alert(delivery: DeliveryRecord, before: DeliveryStatus) -> bool:
    """Queue an ambiguous alert once more, exactly once: the same write marks it retried, on
    the condition that it was not; False if it was, or it moved on meanwhile."""
    updates: list[Action] = [
        Delivery.alert_status.set(DeliveryStatus.QUEUED),
        Delivery.alert_retried.set(True),
    ]
    condition = (Delivery.alert_status == before) & Delivery.alert_retried.does_not_exist()
    if not _conditional_update(delivery, updates, condition):
        return False
    deltas = {DeliveryStatus.UNKNOWN.value: -1} if before is DeliveryStatus.UNKNOWN else {}
    # A push was never noted for the sweep (finish_sending): nothing to forget on the action item.
    noted = Channel(delivery.channel) in RECONCILED
    _bump(
        delivery.action_id,
        deltas,
        [_unsettled().delete({delivery.participant_id})] if noted else [],
    )
    return True


def _conditional_update(delivery: DeliveryRecord, updates: list[Action], condition: Any) -> bool:
    """Write `updates` if `condition` holds; False if it did not (someone moved it on first)."""
    try:
        ledger_item(delivery).update(actions=updates, condition=condition)
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise
        return False
    return True


def alerted_actions(phone: str, since: datetime) -> list[str]:
    """The actions that claimed this E.164 number since `since`, newest first (caller index)."""
    found = Delivery.by_caller.query(
        pseudonym(CALLER, phone), Delivery.claimed_at >= since, scan_index_forward=False
    )
    return [delivery.action_id for delivery in found]


def rehash_callers() -> int:
    """Recompute every caller-index hash under the bound key (after a new key); return how many.

    A hash whose phone is gone (the person was erased) cannot be recomputed and is removed.
    """
    changed = 0
    for delivery in Delivery.scan(Delivery.phone_hash.exists()):
        if delivery.phone:
            fresh = pseudonym(CALLER, delivery.phone)
            if fresh == delivery.phone_hash:
                continue
            update = Delivery.phone_hash.set(fresh)
        else:
            update = Delivery.phone_hash.remove()
        try:
            # Only items still there: the TTL or an erasure may have got there first.
            delivery.update(actions=[update], condition=Delivery.ledger_key.exists())
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
            continue
        changed += 1
    return changed


def strip_participant(participant_id: str) -> int:
    """Erasure: keep only the outcome of the person's deliveries; how many were stripped.

    What was not sent yet never will be (no phone to send to): a queued alert is cancelled and
    a result not yet under way is skipped. A send already under way finishes with the number
    its sender read before.
    """
    stripped = 0
    for delivery in Delivery.by_participant.query(participant_id):
        cancel_unsent_alert(delivery)
        try:
            delivery.update(
                actions=[Delivery.result_status.set(DeliveryStatus.SKIPPED)],
                condition=Delivery.ledger_key.exists()  # never recreate one TTL removed
                & (
                    Delivery.result_status.does_not_exist()
                    | (Delivery.result_status == DeliveryStatus.QUEUED)
                ),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
        try:
            delivery.update(
                actions=[
                    Delivery.phone.remove(),
                    Delivery.phone_hash.remove(),
                    Delivery.device_id.remove(),
                    Delivery.endpoint_arn.remove(),
                ],
                condition=Delivery.ledger_key.exists(),  # never recreate one TTL removed
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
            continue
        stripped += 1
    return stripped


# A participant's own deliveries, for their export (logic/account.py).


def of_participant(participant_id: str) -> list[Delivery]:
    """Every delivery to a participant, by action (AVG/GDPR article 15: what is kept of them)."""
    return list(Delivery.by_participant.query(participant_id))
