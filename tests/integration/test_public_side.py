"""A public side that can't starve dispatch, as the packaged prod template deploys it: the public
routes on a function of their own with reserved concurrency, CloudFront in front of them, the
stage's throttling stricter on them, and AWS WAF behind a switch.

The `template` fixture (tests/integration/conftest.py) is what `make package` writes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from app import app
from chalicelib.domain.public import FINAL_MAX_AGE
from chalicelib.queues import CODE_SENDERS, SENDERS, SOCIAL_POSTERS
from tools import policies
from tools.emulator import ROOT, stage_environment

ACCOUNT_CONCURRENCY = 1000  # Lambda's default per account and region
UNRESERVED_MINIMUM = 100  # Lambda refuses a reservation that leaves fewer unreserved


@pytest.fixture
def integrations(template: dict[str, Any]) -> dict[str, str]:
    """ "METHOD /path" -> the function its API Gateway integration invokes, as packaged."""
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    found = {}
    for path, methods in paths.items():
        for method, spec in methods.items():
            uri = spec["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            found[f"{method.upper()} {path}"] = uri.split("${", 3)[-1].split(".Arn}")[0]
    return found


def test_the_public_routes_and_only_they_run_on_the_public_function(
    integrations: dict[str, str],
) -> None:
    public = {r for r in integrations if r.split(" ", 1)[1].startswith(("/public/", "/a/"))}
    assert public == {
        "GET /public/alerts",
        "GET /public/actions",
        "GET /public/actions/{name}",
        "GET /public/feed.atom",
        "GET /a/{ref}",
    }
    assert {integrations[r] for r in public} == {"PublicHandler"}
    others = set(integrations) - public
    assert "POST /actions" in others and "POST /signup" in others
    assert {integrations[r] for r in others} == {"APIHandler"}
    assert len(integrations) == sum(len(ms) for ms in app.routes.values())


def test_the_public_function_is_the_apps_code_with_its_settings(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    public, api = resources["PublicHandler"]["Properties"], resources["APIHandler"]["Properties"]
    for same in ("Runtime", "Handler", "CodeUri", "Tracing", "Architectures"):
        assert public[same] == api[same], same
    assert public["Environment"] == api["Environment"], "run `python -m tools.policies`"
    # API Gateway gives up after 29 s; a public read that takes 10 has gone wrong.
    assert public["Timeout"] <= api["Timeout"]


def test_api_gateway_may_invoke_the_public_function_for_its_gets_alone(
    template: dict[str, Any],
) -> None:
    grants = [
        spec["Properties"]
        for spec in template["Resources"].values()
        if spec["Type"] == "AWS::Lambda::Permission"
        and spec["Properties"]["FunctionName"] == {"Ref": "PublicHandler"}
    ]
    base = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestAPI}/*/GET"
    assert {g["Principal"] for g in grants} == {"apigateway.amazonaws.com"}
    assert sorted(g["SourceArn"]["Fn::Sub"] for g in grants) == [
        base + "/a/*",
        base + "/public/*",
    ]


def test_the_public_function_reads_public_actions_and_nothing_else(
    template: dict[str, Any],
) -> None:
    role = template["Resources"]["PublicHandlerRole"]["Properties"]
    [policy] = role["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not {a for a in actions if a.startswith(("sqs:", "sns:", "s3:", "connect:", "lambda:"))}
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} & actions
    tables = json.dumps([s["Resource"] for s in statements if s["Sid"].startswith("Table")])
    assert "burgernet-actions" in tables and "burgernet-participants" not in tables
    assert template["Resources"]["PublicHandler"]["Properties"]["Role"] == {
        "Fn::GetAtt": ["PublicHandlerRole", "Arn"]
    }


def test_the_public_reservation_leaves_dispatch_and_the_senders_their_share(
    template: dict[str, Any],
) -> None:
    """Reserved concurrency is the public side's ceiling: whatever readers do, the rest of the
    account's 1,000 stays for dispatch (api_handler), targeting and the capped senders."""
    function = template["Resources"]["PublicHandler"]["Properties"]
    parameter = template["Parameters"]["PublicConcurrency"]
    assert function["ReservedConcurrentExecutions"] == {"Ref": "PublicConcurrency"}

    senders = sum(SENDERS.values()) + CODE_SENDERS + SOCIAL_POSTERS
    left = ACCOUNT_CONCURRENCY - parameter["MaxValue"]
    assert left >= UNRESERVED_MINIMUM
    # Even at the largest reservation allowed, the senders at full MaximumConcurrency (push's
    # 100 instances for 2,500/s, docs/deploy.md) take a small part of what is left, and dispatch
    # keeps hundreds for itself: 800 - 114 = 686.
    assert left - senders >= 5 * senders
    assert parameter["Default"] <= parameter["MaxValue"]


