"""What a security review reads: the packaged prod template's roles and the API's callers.

The `template` fixture (tests/integration/conftest.py) is built as `make package` builds it:
chalice's CloudFormation packager merging infra/template.json, once per session.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app import app
from chalicelib.domain.people import SIGN_IN_MESSAGE, PersonGroup
from chalicelib.queues import DEAD_LETTER_QUEUES
from tests.support import iam
from tools import policies
from tools.emulator import ROOT

# Resource "*" only where the service has no resource-level permissions.
WILDCARD_ALLOWED = {
    "xray:PutTelemetryRecords",  # X-Ray has no resource types
    "xray:PutTraceSegments",
}


def _resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in _resources(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement


def test_the_policy_files_are_what_tools_policies_writes() -> None:
    stale = [
        f
        for f in policies.CHALICE_FUNCTIONS
        if (policies.POLICY_DIR / f"{f}.json").read_text() != policies.rendered(f)
    ]
    assert stale == [], "run `python -m tools.policies`"


def test_every_function_has_its_own_role(template: dict[str, Any]) -> None:
    functions = _resources(template, "AWS::Serverless::Function")
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    # chalice's functions, plus the template's own (the public routes' PublicHandler)
    assert len(functions) == len(app.handler_map) - _routes_minus_one() + len(
        policies.TEMPLATE_FUNCTIONS
    )
    assert len(set(roles)) == len(roles)
    assert sorted(policies.CHALICE_FUNCTIONS) == sorted(
        {"api_handler"} | {n for n in app.handler_map if not _is_route(n)}
    )
    assert set(policies.TEMPLATE_FUNCTIONS.values()) <= set(functions)


def _is_route(name: str) -> bool:
    return any(e.view_name == name for ms in app.routes.values() for e in ms.values())


def _routes_minus_one() -> int:
    return sum(1 for n in app.handler_map if _is_route(n)) - 1


def test_no_resource_star_outside_the_allow_list(template: dict[str, Any]) -> None:
    loose = []
    for role, statement in _statements(template):
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource", [])
        resources = [resources] if not isinstance(resources, list) else resources
        if "*" in resources and not set(actions) <= WILDCARD_ALLOWED:
            loose.append((role, statement.get("Sid")))
        text = json.dumps(resources)
        # ARNs pinned to the stack's region and account: no "arn:aws:svc:*:*:" wildcards.
        if "dynamodb:*" in text or ":*:*:" in text or "arn:aws:" in text:
            loose.append((role, statement.get("Sid")))
    assert loose == []


def test_only_the_senders_and_code_paths_may_text(template: dict[str, Any]) -> None:
    texting = {role for role, s in _statements(template) if s.get("Sid") == "SmsToPhoneNumbersOnly"}
    assert texting == {"ApiHandlerRole", "SmsSenderRole", "CodeSenderRole"}


def test_only_the_social_poster_reads_the_networks_credentials(template: dict[str, Any]) -> None:
    readers = {
        role
        for role, s in _statements(template)
        if "social-credentials" in json.dumps(s.get("Resource"))
        or "social-credentials" in json.dumps(s.get("Condition"))
    }
    assert readers == {"SocialPosterRole"}


def test_the_social_poster_touches_nothing_but_its_queue_actions_and_credentials(
    template: dict[str, Any],
) -> None:
    own = [s for role, s in _statements(template) if role == "SocialPosterRole"]
    resources = json.dumps([s["Resource"] for s in own])
    assert "sqs" in resources and "burgernet-social" in resources
    assert not {"sqs:SendMessage", "sns:Publish", "connect:StartOutboundVoiceContact"} & {
        a for s in own for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    tables = {
        r["Fn::Sub"].rsplit("table/", 1)[1]
        for s in own
        for r in _list(s["Resource"])
        if "table/" in str(r)
    }
    assert tables == {"burgernet-actions"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_public_api_and_callback_router_cannot_scan_people(template: dict[str, Any]) -> None:
    for role in ("ApiHandlerRole", "CallbackRouterRole", "InboundSmsRole"):
        for _, s in (x for x in _statements(template) if x[0] == role):
            if "burgernet-participants" in json.dumps(s.get("Resource")):
                assert not {"dynamodb:Scan", "dynamodb:BatchWriteItem"} & set(s["Action"])


def test_connect_may_invoke_the_router_only_from_our_instance(template: dict[str, Any]) -> None:
    permission = template["Resources"]["CallbackRouterInvokedByConnect"]["Properties"]
    assert permission["SourceArn"] == {"Ref": "ConnectInstanceArn"}
    calls = [s for _, s in _statements(template) if s.get("Sid", "").startswith("OutboundCalls")]
    assert calls and all(
        s["Resource"] == {"Fn::Sub": "${ConnectInstanceArn}/contact/*"} for s in calls
    )


def _method_arn(path: str, method: str) -> str:
    path = "/".join("*" if s.startswith("{") else s for s in path.split("/"))
    return (
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestAPI}/api/"
        + method
        + path
    )


def test_each_signed_route_is_in_exactly_one_caller_policy(template: dict[str, Any]) -> None:
    granted = {}
    for name in ("DispatchCallerPolicy", "MunicipalityAdminPolicy"):
        doc = template["Resources"][name]["Properties"]["PolicyDocument"]
        granted[name] = {r["Fn::Sub"] for s in doc["Statement"] for r in s["Resource"]}
    signed = {
        (path, m): _method_arn(path, m)
        for path, ms in app.routes.items()
        for m, e in ms.items()
        if type(e.authorizer).__name__ == "IAMAuthorizer"
    }
    for (path, _), arn in signed.items():
        holders = [n for n, arns in granted.items() if arn in arns]
        expected = (
            "MunicipalityAdminPolicy"
            if path.startswith("/municipalities")
            else "DispatchCallerPolicy"
        )
        assert holders == [expected], arn
    assert set().union(*granted.values()) == set(signed.values())


def test_cfn_lint_finds_nothing(template: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "sam.json"
    path.write_text(json.dumps(template))
    run = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _short_arn(path: str, method: str) -> str:
    return (
        "execute-api:/api/"
        + method
        + "/".join("*" if s.startswith("{") else s for s in path.split("/"))
    )


def _signed_routes() -> set[str]:
    """The SigV4-signed routes (the control room's routes take a Cognito token instead)."""
    return {
        f"{m} {p}"
        for p, ms in app.routes.items()
        for m, e in ms.items()
        if type(e.authorizer).__name__ == "IAMAuthorizer"
    }


def test_the_public_routes_are_open_to_anyone(template: dict[str, Any]) -> None:
    """Without an Allow here a public route is refused."""
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    by_sid = {s["Sid"]: s for s in body["x-amazon-apigateway-policy"]["Statement"]}
    public = {
        _short_arn(p, m) for p, ms in app.routes.items() for m, e in ms.items() if not e.authorizer
    }
    assert set(by_sid["Public"]["Resource"]) == public
    assert by_sid["Public"]["Principal"] == "*"


def test_the_people_routes_are_open_to_anyone_with_a_token_of_our_pool(
    template: dict[str, Any],
) -> None:
    """No IAM principal signs these: without an Allow for anyone the resource policy refuses
    every person; the Cognito authorizer, pointed at our own pool, is what lets them in."""
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    by_sid = {s["Sid"]: s for s in body["x-amazon-apigateway-policy"]["Statement"]}
    people = {
        _short_arn(p, m)
        for p, ms in app.routes.items()
        for m, e in ms.items()
        if type(e.authorizer).__name__ == "CognitoUserPoolAuthorizer"
    }
    assert len(people) == 5
    assert set(by_sid["SignedInPeople"]["Resource"]) == people
    assert by_sid["SignedInPeople"]["Principal"] == "*"
    authorizer = body["securityDefinitions"]["ControlUserPool"]["x-amazon-apigateway-authorizer"]
    assert authorizer["providerARNs"] == [{"Fn::GetAtt": ["ControlUserPool", "Arn"]}]
    for path, methods in body["paths"].items():
        for method, spec in methods.items():
            if _short_arn(path, method.upper()) in people:
                assert spec["security"] == [{"ControlUserPool": []}], (method, path)
    # Refused before the function runs, in the API's own error shape.
    unauthorized = body["x-amazon-apigateway-gateway-responses"]["UNAUTHORIZED"]
    assert json.loads(unauthorized["responseTemplates"]["application/json"]) == {
        "error": "unauthorized",
        "message": SIGN_IN_MESSAGE,
    }


def test_people_sign_in_with_totp_to_a_pool_nobody_can_sign_up_to(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    pool = resources["ControlUserPool"]["Properties"]
    assert (pool["MfaConfiguration"], pool["EnabledMfas"]) == ("ON", ["SOFTWARE_TOKEN_MFA"])
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    client = resources["ControlPageClient"]["Properties"]
    assert client["GenerateSecret"] is False  # a browser keeps no secret
    assert sorted(client["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
    ]
    groups = {
        r["Properties"]["GroupName"]
        for r in resources.values()
        if r["Type"] == "AWS::Cognito::UserPoolGroup"
    }
    assert groups == {g.value for g in PersonGroup}
    env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["CONTROL_USER_POOL_ID"] == {"Ref": "ControlUserPool"}
    assert env["CONTROL_CLIENT_ID"] == {"Ref": "ControlPageClient"}


def test_the_caller_table_holds_every_signed_route_once() -> None:
    listed = [r for caller in policies.CALLERS for r in caller.routes]
    assert sorted(listed) == sorted(_signed_routes())


def test_the_template_and_docs_are_what_tools_policies_writes() -> None:
    assert (ROOT / "infra" / "template.json").read_text() == policies.template_rendered(), (
        "run `python -m tools.policies`"
    )
    assert (ROOT / "docs" / "deploy.md").read_text() == policies.docs_rendered(), (
        "run `python -m tools.policies`"
    )


DISPATCH_ROLE = f"arn:aws:iam::{iam.ACCOUNT}:role/meldkamer-oost"
ADMIN_ROLE = f"arn:aws:iam::{iam.ACCOUNT}:role/gemeente-beheer"
OTHER_ROLE = f"arn:aws:iam::{iam.ACCOUNT}:role/some-other-team"
BOTH_ROLE = f"arn:aws:iam::{iam.ACCOUNT}:role/listed-twice-by-mistake"
ELSEWHERE_ROLE = "arn:aws:iam::210987654321:role/meldkamer-noord"


def _request(route: str) -> str:
    method, path = route.split(" ", 1)
    path = "/".join("x-1" if s.startswith("{") else s for s in path.split("/"))
    return f"arn:aws:execute-api:{iam.REGION}:{iam.ACCOUNT}:{iam.API_ID}/api/{method}{path}"


def test_each_caller_class_may_call_exactly_its_routes(template: dict[str, Any]) -> None:
    """Same-account evaluation: an Allow in the role's policy OR the resource policy admits, so
    only the resource policy's Denies keep a municipality admin from starting an action."""
    classes = {"Dispatch": DISPATCH_ROLE, "MunicipalityAdmin": ADMIN_ROLE}
    everyone = [*classes.values(), BOTH_ROLE, ELSEWHERE_ROLE]
    # Each class's parameter holds its role and BOTH_ROLE; any other list parameter (as the
    # single AllowedCallerPrincipals did before) holds every caller.
    parameters = {
        name: [classes[c.name] for c in policies.CALLERS if c.parameter == name]
        + [BOTH_ROLE]
        + ([ELSEWHERE_ROLE] if name == "DispatchCallerPrincipals" else [])
        if any(c.parameter == name for c in policies.CALLERS)
        else everyone
        for name, spec in template["Parameters"].items()
        if spec["Type"] == "CommaDelimitedList"
    }
    resources = template["Resources"]
    resource_policy = iam.resolve(
        resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-policy"],
        parameters,
    )
    own = {
        c.name: iam.resolve(resources[c.policy_id]["Properties"]["PolicyDocument"], parameters)
        for c in policies.CALLERS
    }
    anything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    callers = {name: (role, [own[name]]) for name, role in classes.items()}
    # A role listed nowhere, even one allowed everything in its own policy.
    callers["Other"] = (OTHER_ROLE, [anything])
    # A dispatch role that was also given the admin policy, or Invoke on everything.
    callers["Dispatch+"] = (DISPATCH_ROLE, [own["Dispatch"], own["MunicipalityAdmin"], anything])
    callers["MunicipalityAdmin+"] = (ADMIN_ROLE, [own["Dispatch"], anything])
    # A role in both parameters gets no signed route: one role, one class.
    callers["Both"] = (BOTH_ROLE, [own["Dispatch"], own["MunicipalityAdmin"]])
    # Another account's control room, listed as dispatch (docs/deploy.md): its own account's
    # policy allows it everything, ours still keeps it to dispatch; with no policy, nothing.
    callers["Elsewhere"] = (ELSEWHERE_ROLE, [anything])
    callers["Elsewhere, no own policy"] = (ELSEWHERE_ROLE, [])

    may = {
        name: {
            route
            for route in _signed_routes()
            if iam.allowed(role, _request(route), policies_, resource_policy)
        }
        for name, (role, policies_) in callers.items()
    }
    routes = {c.name: set(c.routes) for c in policies.CALLERS}
    assert may == {
        "Dispatch": routes["Dispatch"],
        "MunicipalityAdmin": routes["MunicipalityAdmin"],
        "Other": set(),
        "Both": set(),
        "Elsewhere": routes["Dispatch"],
        "Elsewhere, no own policy": set(),
        "Dispatch+": routes["Dispatch"],
        "MunicipalityAdmin+": routes["MunicipalityAdmin"],
    }


def test_the_evaluation_follows_aws_for_same_account_callers() -> None:
    """Either side's Allow admits, a Deny on either side wins, nothing admits nobody."""
    arn = _request("POST /actions")
    allow = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arn}]}
    deny = {"Statement": [{**allow["Statement"][0], "Effect": "Deny"}]}
    nothing: dict[str, Any] = {"Statement": []}
    on_resource = {"Statement": [{**allow["Statement"][0], "Principal": {"AWS": [OTHER_ROLE]}}]}
    assert iam.allowed(OTHER_ROLE, arn, [allow], nothing)
    assert iam.allowed(OTHER_ROLE, arn, [nothing], on_resource)
    assert not iam.allowed(DISPATCH_ROLE, arn, [nothing], on_resource)
    assert not iam.allowed(OTHER_ROLE, arn, [allow, deny], on_resource)
    assert not iam.allowed(OTHER_ROLE, arn, [nothing], nothing)
    # Across accounts both sides must allow.
    on_elsewhere = {"Statement": [{**allow["Statement"][0], "Principal": {"AWS": ELSEWHERE_ROLE}}]}
    assert not iam.allowed(ELSEWHERE_ROLE, arn, [nothing], on_elsewhere)
    assert not iam.allowed(ELSEWHERE_ROLE, arn, [allow], nothing)
    assert iam.allowed(ELSEWHERE_ROLE, arn, [allow], on_elsewhere)
    assert iam.arn_matches(
        f"arn:aws:execute-api:{iam.REGION}:{iam.ACCOUNT}:*/*/GET/actions/*",
        arn.replace("POST/actions", "GET/actions/x/timeline"),
    )
    assert iam.arn_matches("a?c", "abc") and not iam.arn_matches("a?c", "abbc")
    assert not iam.arn_matches(
        "arn:aws:execute-api:r:1:*/*/GET/actions", "arn:aws:execute-api:r:1:x/api/GET/actions/x"
    )


