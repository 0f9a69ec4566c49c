"""Who gets which message: the alerts of a new action, and the results of a closed one.

Both passes run from the targeting queue, claim through the ledger's conditional writes, and hand
the sending to each channel's queue; running either twice sends nobody anything twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from chalicelib.dal import actions as action_store
from chalicelib.dal import deliveries as ledger
from chalicelib.dal import devices
from chalicelib.dal import progress as ledger_progress
from chalicelib.dal.deliveries import Recipient
from chalicelib.dal.participants import places_in
from chalicelib.dal.records import PlaceRecord
from chalicelib.domain.geo.shapes import Shape
from chalicelib.domain.metrics import Metric, Metrics
from chalicelib.domain.model import ActionStatus, Channel, DeliveryStatus, Fanout, Incident, Kind
from chalicelib.domain.phones import is_mobile
from chalicelib.domain.signup import QuietHours
from chalicelib.logic.work import SEND_CHUNK, Release, chunks, enqueue_by_channel
from chalicelib.logs import log_event
from chalicelib.queues import SQS_BATCH, WorkQueue
from chalicelib.tracing import count, traced

# People claimed (or their results queued) at a time: ten send messages, one SQS request.
CLAIM_BATCH = SEND_CHUNK * SQS_BATCH


def choose_channel(
    place: PlaceRecord,
    available: Sequence[str],
    incident: Incident,
    now: datetime,
    endpoint_arn: str | None = None,
) -> Channel | None:
    """The channel to reach someone on for this action, or None if none may be used.

    An app's current location (channel push) is reached by push whatever channels the action
    names: push is the app's own channel, not a dispatch choice. Its device must still have an
    endpoint (`endpoint_arn`); without one, a linked participant falls back to SMS and an
    anonymous install is not reached. One row per person reaches here (`select_recipients` keeps
    their nearest place), so a person whose fresh app location is their nearest place gets push,
    otherwise their preferred channel.

    Nobody is called inside their quiet hours (a missing person overrides them): a voice
    participant with a mobile number gets an SMS instead; one with only a landline stays on
    voice and is called when the window ends (`quiet_until`).
    """
    preferred = str(place.channel)
    if preferred == Channel.PUSH:
        if endpoint_arn:
            return Channel.PUSH
        return Channel.SMS if Channel.SMS in available and _mobile(place.phone) else None
    quiet = quiet_until(place, incident, now) is not None
    if preferred in available and not (quiet and preferred == Channel.VOICE):
        return Channel(preferred)
    if Channel.SMS in available and _mobile(place.phone):
        return Channel.SMS  # voice not offered for this action, or quiet hours
    if preferred == Channel.VOICE and Channel.VOICE in available:
        return Channel.VOICE  # a landline in its quiet hours: called when they end
    return None


def quiet_until(place: PlaceRecord, incident: Incident, now: datetime) -> datetime | None:
    """When this place's quiet hours end, if `now` is inside them and they apply to the incident."""
    if place.quiet_from is None or place.quiet_to is None or incident is Incident.MISSING_PERSON:
        return None
    window = QuietHours(place.quiet_from, place.quiet_to)
    return window.ends_after(now) if window.contains(now) else None


def _mobile(phone: str | None) -> bool:
    return bool(phone) and is_mobile(str(phone))


def recipients_in(
    area: Shape, available: Sequence[str], incident: Incident, now: datetime
) -> tuple[int, list[Recipient]]:
    """How many people are inside the area, and who of them an action with these channels
    alerts, nearest first, each on the channel chosen for them (what targeting claims, and
    what POST /reach counts)."""
    found = places_in(area, now)
    endpoints = devices.endpoints([p.device_id for _, p in found if p.device_id])
    recipients: list[Recipient] = []
    for distance, place in found:
        endpoint = endpoints.get(str(place.device_id)) if place.device_id else None
        channel = choose_channel(place, available, incident, now, endpoint)
        if channel is None:
            continue
        push = channel == Channel.PUSH
        recipients.append(
            Recipient(
                place.participant_id,
                place.phone,
                place.language,
                channel,
                distance,
                device_id=place.device_id if push else None,
                endpoint_arn=endpoint if push else None,
                not_before=quiet_until(place, incident, now) if channel == Channel.VOICE else None,
            )
        )
    return len(found), recipients  # the places go with this frame: the peak is the recipients