def _distribution(template: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = template["Resources"]["PublicDistribution"]["Properties"][
        "DistributionConfig"
    ]
    return config


def test_cloudfront_serves_the_public_routes_from_the_api_and_nothing_else(
    template: dict[str, Any],
) -> None:
    config = _distribution(template)
    [origin] = config["Origins"]
    assert origin["DomainName"] == {
        "Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    }
    assert origin["OriginPath"] == "/api"  # the stage
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    # One cache in front of the API for all the edges: one request a key per max-age.
    assert origin["OriginShield"]["Enabled"] is True

    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(behaviours) == {"/public/*", "/a/*"}
    assert {p.removesuffix("*") for p in behaviours} == set(policies.PUBLIC_PREFIXES)
    for behaviour in behaviours.values():
        assert behaviour["TargetOriginId"] == origin["Id"]
        assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
        assert behaviour["CachedMethods"] == ["GET", "HEAD"]
        assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behaviour["CachePolicyId"] == {"Ref": "PublicCachePolicy"}
    # Anything else is answered 404 at the edge and never reaches the API.
    default = config["DefaultCacheBehavior"]
    [function] = default["FunctionAssociations"]
    assert function["EventType"] == "viewer-request"
    code = template["Resources"]["PublicOnlyFunction"]["Properties"]["FunctionCode"]
    assert "statusCode: 404" in code


def test_the_cdn_keeps_what_the_api_says_and_no_query_string_misses_it(
    template: dict[str, Any],
) -> None:
    policy = template["Resources"]["PublicCachePolicy"]["Properties"]["CachePolicyConfig"]
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    # The API's Cache-Control decides (30 s, up to an hour); without one nothing is kept.
    assert (policy["MinTTL"], policy["DefaultTTL"]) == (0, 0)
    assert policy["MaxTTL"] == FINAL_MAX_AGE.total_seconds()
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}  # cookies would end 304s
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}


def test_the_distribution_answers_at_public_url_once_given_its_certificate(
    template: dict[str, Any],
) -> None:
    public_url = stage_environment("prod")["PUBLIC_URL"]
    assert template["Parameters"]["PublicDomainName"]["Default"] == urlsplit(public_url).hostname
    config = _distribution(template)
    assert config["Aliases"]["Fn::If"][0] == "HasPublicCertificate"
    assert config["ViewerCertificate"]["Fn::If"][1]["AcmCertificateArn"] == {
        "Ref": "PublicCertificateArn"
    }