def test_only_the_sweeper_sees_the_dead_letter_queues_and_only_counts_them(
    template: dict[str, Any],
) -> None:
    """The DeadLettered metric needs each DLQ's message count; nobody needs their messages."""

    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    seeing = {
        (role, action, resource["Fn::Sub"].rsplit(":", 1)[1])
        for role, s in _statements(template)
        for action in listed(s["Action"])
        for resource in listed(s.get("Resource", []))
        if isinstance(resource, dict) and resource.get("Fn::Sub", "").endswith("-dlq")
    }
    assert seeing == {
        ("SweeperRole", action, queue)
        for action in ("sqs:GetQueueUrl", "sqs:GetQueueAttributes")
        for queue in DEAD_LETTER_QUEUES
    }


def test_the_public_routes_may_find_an_action_by_its_reference_and_nothing_more(
    template: dict[str, Any],
) -> None:
    """The feeds and the page read actions by status (as dispatch does) and by reference."""
    actions = [
        s
        for role, s in _statements(template)
        if role == "ApiHandlerRole" and s["Sid"] == "TableActions"
    ]
    indexes = {
        r["Fn::Sub"].rsplit("/", 1)[1] for r in actions[0]["Resource"] if "/index/" in str(r)
    }
    assert indexes == {"status-index", "ref-index"}