def target(
    action_id: str,
    queues: Mapping[Channel, WorkQueue],
    now: datetime,
    metrics: Metrics,
    release: Release | None = None,
) -> int:
    """Claim every person inside the action's area, nearest first, and enqueue their alerts;
    with a `release`, each channel's chunks paced to its rate (fair to later actions)."""
    action = action_store.get_action(action_id)
    if action.status is not ActionStatus.ACTIVE:
        action_store.finish_pending(action_id, Fanout.TARGET, now)
        return 0
    area = action_store.area_of(action)
    incident = Incident(action.incident)
    with traced(Fanout.TARGET.value, action_id=action_id, ref=action.ref, incident=action.incident):
        inside, recipients = recipients_in(area, list(map(str, action.channels)), incident, now)
        if release is not None:
            recipients = release.in_turn(recipients)
            release.expect(recipients)
        claimed = 0
        for batch in chunks(recipients, CLAIM_BATCH):
            claimed += ledger.claim(action_id, batch, now)
            # Re-enqueue already-claimed people too: a crashed earlier run may not have; the
            # sender's conditional start makes a second message for them a no-op.
            waits: dict[datetime | None, list[Recipient]] = {}
            for r in batch:
                waits.setdefault(r.not_before, []).append(r)
            for not_before, group in waits.items():
                # Calls held for quiet hours keep their own time; the rest take their turn.
                paced = release if not_before is None else None
                enqueue_by_channel(queues, Kind.ALERT, action_id, group, not_before, release=paced)
        if claimed < len(recipients):  # a re-run: the live counter missed earlier claims
            ledger_progress.set_targeted(action_id, len(recipients))
        count(inside=inside, recipients=len(recipients), claimed=claimed)
    if action_store.finish_pending(
        action_id, Fanout.TARGET, now
    ):  # once per action, whoever runs it again
        metrics.publish({Metric.RECIPIENTS: len(recipients)}, action_id=action_id)
    log_event(
        "action_targeted",
        action_id=action_id,
        inside=inside,
        recipients=len(recipients),
        claimed=claimed,
    )
    return claimed


def fan_out_results(
    action_id: str,
    queues: Mapping[Channel, WorkQueue],
    now: datetime,
    metrics: Metrics,
    release: Release | None = None,
) -> int:
    """Queue one result message for every person the action alerted; return how many.

    The same pass settles alerts whose sender died mid-publish (unknown: they may have arrived,
    so they are neither resent nor followed by a result; counted as AlertsFailed) and sets the
    alert counters to the ledger's exact figures.
    """
    action = action_store.get_action(action_id)
    if action.status is not ActionStatus.CLOSED:
        return 0
    queued = 0
    exact: Counter[DeliveryStatus] = Counter()
    cut_offs: Counter[str] = Counter()
    with traced(
        Fanout.RESULTS.value, action_id=action_id, ref=action.ref, incident=action.incident
    ):
        for chunk in chunks(ledger.ledger(action_id), CLAIM_BATCH):
            for d in chunk:
                # The update refreshes `d`: it counts as unknown below.
                if ledger.cut_off(d, now) and ledger.settle_cut_off_alert(d, now):
                    cut_offs[str(d.channel)] += 1
            exact.update(ledger_progress.tally(chunk))
            todo = ledger.queue_results(chunk)
            # On the alert's channel, paced like the alerts so a new action is not behind them.
            enqueue_by_channel(queues, Kind.RESULT, action_id, todo, release=release)
            queued += len(todo)
        ledger.set_alert_counts(action_id, exact)
        count(queued=queued)
    for channel, failed in cut_offs.items():
        metrics.publish(
            {Metric.ALERTS_FAILED: failed}, dimension=("Channel", channel), action_id=action_id
        )
    action_store.finish_pending(action_id, Fanout.RESULTS, now)
    log_event("results_queued", action_id=action_id, queued=queued)
    return queued


def fan_out_update(
    action_id: str,
    update_id: str,
    queues: Mapping[Channel, WorkQueue],
    release: Release | None = None,
) -> int:
    """Queue one message of this update for every person the action has alerted; return how
    many. Alerts still going out get it from their sender (`sending`'s late-alert pass)."""
    action = action_store.get_action(action_id)
    if action.status is not ActionStatus.ACTIVE or all(
        u.update_id != update_id for u in action.updates
    ):
        return 0  # closed first (the result says what matters now), or no such update
    queued = 0
    with traced(Fanout.UPDATE.value, action_id=action_id, ref=action.ref, incident=action.incident):
        for chunk in chunks(ledger.ledger(action_id), CLAIM_BATCH):
            todo = [d for d in chunk if ledger.queue_update(d, update_id)]
            enqueue_by_channel(
                queues, Kind.UPDATE, action_id, todo, update_id=update_id, release=release
            )
            queued += len(todo)
        count(queued=queued)
    action_store.update_queued(action_id, action_store.update_index(action, update_id))
    log_event("update_queued", action_id=action_id, update_id=update_id, queued=queued)
    return queued
