"""Ops hear of every lost alert: alarms and the dashboard of the packaged prod template.

What each alarm watches is worked out here from the template itself (its RedrivePolicies, its
functions), independently of tools/alarms.py, so a queue or function added without an alarm fails.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.domain.model import Channel
from tools import alarms as alarms_tool
from tools.emulator import TEMPLATE

# The metric contract (docs/operations.md): the Burgernet metrics the functions emit (EMF)
# and their dimension sets. An alarm must read one of them with a dimension set it is
# published with, or it never sees a data point and never fires.
EMITTED = {
    **{
        name: [["Channel"], []]
        for name in (
            "AlertsSent",
            "AlertsFailed",
            "Throttled",
            "ResultsSent",
            "TimeToFirstAlert",
            "TimeToLastAlert",
        )
    },
    "Recipients": [[]],
    "DeadLettered": [["Queue"], []],
    "TargetingLate": [[]],
}
OPS = [{"Ref": "OpsTopic"}]


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in _of_type(template, "AWS::CloudWatch::Alarm").items()}


def _dead_letter_queues(template: dict[str, Any]) -> set[str]:
    """Every queue some queue's RedrivePolicy sends its failed messages to."""
    return {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in _of_type(template, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in q["Properties"]
    }


def _watching(template: dict[str, Any], namespace: str, metric: str, dimensions: Any) -> list[Any]:
    return [
        a
        for a in _alarms(template).values()
        if (a.get("Namespace"), a.get("MetricName"), a.get("Dimensions", []))
        == (namespace, metric, dimensions)
    ]


def _fires_at(alarm: dict[str, Any], value: float) -> bool:
    """Whether one period with this statistic value puts the alarm in ALARM."""
    assert alarm["EvaluationPeriods"] == 1
    threshold = alarm["Threshold"]
    return {
        "GreaterThanThreshold": value > threshold,
        "GreaterThanOrEqualToThreshold": value >= threshold,
    }[alarm["ComparisonOperator"]]


def test_the_template_holds_what_tools_alarms_writes() -> None:
    assert TEMPLATE.read_text() == alarms_tool.rendered(), "run `python -m tools.alarms`"


def test_one_message_in_any_dead_letter_queue_alarms(template: dict[str, Any]) -> None:
    dlqs = _dead_letter_queues(template)
    assert len(dlqs) >= 5  # targeting, sms, voice, push, codes
    for dlq in dlqs:
        watching = _watching(
            template,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}],
        )
        assert any(_fires_at(a, 1) and not _fires_at(a, 0) for a in watching), dlq


def test_every_function_alarms_on_one_error_and_one_throttle(template: dict[str, Any]) -> None:
    functions = _of_type(template, "AWS::Serverless::Function")
    assert len(functions) >= 10
    for function in functions:
        for metric in ("Errors", "Throttles"):
            watching = _watching(
                template,
                "AWS/Lambda",
                metric,
                [{"Name": "FunctionName", "Value": {"Ref": function}}],
            )
            assert [a["Statistic"] for a in watching] == ["Sum"], (function, metric)
            assert _fires_at(watching[0], 1) and not _fires_at(watching[0], 0)


def test_every_alarm_tells_burgernet_ops_when_it_fires_and_when_it_is_over(
    template: dict[str, Any],
) -> None:
    assert template["Resources"]["OpsTopic"]["Properties"]["TopicName"] == "burgernet-ops"
    for name, alarm in _alarms(template).items():
        assert (alarm["AlarmActions"], alarm["OKActions"]) == (OPS, OPS), name
        assert alarm["AlarmDescription"], name


def test_silence_never_alarms(template: dict[str, Any]) -> None:
    """Every metric watched reports only when something happens: no data must mean OK."""
    for name, alarm in _alarms(template).items():
        assert alarm["TreatMissingData"] == "notBreaching", name


def _burgernet_reads(alarm: dict[str, Any]) -> list[tuple[str, list[str]]]:
    metrics = [q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if "MetricStat" in q]
    if "MetricName" in alarm:
        metrics.append(alarm)
    return [
        (m["MetricName"], sorted(d["Name"] for d in m.get("Dimensions", [])))
        for m in metrics
        if m["Namespace"] == "Burgernet"
    ]


def test_alarms_read_burgernet_metrics_as_they_are_published(template: dict[str, Any]) -> None:
    from_logs = {
        t["MetricName"]
        for f in _of_type(template, "AWS::Logs::MetricFilter").values()
        for t in f["Properties"]["MetricTransformations"]
        if t["MetricNamespace"] == "Burgernet"
    }
    read = [r for a in _alarms(template).values() for r in _burgernet_reads(a)]
    assert {name for name, _ in read} >= {"AlertsSent", "AlertsFailed", "TimeToLastAlert"}
    for name, dimensions in read:
        published = EMITTED.get(name, [[]] if name in from_logs else [])
        assert dimensions in published, (name, dimensions)


