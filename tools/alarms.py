"""The alarms and the ops dashboard in infra/template.json, generated here.

    python -m tools.alarms          # rewrite them (a test fails while the template is stale)

Every AWS::CloudWatch::Alarm and AWS::CloudWatch::Dashboard in the template comes from here: edit
this file, not the template. What they watch is derived, so nothing new goes unwatched: an alarm
for each dead-letter queue (every queue a RedrivePolicy names), Errors and Throttles for each
function (tools.policies lists chalice's functions; a test holds that list to app.py), and the
dashboard's quota lines from the prod stage's own settings (.chalice/config.json and the defaults
in chalicelib/settings.py).

The Burgernet metrics are a contract (docs/operations.md): namespace Burgernet, emitted as EMF
by the functions; the per-channel ones are also published without a dimension, as all-channel
totals for alarms.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import SQSEventConfig
from chalice.utils import to_cfn_resource_name

from app import app
from chalicelib.domain.model import Channel
from chalicelib.settings import Settings
from tools import policies
from tools.emulator import TEMPLATE, stage_environment

NAMESPACE = "Burgernet"
OWNED_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard")
OPS_TOPIC = [{"Ref": "OpsTopic"}]
FAILURE_RATIO = 0.05  # of alerts not known to have arrived, over all channels
FAILURE_WINDOW_S = 900
LAST_ALERT_MS = 10 * 60 * 1000
# Per-channel counts, as the senders emit them (dimension Channel, and none for the total).
CHANNEL_COUNTS = ("AlertsSent", "AlertsFailed", "Throttled", "ResultsSent")


def alarm(name: str, description: str, **watch: Any) -> dict[str, Any]:
    """An alarm that tells burgernet-ops when it fires and when it is over.

    Missing data is never a breach: every metric here reports only when something happened (a
    send, an invocation, a message in a queue), so silence means nothing went wrong.
    """
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "AlarmDescription": description,
            **watch,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": OPS_TOPIC,
            "OKActions": OPS_TOPIC,
        },
    }


def dead_letter_queues(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """DLQ logical id -> the queue whose RedrivePolicy names it, for every DLQ in the template."""
    dlqs = {}
    for spec in template["Resources"].values():
        redrive = spec.get("Properties", {}).get("RedrivePolicy")
        if spec.get("Type") == "AWS::SQS::Queue" and redrive:
            dlqs[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]] = spec
    return dlqs


def functions() -> dict[str, str]:
    """Logical id in the packaged template -> chalice function name, for every function."""
    # chalice names the routes' function APIHandler and every other one after its handler.
    return {
        "APIHandler" if name == "api_handler" else to_cfn_resource_name(name): name
        for name in policies.FUNCTIONS
    }


def dead_letter_alarms(template: dict[str, Any]) -> dict[str, Any]:
    """One alarm per DLQ: a single message in it is work that was never done."""
    readers = {e.queue: e.name for e in app.event_sources if isinstance(e, SQSEventConfig)}
    alarms = {}
    for dlq, source in dead_letter_queues(template).items():
        queue = source["Properties"]["QueueName"]
        tries = source["Properties"]["RedrivePolicy"]["maxReceiveCount"]
        dlq_name = template["Resources"][dlq]["Properties"]["QueueName"]
        alarms[f"{dlq}Alarm"] = alarm(
            f"{dlq_name}-not-empty",
            f"{dlq_name} holds messages: work from {queue} was received {tries} times "
            "without being done and was set aside, so people may not have been alerted, given "
            f"their result or sent their code. Find why in {readers.get(queue, 'its reader')}'s "
            "logs (search for the message's action_id), fix it, then redrive the DLQ to its "
            "source queue (SQS console, Start DLQ redrive): the delivery ledger alerts nobody "
            "twice, so alert and result work is safe to redrive.",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}],
            Statistic="Maximum",
            Period=60,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    return alarms


def function_alarms() -> dict[str, Any]:
    """Errors and Throttles of every function, each its own alarm so ops know which one."""
    alarms = {}
    for logical_id, name in functions().items():
        kebab = name.replace("_", "-")
        lambda_metric = {
            "Namespace": "AWS/Lambda",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": logical_id}}],
            "Statistic": "Sum",
            "Period": 60,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        }
        alarms[f"{logical_id}ErrorsAlarm"] = alarm(
            f"burgernet-{kebab}-errors",
            f"{name} failed (an exception, a timeout or running out of memory). SQS work is "
            "retried and then dead-lettered; a failed schedule run waits for the next minute. "
            f"Look for ERROR lines and the request id in /aws/lambda/<stack>-{logical_id}-* and "
            "at the function's X-Ray traces.",
            MetricName="Errors",
            **lambda_metric,
        )
        throttled = (
            f"Lambda refused to run {name}: the account's concurrent executions (1,000 by "
            "default) are used up. Queued work waits and, received too often, is dead-lettered; "
            "the API answers callers with errors. Check the account's ConcurrentExecutions and "
            "which function holds them (Lambda console, Monitor)."
        )
        if name in policies.TEMPLATE_FUNCTIONS:
            throttled = (
                f"Lambda refused to run {name}: the public side used up its reserved concurrency "
                "(PublicConcurrency), so readers the CDN could not answer from its cache got "
                "errors; dispatch and the senders are untouched. Look for a flood past the CDN "
                "(the execute-api URL, or references that miss the cache) in the API's access "
                "logs, and consider PublicWaf=on."
            )
        alarms[f"{logical_id}ThrottlesAlarm"] = alarm(
            f"burgernet-{kebab}-throttles",
            throttled,
            MetricName="Throttles",
            **lambda_metric,
        )
    return alarms


def burgernet_metric(metric_id: str, name: str, statistic: str, period: int) -> dict[str, Any]:
    """A metric query for alarm math: the all-channel total (no dimension) of a Burgernet metric."""
    return {
        "Id": metric_id,
        "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": name},
            "Stat": statistic,
            "Period": period,
        },
        "ReturnData": False,
    }


def sending_alarms() -> dict[str, Any]:
    """The alarms on what the functions report: failures, slowness, targeting left waiting."""
    return {
        "AlertFailureRatioAlarm": alarm(
            "burgernet-alert-failure-ratio",
            f"Over {FAILURE_RATIO:.0%} of the alerts made in {FAILURE_WINDOW_S // 60} minutes "
            "are not known to have arrived (AlertsFailed: refused for good, or ambiguous "
            "`unknown`), over all channels. The dashboard shows which channel; its sender's logs "
            "say why: invalid numbers or disabled app endpoints (the data), or timeouts and 5xx "
            "from the provider (its health dashboard). Without alerts it stays OK.",
            Metrics=[
                burgernet_metric("sent", "AlertsSent", "Sum", FAILURE_WINDOW_S),
                burgernet_metric("failed", "AlertsFailed", "Sum", FAILURE_WINDOW_S),
                {
                    # A metric with no data point in the window counted nothing: FILL makes it
                    # 0, so alerts that all failed still alarm. No alerts at all is a ratio of
                    # 0, not 0/0 (a point CloudWatch drops with an ArithmeticError).
                    "Id": "ratio",
                    "Label": "alerts failed / alerts made",
                    "Expression": "IF(FILL(sent, 0) + FILL(failed, 0) > 0, "
                    "FILL(failed, 0) / (FILL(sent, 0) + FILL(failed, 0)), 0)",
                    "ReturnData": True,
                },
            ],
            Threshold=FAILURE_RATIO,
            ComparisonOperator="GreaterThanThreshold",
        ),
        "TimeToLastAlertAlarm": alarm(
            "burgernet-time-to-last-alert",
            "An action's latest alert went out more than 10 minutes after it started: sending "
            "is slower than the provider limits allow, or stalled. On the dashboard, check quota "
            "use and Throttled per channel, and the senders' Errors alarms. At SMS_PER_SECOND=10 "
            "over 6,000 SMS take longer than this: ask AWS for a higher SMS throughput and raise "
            "SMS_PER_SECOND. Calls are bound by the 10 lines, and a landline held for its quiet "
            "hours is called when they end: both can pass 10 minutes.",
            Namespace=NAMESPACE,
            MetricName="TimeToLastAlert",
            Statistic="Maximum",
            Period=60,
            Threshold=LAST_ALERT_MS,
            ComparisonOperator="GreaterThanThreshold",
        ),
        "TargetingLateAlarm": alarm(
            "burgernet-targeting-late",
            "An action's targeting has not finished 2 minutes after the action started, so its "
            "people are not being alerted yet (counted by the every-minute sweeper). Check the "
            "burgernet-targeting queue and its DLQ, the TargetingWorker Errors alarm, and the "
            "targeting worker's logs and traces for the action_id.",
            Namespace=NAMESPACE,
            MetricName="TargetingLate",
            Statistic="Sum",
            Period=60,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        ),
        "CodeBudgetExhaustedAlarm": alarm(
            "burgernet-code-budget-exhausted",
            "The hour's budget of codes (CODES_PER_HOUR) is spent: signups and logins get 503 "
            "codes_unavailable. Toll fraud or a script? See docs/signup.md, Codes and numbers.",
            Namespace=NAMESPACE,
            MetricName="CodeBudgetExhausted",
            Statistic="Sum",
            Period=300,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        ),
    }


def channel_rates() -> dict[Channel, tuple[str, float]]:
    """Each channel's provider limit as prod configures it: (setting, per second)."""
    # Only the rates are read here; the region is required by Settings and irrelevant to them.
    prod = Settings.from_env({**stage_environment("prod"), "AWS_REGION": "eu-west-1"})
    return {
        Channel.SMS: ("SMS_PER_SECOND", prod.sms_per_second),
        Channel.VOICE: ("VOICE_STARTS_PER_SECOND", prod.voice_starts_per_second),
        Channel.PUSH: ("PUSH_PER_SECOND", prod.push_per_second),
    }


