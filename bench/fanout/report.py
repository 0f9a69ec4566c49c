"""The figures of a run: one JSON object per channel, from the ledger and what the providers saw."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from bench.fanout.providers import Provider
from bench.fanout.world import START
from chalicelib.dal import deliveries as ledger
from chalicelib.dal.models import Delivery
from chalicelib.domain.model import CallOutcome, Channel
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
        if channel is Channel.VOICE:
            twice = {address for (address, _), n in sim.connect.answered.items() if n > 1}
        else:
            twice = {address for (address, _), n in provider.received.items() if n > 1}
        made = len(provider.accepted)
        work = {k: v for k, v in sim.activity[channel.value].items() if k != "idle"}
        line: dict[str, Any] = {
            "bench": "fanout",
            "channel": channel.value,
            "rate": rates[channel],
            "sms_rate": sim.params.sms_rate,
            "recipients": len(mine),
            "quota_use": _ratio(made, rates[channel] * busy.seconds),
            "time_to_last_alert_s": round((max(alert_done) - START).total_seconds(), 1)
            if alert_done
            else None,
            "lost": lost_alerts + lost_results + unseen,
            "duplicated": len(twice),
            "dead_lettered": len(queue.dead),
            "unknown": alerts["unknown"] + results["unknown"],
            "throttled": sum(provider.refused.values()),
            "results_sent": results["sent"],
            "sent": alerts["sent"],
            "failed": alerts["failed"] + results["failed"],
            "cancelled": alerts["cancelled"],
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
            "invocations": sim.functions[queue.name].invocations,
            "failed_invocations": dict(sim.functions[queue.name].failed),
            "longest_invocation_s": round(sim.functions[queue.name].longest_s, 1),
            "over_lambda_timeout": sim.functions[queue.name].over_timeout,
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
            "sim_s": round(sim_s, 1),
            "finished": finished,
        }
        if channel is Channel.VOICE:
            start_use = _ratio(made, sim.params.call_starts_per_s * busy.seconds)
            line_use = _ratio(sim.connect.line_seconds, sim.params.lines * busy.seconds)
            mean_call = sum(sim.params.call_s) / 2
            lines_bind = sim.params.lines / mean_call < sim.params.call_starts_per_s
            line.update(
                quota_use=line_use if lines_bind else start_use,
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