class _NoData:
    """No data point: metric math gives none from arithmetic or comparison with it."""

    def _none(self, *_: object) -> _NoData:
        return self

    __add__ = __radd__ = __truediv__ = __rtruediv__ = __gt__ = _none


NO_DATA = _NoData()


class _Value(float):
    """A data point; dividing by zero gives no data point, as in metric math."""

    def __truediv__(self, other: object) -> Any:
        return NO_DATA if other == 0 else _Value(float(self) / float(other))


def _evaluate(expression: str, **points: float | None) -> Any:
    """The alarm's metric math for one period (only IF, FILL, +, / and >, as it uses)."""

    def fill(point: Any, default: float) -> Any:
        return _Value(default) if point is NO_DATA else point

    def if_(condition: Any, then: Any, otherwise: Any) -> Any:
        return NO_DATA if condition is NO_DATA else then if condition else otherwise

    python = re.sub(r"\bIF\(", "if_(", re.sub(r"\bFILL\(", "fill(", expression))
    values = {k: NO_DATA if v is None else _Value(v) for k, v in points.items()}
    return eval(python, {"fill": fill, "if_": if_}, values)


@pytest.mark.parametrize(
    ("sent", "failed", "fires"),
    [
        (None, None, False),  # no alerts at all
        (0, 0, False),
        (95, 5, False),  # exactly 5 %
        (94, 6, True),
        (1000, None, False),  # nothing failed, so nothing reported as failed
        (None, 3, True),  # the provider took none of them
    ],
)
def test_the_failure_ratio_alarm_fires_above_five_percent_of_alerts_made(
    template: dict[str, Any], sent: float | None, failed: float | None, fires: bool
) -> None:
    alarm = _alarms(template)["AlertFailureRatioAlarm"]
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    returned = [q for q in queries.values() if q["ReturnData"]]
    assert len(returned) == 1
    reads = {
        q["MetricStat"]["Metric"]["MetricName"]: (i, q["MetricStat"])
        for i, q in queries.items()
        if "MetricStat" in q
    }
    assert {name: s["Period"] for name, (_, s) in reads.items()} == {
        "AlertsSent": 900,
        "AlertsFailed": 900,
    }
    assert all(s["Stat"] == "Sum" for _, s in reads.values())
    ratio = _evaluate(
        returned[0]["Expression"],
        **{reads["AlertsSent"][0]: sent, reads["AlertsFailed"][0]: failed},
    )
    breached = False if ratio is NO_DATA else _fires_at(alarm, ratio)
    assert breached == fires


def test_an_alert_later_than_ten_minutes_alarms(template: dict[str, Any]) -> None:
    [alarm] = _watching(template, "Burgernet", "TimeToLastAlert", [])
    assert alarm["Statistic"] == "Maximum"
    assert _fires_at(alarm, 600_001) and not _fires_at(alarm, 600_000)


def test_one_action_still_targeting_after_two_minutes_alarms(template: dict[str, Any]) -> None:
    [alarm] = _watching(template, "Burgernet", "TargetingLate", [])
    assert alarm["Statistic"] == "Sum"
    assert _fires_at(alarm, 1) and not _fires_at(alarm, 0)


def test_the_dashboard_shows_every_channel_and_every_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    [dashboard] = _of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    resources = template["Resources"]

    def resolve(match: re.Match[str]) -> str:
        # What CloudFormation substitutes: the region, queue names, alarm ARNs.
        name, _, attribute = match[1].partition(".")
        if name == "AWS::Region":
            return "eu-west-1"
        if attribute == "QueueName":
            return str(resources[name]["Properties"]["QueueName"])
        assert attribute == "Arn" and resources[name]["Type"] == "AWS::CloudWatch::Alarm"
        return f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"

    widgets = json.loads(re.sub(r"\$\{([^}]+)\}", resolve, body))["widgets"]
    graphed = [
        m[:4]
        for w in widgets
        if w["type"] == "metric"
        for m in w["properties"]["metrics"]
        if isinstance(m, list)  # not a math expression
    ]
    dlq_names = {resources[q]["Properties"]["QueueName"] for q in _dead_letter_queues(template)}
    shown = {
        m[3]
        for m in graphed
        if m[:3] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"]
    }
    assert shown == dlq_names
    for channel in Channel:
        for name in ("AlertsSent", "AlertsFailed", "Throttled", "ResultsSent"):
            assert ["Burgernet", name, "Channel", channel.value] in graphed
    [alarm_widget] = [w for w in widgets if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == len(_alarms(template))