def graph(title: str, metrics: list[Any], width: int = 8, **more: Any) -> dict[str, Any]:
    """A time-series widget of one-minute points; CloudWatch places it in the next free spot."""
    return {
        "type": "metric",
        "width": width,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "view": "timeSeries",
            "period": 60,
            "metrics": metrics,
            "yAxis": {"left": {"min": 0}},
            **more,
        },
    }


def dashboard(template: dict[str, Any], alarm_ids: list[str]) -> dict[str, Any]:
    """Per-channel progress, quota use, timing, targeting and the DLQs, under the alarms' states."""
    widgets: list[dict[str, Any]] = [
        {
            "type": "alarm",
            "width": 24,
            "height": 4,
            "properties": {
                "title": "Alarms (each notifies burgernet-ops)",
                "alarms": [f"${{{a}.Arn}}" for a in alarm_ids],
                "sortBy": "stateUpdatedTimestamp",
            },
        }
    ]
    for channel in Channel:
        widgets.append(
            graph(
                f"{channel.value}: alerts and results per minute",
                [
                    [NAMESPACE, name, "Channel", channel.value, {"stat": "Sum"}]
                    for name in CHANNEL_COUNTS
                ],
            )
        )
    quota: list[Any] = []
    for channel, (setting, rate) in channel_rates().items():
        c = channel.value
        ids = {
            f"{c}_{name.lower()}": name for name in ("AlertsSent", "AlertsFailed", "ResultsSent")
        }
        quota += [
            [NAMESPACE, name, "Channel", c, {"id": i, "stat": "Sum", "visible": False}]
            for i, name in ids.items()
        ]
        quota += [
            {
                # Filled, so a minute with results but no alerts still counts them.
                "expression": " + ".join(f"FILL({i}, 0)" for i in ids),
                "id": f"{c}_made",
                "visible": False,
            },
            {
                "expression": f"100 * {c}_made / PERIOD({c}_made) / {rate:g}",
                "label": f"{c}: % of {setting} = {rate:g}/s",
                "id": f"{c}_quota",
            },
        ]
    widgets.append(
        graph(
            "Quota use: alerts and results made per second, % of the configured rate",
            quota,
            width=12,
            annotations={"horizontal": [{"label": "configured rate", "value": 100}]},
        )
    )
    widgets.append(
        graph(
            "Time from the action's start to its first and latest alert (ms)",
            [
                [NAMESPACE, "TimeToLastAlert", "Channel", c.value, {"stat": "Maximum"}]
                for c in Channel
            ]
            + [
                [NAMESPACE, "TimeToFirstAlert", "Channel", c.value, {"stat": "Maximum"}]
                for c in Channel
            ],
            width=12,
            annotations={"horizontal": [{"label": "alarm", "value": LAST_ALERT_MS}]},
        )
    )
    widgets.append(
        graph(
            "Targeting: recipients, and actions still targeting after 2 minutes",
            [
                [NAMESPACE, "Recipients", {"stat": "Sum"}],
                [NAMESPACE, "TargetingLate", {"stat": "Sum"}],
            ],
            width=12,
        )
    )
    widgets.append(
        graph(
            "Dead-letter queues: messages waiting (should be 0)",
            [
                [
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    "QueueName",
                    f"${{{dlq}.QueueName}}",
                    {"stat": "Maximum"},
                ]
                for dlq in dead_letter_queues(template)
            ],
            width=12,
        )
    )
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": "burgernet",
            "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets})},
        },
    }


def rendered() -> str:
    """infra/template.json with its alarms and dashboard replaced by the ones above."""
    template = json.loads(TEMPLATE.read_text())
    alarms = {**dead_letter_alarms(template), **function_alarms(), **sending_alarms()}
    resources = {
        name: spec
        for name, spec in template["Resources"].items()
        if spec.get("Type") not in OWNED_TYPES
    }
    template["Resources"] = {
        **resources,
        **alarms,
        "OpsDashboard": dashboard(template, list(alarms)),
    }
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Rewrite infra/template.json's alarms and dashboard."""
    TEMPLATE.write_text(rendered())
    print(f"wrote the alarms and the dashboard in {TEMPLATE.relative_to(TEMPLATE.parents[1])}")


if __name__ == "__main__":
    main()