# --- Photos: a private bucket, a CDN in front of its public sizes, a resizer with Pillow -------


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _bucket_objects(statement: dict[str, Any]) -> set[str]:
    resources = statement["Resource"]
    resources = resources if isinstance(resources, list) else [resources]
    bucket = "arn:${AWS::Partition}:s3:::burgernet-photos-${AWS::AccountId}-${AWS::Region}/"
    return {r["Fn::Sub"].removeprefix(bucket) for r in resources}


def test_the_photo_resizer_may_read_uploads_and_write_sizes_and_nothing_else(
    template: dict[str, Any],
) -> None:
    statements = [s for role, s in _statements(template) if role == "PhotoResizerRole"]
    by_sid = {s["Sid"]: s for s in statements}

    assert set().union(*map(_actions, statements)) == {
        "s3:GetObject",
        "s3:PutObject",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }  # no table, no queue, no hash key
    assert _bucket_objects(by_sid["PhotosGetObject"]) == {"uploads/*"}
    assert _bucket_objects(by_sid["PhotosPutObject"]) == {"originals/*", "public/*"}


def test_only_the_api_asks_the_resizer_and_nobody_reads_the_originals(
    template: dict[str, Any],
) -> None:
    invoking = [(r, s) for r, s in _statements(template) if "lambda:InvokeFunction" in _actions(s)]
    s3 = [(r, s) for r, s in _statements(template) if any(a.startswith("s3:") for a in _actions(s))]

    assert [(r, s["Resource"]) for r, s in invoking] == [
        (
            "ApiHandlerRole",
            {
                "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}"
                ":function:${PhotoResizer}"
            },
        )
    ]
    assert {r for r, _ in s3} == {"ApiHandlerRole", "PhotoResizerRole", "SweeperRole"}
    api = {s["Sid"]: s for r, s in s3 if r == "ApiHandlerRole"}
    assert _bucket_objects(api["PhotosPutObject"]) == {"uploads/*"}
    assert _bucket_objects(api["PhotosDeleteObject"]) == {"uploads/*", "originals/*", "public/*"}
    # The sweep takes back a redacted action's photos: it finds them by their originals.
    sweeper = {s["Sid"]: s for r, s in s3 if r == "SweeperRole"}
    assert set(sweeper) == {"PhotosDeleteObject", "PhotosListBucket"}
    assert _bucket_objects(sweeper["PhotosDeleteObject"]) == {"originals/*", "public/*"}
    assert sweeper["PhotosListBucket"]["Condition"] == {
        "StringLike": {"s3:prefix": ["originals/*"]}
    }
    readers = [s for _, s in s3 if "s3:GetObject" in _actions(s)]
    assert all(_bucket_objects(s) == {"uploads/*"} for s in readers)  # the CDN reads public/
    api_env = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api_env["PHOTO_RESIZER"] == {"Ref": "PhotoResizer"}


