"""The figures of a run: one JSON object per channel, from the ledger and what the providers saw."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from bench.fanout.providers import Provider
from bench.fanout.world import START
from chalicelib.dal import deliveries as ledger
from chalicelib.dal.models import Delivery
from chalicelib.domain.model import CallOutcome, Channel, DeliveryStatus, Kind
from chalicelib.queues import SENDERS

if TYPE_CHECKING:
    from bench.fanout.simulation import Simulation


LEDGER = "moto in-process (mock_aws), not DynamoDB"


def report(
    sim: Simulation, finished: bool, sim_s: float, events: Counter[str]
) -> list[dict[str, Any]]:
    """One JSON object per channel, from the ledger and what the providers saw."""
    deliveries = list(ledger.ledger(sim.action_id))
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        by_channel[str(d.channel)].append(d)
    models: dict[Channel, Provider] = {
        Channel.SMS: sim.sms.log,
        Channel.VOICE: sim.connect.log,
        Channel.PUSH: sim.push.log,
    }
    rates = {
        Channel.SMS: sim.params.sms_rate,
        Channel.VOICE: sim.params.call_starts_per_s,
        Channel.PUSH: sim.params.push_rate,
    }
    lines: list[dict[str, Any]] = []
    for channel in (Channel.SMS, Channel.VOICE, Channel.PUSH):
        mine = by_channel.get(channel.value, [])
        provider = models[channel]
        queue = sim.queues[channel]
        busy = sim.busy[channel]
        alert_done = [
            d.alert_at for d in mine if d.alert_status in ("sent", "unknown") and d.alert_at
        ]
        alerts = Counter(str(d.alert_status) for d in mine)
        results = Counter(str(d.result_status) for d in mine)
        lost_alerts = alerts["queued"] + alerts["sending"]
        lost_results = sum(
            1
            for d in mine
            if d.alert_status == "sent" and d.result_status in (None, "queued", "sending")
        )
        # A delivery the ledger calls sent must be one the provider accepted.
        unseen = sum(
            1
            for d in mine
            for status, message_id in (
                (d.alert_status, d.alert_message_id),
                (d.result_status, d.result_message_id),
            )
            if status == "sent" and str(message_id) not in provider.accepted
        )
        # Sent twice by the provider, and of those, seen twice by the person: a push whose
        # second try carries the first's collapse id replaces it on the phone.
        sent_twice = {
            pid
            for (action_id, _, pid), n in provider.delivered.items()
            if n > 1 and action_id == sim.action_id
        }
        if channel is Channel.VOICE:
            twice = {address for (address, _), n in sim.connect.answered.items() if n > 1}
        else:
            twice = {
                pid
                for (action_id, _, pid), n in provider.shown.items()
                if n > 1 and action_id == sim.action_id
            }
        made = len(provider.accepted)
        lost_for = sim.receipts.lost_for if channel is Channel.SMS else set()
        # Loss at the provider: whom the bench's own truth says is due an alert on this channel,
        # and whom the provider sent it to (or called), whatever the ledger says.
        due = {pid for pid, ch in sim.workload.due.items() if ch is channel}
        reached = {
            pid
            for (action_id, kind, pid) in provider.delivered
            if action_id == sim.action_id and kind is Kind.ALERT
        }
        status = {d.participant_id: d.alert_status for d in mine}
        unreached = due - reached
        cancelled = {p for p in unreached if status.get(p) is DeliveryStatus.CANCELLED}
        unreached_unknown = {p for p in unreached if status.get(p) is DeliveryStatus.UNKNOWN}
        stats = sim.functions[queue.name]
        killed = dict(stats.killed)
        timeouts = killed.pop("timeout", 0)
        work = {k: v for k, v in sim.activity[channel.value].items() if k != "idle"}
        line: dict[str, Any] = {
            "bench": "fanout",
            "channel": channel.value,
            "rate": rates[channel],
            "sms_rate": sim.params.sms_rate,
            "people": sim.params.people,
            "action_recipients": len(sim.workload.due),
            "due": len(due),
            "recipients": len(mine),
            "quota_use": _ratio(made, rates[channel] * busy.seconds),
            # Before crashed chunks waiting out their visibility timeout counted as busy: the
            # seconds in which they were the only work are taken out again (docs/benchmarks.md).
            "quota_use_without_stuck": _ratio(
                made, rates[channel] * (busy.seconds - busy.only.get("stuck", 0.0))
            ),
            # When the provider sent the last alert (the ledger's time of a send settled as unknown
            # later, at the close, would say when it was settled instead).
            "time_to_last_alert_s": round(provider.last_at[sim.action_id], 1)
            if sim.action_id in provider.last_at
            else None,
            "ledger_last_alert_s": round((max(alert_done) - START).total_seconds(), 1)
            if alert_done
            else None,
            # What POST /actions told dispatch before the start: people, seconds to the last
            # alert at the configured rate, and how many the duration would cut off.
            "expected": sim.expected.get(channel.value),
            "lost": len(unreached - cancelled),
            "unreached_unknown": len(unreached_unknown),
            "ledger_lost": lost_alerts + lost_results + unseen,
            "duplicated": len(twice),
            # Raw double sends beside it, so nothing is hidden: `collapsed` of them show once.
            "provider_duplicated": len(sent_twice),
            "collapsed": sum(
                provider.delivered[send] - provider.shown[send]
                for send in provider.delivered
                if send[0] == sim.action_id
            ),
            # Why each person saw a message twice: an ambiguous send that went out and whose
            # receipt was lost is the rule's residual risk (docs/benchmarks.md); anything else
            # would be a bug.
            "duplicated_after_lost_receipt": sum(
                1
                for (action_id, kind, pid), n in provider.shown.items()
                if n > 1 and action_id == sim.action_id and (action_id, kind, pid) in lost_for
            ),
            # The alerts' and the results' sends in time: the rate from first to the 99th
            # percentile says whether the bulk went at the full rate, the rest is the tail.
            "spans": _spans(provider, sim.closed_at),
            "dead_lettered": len(queue.dead),
            "unknown": alerts["unknown"] + results["unknown"],
            "ambiguous": provider.ambiguous,
            "ambiguous_delivered": provider.ambiguous_delivered,
            "throttled": sum(provider.refused.values()),
            "results_sent": results["sent"],
            "sent": alerts["sent"],
            "failed": alerts["failed"] + results["failed"],
            "cancelled": len(cancelled),
            "ledger_cancelled": alerts["cancelled"],
            "crashes": sum(killed.values()),
            "crashes_at": killed,
            "lambda_timeouts": timeouts,
            "duplicate_deliveries": queue.duplicated,
            **sim.throughput.figures(),
            "dynamodb_backoffs": sim.backoffs,
            "memory_mb": stats.memory_mb,
            "lambda_timeout_s": stats.timeout_s,
            "cpu_ms_per_send": round(
                sim.params.cpu_ms[channel.value] * max(1.0, 1769 / stats.memory_mb), 2
            ),
            "busy_s": round(busy.seconds, 1),
            "made": made,
            "refused": dict(provider.refused),
            "put_backs": {
                key.split(":", 2)[2]: n
                for key, n in sorted(events.items())
                if key.startswith(f"put_back:{channel.value}:")
            },
            "most_put_backs": events[f"most_put_backs:{channel.value}"],
            "redelivered": queue.redelivered,
            "invocations": stats.invocations,
            "failed_invocations": dict(stats.failed),
            "longest_invocation_s": round(stats.longest_s, 1),
            "over_lambda_timeout": stats.over_timeout,
            "lost_detail": {
                "alerts": lost_alerts,
                "results": lost_results,
                "sent_not_received": unseen,
            },
            "instances": SENDERS[channel],
            "instance_s": {k: round(v, 1) for k, v in sorted(work.items())},
            "idle_while_busy_s": round(SENDERS[channel] * busy.seconds - sum(work.values()), 1),
            "busy_only_s": {k: round(v, 1) for k, v in sorted(busy.only.items())},
            **sim.phases,
            "ledger": LEDGER,
            "targeting_activity_s": {
                k: round(v, 1) for k, v in sorted(sim.activity["targeting"].items()) if k != "idle"
            },
            "sweeps": sim.swept,
            "faults": sim.params.faults.printed(),
            "faults_injected": {k: v for k, v in sim.faults.counts.items() if ":" in k},
            "sim_s": round(sim_s, 1),
            "finished": finished,
        }
        if channel is Channel.SMS:
            receipts = sim.receipts
            line["receipts"] = {
                "arrived": receipts.arrived,
                "lost": receipts.lost,
                "settled": receipts.settled,
                "dead_lettered": receipts.dead_lettered,  # read too early every time
                "wired": receipts.logic is not None,
            }
            if sim.small_action_id:
                first = provider.first_at.get(sim.small_action_id)
                line["small_action"] = {
                    "people": sim.params.small_action,
                    "started_at_s": sim.params.small_at_s,
                    "first_sms_after_s": round(first - sim.params.small_at_s, 1)
                    if first is not None
                    else None,
                    "reached": sum(
                        1
                        for (action_id, kind, _) in provider.delivered
                        if action_id == sim.small_action_id and kind is Kind.ALERT
                    ),
                }
        if channel is Channel.VOICE:
            start_use = _ratio(made, sim.params.call_starts_per_s * busy.seconds)
            line_use = _ratio(sim.connect.line_seconds, sim.params.lines * busy.seconds)
            mean_call = sum(sim.params.call_s) / 2
            lines_bind = sim.params.lines / mean_call < sim.params.call_starts_per_s
            seen = busy.seconds - busy.only.get("stuck", 0.0)  # busy as it was counted before
            line.update(
                quota_use=line_use if lines_bind else start_use,
                quota_use_without_stuck=_ratio(
                    sim.connect.line_seconds if lines_bind else made,
                    (sim.params.lines if lines_bind else sim.params.call_starts_per_s) * seen,
                ),
                binding="lines" if lines_bind else "starts",
                start_use=start_use,
                line_use=line_use,
                most_concurrent_calls=sim.connect.most_active,
                answered=sum(1 for d in mine if d.alert_outcome == CallOutcome.ANSWERED),
                line_poll_writes=(
                    sim.requests[f"PutItem:{sim.settings.tables.ratelimits}"]
                    + sim.skipped_polls * sim.params.lines
                ),
                contact_event_failures=dict(sim.connect.event_failures),
            )
        lines.append(line)
    return lines


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator > 0 else None


def _spans(provider: Provider, closed_at: float | None) -> dict[str, dict[str, float | None]]:
    """Per phase (before the close, after it): sends made, and when the first, the 99th
    percentile and the last went, in simulated seconds; `per_s` from first to 99th percentile."""
    phases: dict[str, list[float]] = defaultdict(list)
    for _, _, at in provider.accepted.values():
        closed = closed_at is not None and at >= closed_at
        phases["after_close" if closed else "before_close"].append(at)
    spans = {}
    for phase, times in sorted(phases.items()):
        times.sort()
        p99 = times[max(0, math.ceil(0.99 * len(times)) - 1)]
        spans[phase] = {
            "made": len(times),
            "first_s": round(times[0], 1),
            "p99_s": round(p99, 1),
            "last_s": round(times[-1], 1),
            "per_s": _ratio(0.99 * len(times), p99 - times[0]),
        }
    return spans
