"""What checkov and cfn-lint are told to overlook in the packaged template, each with its reason.

`make scan` (part of `make test`) runs both on the template `make package` writes; a finding is
fixed or suppressed in the resource's Metadata, here through infra/template.json's merge.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tools.emulator import ROOT

CHECKOV_ID = re.compile(r"CKV2?_AWS_\d+")
CFN_LINT_ID = re.compile(r"[EWI]S?\d{4}")
# A reason is a sentence a reviewer can weigh, not a placeholder.
SHORTEST_REASON = 40


def _metadata(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r["Metadata"] for n, r in resources.items() if r.get("Metadata")}


def test_every_checkov_skip_names_a_check_and_says_why(template: dict[str, Any]) -> None:
    skips = [
        (name, skip)
        for name, meta in _metadata(template["Resources"]).items()
        for skip in meta.get("checkov", {}).get("skip", [])
    ]
    assert skips, "the template suppresses nothing: is Metadata lost in packaging?"
    bad = [
        (name, skip.get("id"))
        for name, skip in skips
        if not CHECKOV_ID.fullmatch(str(skip.get("id", "")))
        or len(str(skip.get("comment", "")).strip()) < SHORTEST_REASON
    ]
    assert bad == []


def test_every_cfn_lint_ignore_has_its_reason_beside_it(template: dict[str, Any]) -> None:
    """cfn-lint's ignore_checks has no room for a comment: `reasons` maps each id to its why."""
    blocks = {
        name: meta["cfn-lint"]
        for name, meta in _metadata(template["Resources"]).items()
        if "cfn-lint" in meta
    }
    assert blocks
    for name, block in blocks.items():
        ignored = block["config"]["ignore_checks"]
        reasons = block.get("reasons", {})
        assert all(CFN_LINT_ID.fullmatch(i) for i in ignored), name
        assert sorted(reasons) == sorted(ignored), name
        assert all(len(r.strip()) >= SHORTEST_REASON for r in reasons.values()), name


def test_every_suppression_lands_on_a_real_resource(template: dict[str, Any]) -> None:
    """chalice's merge deep-merges by resource name: after a rename, the skips would sit on a
    stub with no Type, and the renamed function would be scanned without them."""
    declared = _metadata(json.loads((ROOT / "infra" / "template.json").read_text())["Resources"])
    packaged = template["Resources"]
    assert {n: packaged[n].get("Metadata") for n in declared} == declared
    assert [n for n in declared if "Type" not in packaged[n]] == []


def test_every_function_keeps_its_logs_for_a_month_not_for_ever(template: dict[str, Any]) -> None:
    """Without a log group of its own, Lambda makes one that never expires (cfn-lint WS1004)."""
    resources = template["Resources"]
    retained = {
        r["Properties"]["LogGroupName"]["Fn::Sub"]: r["Properties"].get("RetentionInDays")
        for r in resources.values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    functions = [n for n, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    assert {f: retained.get(f"/aws/lambda/${{{f}}}") for f in functions} == dict.fromkeys(
        functions, 30
    )