def test_only_who_takes_photos_back_invalidates_and_only_the_photos_distribution(
    template: dict[str, Any],
) -> None:
    invalidating = [
        (role, s)
        for role, s in _statements(template)
        if any(a.startswith("cloudfront:") for a in _actions(s))
    ]
    functions = template["Resources"]

    assert sorted(role for role, _ in invalidating) == ["ApiHandlerRole", "SweeperRole"]
    for _, statement in invalidating:
        assert _actions(statement) == {"cloudfront:CreateInvalidation"}
        assert statement["Resource"] == {
            "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}"
            ":distribution/${PhotosDistribution}"
        }
    for function in ("APIHandler", "Sweeper"):
        variables = functions[function]["Properties"]["Environment"]["Variables"]
        assert variables["PHOTOS_DISTRIBUTION_ID"] == {"Ref": "PhotosDistribution"}
        assert variables["PHOTOS_BUCKET"] == {"Ref": "PhotosBucket"}


def test_the_photos_bucket_is_private_encrypted_and_forgets_with_the_actions_text(
    template: dict[str, Any],
) -> None:
    bucket = template["Resources"]["PhotosBucket"]["Properties"]
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    keep = json.loads((ROOT / ".chalice" / "config.json").read_text())["environment_variables"][
        "KEEP_DESCRIPTIONS_DAYS"
    ]

    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert rules["UploadsAsSentLeaveWithinADay"]["Prefix"] == "uploads/"
    assert rules["UploadsAsSentLeaveWithinADay"]["ExpirationInDays"] == 1
    # Uploaded during an action of at most 8 hours, kept a day past its description.
    whole = rules["PhotosLeaveWithTheActionsText"]
    assert "Prefix" not in whole and whole["ExpirationInDays"] == int(keep) + 1