def test_the_stage_throttles_public_methods_more_strictly(template: dict[str, Any]) -> None:
    settings = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    by_method = {(s["HttpMethod"], s["ResourcePath"]): s for s in settings}
    default = by_method.pop(("*", "/*"))
    assert set(by_method) == {
        ("GET", "/~1public~1alerts"),
        ("GET", "/~1public~1actions"),
        ("GET", "/~1public~1actions~1{name}"),
        ("GET", "/~1public~1feed.atom"),
        ("GET", "/~1a~1{ref}"),
    }
    for public in by_method.values():
        assert public["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
        assert public["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]


# --- The WAF switch ------------------------------------------------------------------------------


def _holds(template: dict[str, Any], condition: str, parameters: dict[str, str]) -> bool:
    """Evaluate one of the template's Conditions for these parameters (and AWS::Region)."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            return parameters[node["Ref"]]
        return node

    def check(node: Any) -> bool:
        [(fn, args)] = node.items()
        if fn == "Condition":
            return check(template["Conditions"][args])
        if fn == "Fn::Equals":
            return bool(value(args[0]) == value(args[1]))
        if fn == "Fn::Not":
            return not check(args[0])
        if fn == "Fn::And":
            return all(check(a) for a in args)
        raise AssertionError(fn)

    return check(template["Conditions"][condition])


def _web_acl(template: dict[str, Any], **parameters: str) -> Any:
    """The distribution's WebACLId for these parameters: a reference, or None."""

    def pick(node: Any) -> Any:
        if isinstance(node, dict) and "Fn::If" in node:
            condition, yes, no = node["Fn::If"]
            return pick(yes if _holds(template, condition, parameters) else no)
        return None if node == {"Ref": "AWS::NoValue"} else node

    return pick(_distribution(template)["WebACLId"])


def _made(template: dict[str, Any], name: str, **parameters: str) -> bool:
    condition = template["Resources"][name].get("Condition")
    return condition is None or _holds(template, condition, parameters)


def test_the_waf_switch_off_leaves_no_web_acl(template: dict[str, Any]) -> None:
    assert template["Parameters"]["PublicWaf"]["Default"] == "off"
    for region in ("us-east-1", "eu-west-1"):
        off = {"PublicWaf": "off", "AWS::Region": region, "PublicWebAclArn": ""}
        assert _web_acl(template, **off) is None
        assert not _made(template, "PublicWebAcl", **off)


def test_the_waf_switch_on_guards_the_distribution_with_a_rate_rule(
    template: dict[str, Any],
) -> None:
    here = {"PublicWaf": "on", "AWS::Region": "us-east-1", "PublicWebAclArn": ""}
    assert _made(template, "PublicWebAcl", **here)
    assert _web_acl(template, **here) == {"Fn::GetAtt": ["PublicWebAcl", "Arn"]}

    acl = template["Resources"]["PublicWebAcl"]["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    [rule] = acl["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    # A display polling three feeds every 30 s makes 30 requests in 5 minutes; many readers
    # behind one carrier's address make more. Beyond the limit, 429 until the rate drops.
    assert rate["Limit"] >= 30 * 20 and rate["EvaluationWindowSec"] == 300
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429


def test_outside_us_east_1_the_switch_attaches_the_web_acl_made_there(
    template: dict[str, Any],
) -> None:
    """CloudFront's web ACLs exist only in us-east-1: elsewhere infra/public-waf.json is deployed
    there and its ARN passed in, and a stack switched on without it is refused."""
    arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/burgernet-public/abc"
    elsewhere = {"PublicWaf": "on", "AWS::Region": "eu-west-1", "PublicWebAclArn": arn}
    assert not _made(template, "PublicWebAcl", **elsewhere)
    assert _web_acl(template, **elsewhere) == {"Ref": "PublicWebAclArn"}

    rule = template["Rules"]["PublicWafOutsideUsEast1NeedsItsWebAcl"]
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "PublicWebAclArn"}, ""]}]
    }
    waf = json.loads((ROOT / "infra" / "public-waf.json").read_text())
    made_there = dict(waf["Resources"]["PublicWebAcl"])
    assert made_there == {
        k: v for k, v in template["Resources"]["PublicWebAcl"].items() if k != "Condition"
    }
    assert (ROOT / "infra" / "public-waf.json").read_text() == policies.waf_template_rendered(), (
        "run `python -m tools.policies`"
    )