def test_only_the_cdn_reads_the_bucket_and_only_its_public_sizes(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    policy = resources["PhotosBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    origin = resources["PhotosDistribution"]["Properties"]["DistributionConfig"]
    [allowed] = [s for s in policy if s["Effect"] == "Allow"]
    [tls] = [s for s in policy if s["Effect"] == "Deny"]

    assert allowed["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allowed["Action"] == "s3:GetObject"
    assert allowed["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${PhotosBucket}/public/*"}
    assert allowed["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"].endswith(
        ":distribution/${PhotosDistribution}"
    )
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [source] = origin["Origins"]
    assert source["OriginPath"] == "/public"
    assert source["OriginAccessControlId"] == {"Fn::GetAtt": ["PhotosOriginAccessControl", "Id"]}
    assert origin["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"


def test_pillow_is_the_resizers_alone_and_tests_run_the_version_it_runs(
    template: dict[str, Any],
) -> None:
    functions = _resources(template, "AWS::Serverless::Function")
    layered = {name for name, f in functions.items() if f["Properties"].get("Layers")}
    pin = re.compile(r"^pillow==([\d.]+)", re.IGNORECASE | re.MULTILINE)

    assert layered == {"PhotoResizer"}
    assert not pin.search((ROOT / "requirements.txt").read_text())  # not in the shared package
    layer = pin.findall((ROOT / "infra" / "layers" / "pillow.txt").read_text())
    assert layer == pin.findall((ROOT / "requirements-dev.in").read_text())
