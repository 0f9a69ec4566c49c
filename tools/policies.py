"""Each Lambda's IAM policy, and who may call which signed route, from tables in this file.

    python -m tools.policies          # rewrite the files (tests fail while they are stale)

Writes .chalice/policies/<function>.json, and from CALLER_ROUTES the API's resource policy and the
two callers' managed policies in infra/template.json and the route table in docs/deploy.md. It also
writes what the template's public function (PublicHandler) must share with chalice's output: its
environment, its policy, the public routes' integrations and the stage's throttling, and
infra/public-waf.json (the web ACL, for us-east-1).

chalice copies a policy file into the function's role verbatim, so the ARNs are CloudFormation
`Fn::Sub` strings: the packaged template pins them to the stack's own region and account, and
Connect to the `ConnectInstanceArn` stack parameter. That is why the prod stage is deployed with
`make package` (CloudFormation) and never with `chalice deploy`, which would not resolve them.

What each function may do was read from its code path (handler -> logic -> dal/adapters).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app import app
from chalicelib.domain.photos import ORIGINALS, PUBLIC, UPLOADS
from chalicelib.queues import DEAD_LETTER_QUEUES

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / ".chalice" / "policies"

READ = ["dynamodb:GetItem"]
WRITE = ["dynamodb:PutItem"]
UPDATE = ["dynamodb:UpdateItem"]
DELETE = ["dynamodb:DeleteItem"]
QUERY = ["dynamodb:Query"]
BATCH_GET = ["dynamodb:BatchGetItem"]
SCAN = ["dynamodb:Scan"]

# table -> actions, and the indexes queried ("" = the table's own key).
Tables = dict[str, tuple[list[str], list[str]]]

RECEIVE = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
SEND = ["sqs:GetQueueUrl", "sqs:SendMessage"]
# Counting what waits in a queue (its URL, then ApproximateNumberOfMessages): no message is read.
COUNT = ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
# A sender hides its message while it runs (chalicelib/queues.py, Hold).
HOLD = ["sqs:ChangeMessageVisibility"]


def _sub(arn: str) -> dict[str, str]:
    return {"Fn::Sub": arn}


def _table_arns(table: str, indexes: list[str]) -> list[dict[str, str]]:
    base = f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table}"
    return [_sub(base)] + [_sub(f"{base}/index/{i}") for i in indexes]


def _queue(name: str) -> dict[str, str]:
    return _sub(f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{name}")


def _parameter(path: str) -> dict[str, str]:
    return _sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{path}")


# Only the social poster reads the networks' credentials (SOCIAL_CREDENTIALS_PARAMETER).
SOCIAL_CREDENTIALS = "/burgernet/social-credentials"
SOCIAL: list[dict[str, Any]] = [
    {
        "Sid": "SocialCredentials",
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": _parameter(SOCIAL_CREDENTIALS),
    },
    {
        "Sid": "SocialCredentialsDecrypt",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": _sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"),
        "Condition": {
            "StringEquals": {
                "kms:ViaService": _sub("ssm.${AWS::Region}.amazonaws.com"),
                "kms:EncryptionContext:PARAMETER_ARN": _parameter(SOCIAL_CREDENTIALS),
            }
        },
    },
]

# Every function that builds runtime(): the pseudonym key at cold start.
HASH_KEY: list[dict[str, Any]] = [
    {
        "Sid": "HashKey",
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": _parameter("/burgernet/hash-key"),
    },
    {
        "Sid": "HashKeyDecrypt",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": _sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"),
        "Condition": {
            "StringEquals": {
                "kms:ViaService": _sub("ssm.${AWS::Region}.amazonaws.com"),
                "kms:EncryptionContext:PARAMETER_ARN": _parameter("/burgernet/hash-key"),
            }
        },
    },
]
# Every function: its logs, and traces.
COMMON: list[dict[str, Any]] = [
    {
        "Sid": "Logs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        # SAM names functions "<stack>-<LogicalId>-<suffix>".
        "Resource": _sub(
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
            ":log-group:/aws/lambda/${AWS::StackName}-*"
        ),
    },
    {
        # X-Ray has no resource-level permissions: "*" is the only Resource it accepts.
        "Sid": "Tracing",
        "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Resource": "*",
    },
]

# SNS Publish to a phone number has no resource (there is no ARN for a number) and IAM has no
# condition key for the destination, so "*" minus every SNS ARN is the narrowest IAM can say.
# The +31-only rule is enforced in code: SnsSms refuses any other number (adapters/sms.py).
SMS: dict[str, Any] = {
    "Sid": "SmsToPhoneNumbersOnly",
    "Effect": "Allow",
    "Action": "sns:Publish",
    "NotResource": _sub("arn:${AWS::Partition}:sns:*:*:*"),
}
CALLS: dict[str, Any] = {
    "Sid": "OutboundCallsThroughOurInstance",
    "Effect": "Allow",
    "Action": "connect:StartOutboundVoiceContact",
    "Resource": _sub("${ConnectInstanceArn}/contact/*"),
}
# A call whose start's answer was lost is known only by its contact id when it ends: its
# attributes name the delivery whose line it holds.
CALL_ATTRIBUTES: dict[str, Any] = {
    "Sid": "ReadOurCallsAttributes",
    "Effect": "Allow",
    "Action": "connect:GetContactAttributes",
    "Resource": _sub("${ConnectInstanceArn}/contact/*"),
}
PUSH_ARNS = [
    _sub("arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:app/*/burgernet-*"),
    _sub("arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:endpoint/*/burgernet-*/*"),
]

PHOTOS_BUCKET = "burgernet-photos-${AWS::AccountId}-${AWS::Region}"  # infra: PhotosBucket


def _objects(prefixes: list[str]) -> list[dict[str, str]]:
    return [_sub(f"arn:${{AWS::Partition}}:s3:::{PHOTOS_BUCKET}/{p}*") for p in prefixes]


def _listing(prefixes: list[str]) -> dict[str, Any]:
    """ListBucket on the photos bucket, for keys under these prefixes only."""
    return {
        "Sid": "PhotosListBucket",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": _sub(f"arn:${{AWS::Partition}}:s3:::{PHOTOS_BUCKET}"),
        "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
    }


# Whoever takes a photo back invalidates its paths at the photos' CDN (infra: PhotosDistribution).
INVALIDATE_PHOTOS: dict[str, Any] = {
    "Sid": "InvalidatePhotoPaths",
    "Effect": "Allow",
    "Action": "cloudfront:CreateInvalidation",
    "Resource": _sub(
        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${PhotosDistribution}"
    ),
}


SENDER_TABLES: Tables = {
    "burgernet-actions": (READ + UPDATE, []),
    "burgernet-deliveries": (BATCH_GET + UPDATE, []),
}
# Who leaves (DELETE /participants/me, STOP reply) is erased everywhere at once (account.leave).
LEAVE_TABLES: Tables = {
    "burgernet-participants": (READ + QUERY + DELETE, ["phone-index"]),
    "burgernet-places": (DELETE + WRITE, []),
    "burgernet-deliveries": (QUERY + UPDATE, ["participant-index"]),
    "burgernet-devices": (QUERY + BATCH_GET + WRITE + UPDATE, ["participant-index"]),
    "burgernet-sightings": (QUERY + UPDATE, ["device-index"]),
    "burgernet-sessions": (QUERY + DELETE, ["participant-index"]),
    "burgernet-verifications": (QUERY + DELETE, ["phone-index"]),
}


def _merge(*parts: Tables) -> Tables:
    merged: Tables = {}
    for part in parts:
        for table, (actions, indexes) in part.items():
            had_actions, had_indexes = merged.get(table, ([], []))
            merged[table] = (
                sorted(set(had_actions) | set(actions)),
                sorted(set(had_indexes) | set(indexes)),
            )
    return merged


FUNCTIONS: dict[str, dict[str, Any]] = {
    "api_handler": {
        "tables": _merge(
            LEAVE_TABLES,
            {
                # dispatch: start (with its idempotency record), list, close, reach;
                # the public feeds and page (an action by its reference)
                "burgernet-actions": (
                    READ + WRITE + UPDATE + QUERY + BATCH_GET,
                    ["status-index", "ref-index"],
                ),
                "burgernet-idempotency": (READ + WRITE, []),
                # signup, login, preferences (transactions put and delete places)
                "burgernet-participants": (READ + WRITE + QUERY + BATCH_GET, ["phone-index"]),
                "burgernet-places": (READ + WRITE + DELETE + QUERY, []),
                "burgernet-municipalities": (READ + WRITE + SCAN, []),
                "burgernet-verifications": (READ + WRITE + UPDATE + DELETE, []),
                "burgernet-sessions": (READ + WRITE, []),
                "burgernet-ratelimits": (UPDATE, []),
                # the app: devices, locations, sightings
                "burgernet-devices": (READ + WRITE + DELETE, []),
                "burgernet-sightings": (WRITE + QUERY + BATCH_GET, []),
                "burgernet-deliveries": (BATCH_GET, []),
            },
        ),
        "send_to": ["burgernet-targeting", "burgernet-codes", "burgernet-social"],
        "sms": True,  # signup codes and the goodbye SMS
        "calls": True,  # signup codes to landlines
        "push": ["sns:CreatePlatformEndpoint", "sns:DeleteEndpoint"],
        # a photo: the upload in, the resizer asked, and whatever is not kept removed again;
        # the photo it replaces taken back (files deleted, CDN paths invalidated)
        "photos": {"s3:PutObject": [UPLOADS], "s3:DeleteObject": [UPLOADS, ORIGINALS, PUBLIC]},
        "invoke": "PhotoResizer",
        "invalidate_photos": True,
    },
    "targeting_worker": {
        "tables": {
            "burgernet-actions": (READ + UPDATE, []),
            "burgernet-places": (QUERY, []),
            "burgernet-devices": (BATCH_GET, []),
            "burgernet-deliveries": (WRITE + QUERY + UPDATE, []),
        },
        "receive": "burgernet-targeting",
        "send_to": ["burgernet-sms", "burgernet-voice", "burgernet-push"],
    },
    "sms_sender": {
        "tables": SENDER_TABLES,
        "receive": "burgernet-sms",
        "hold": True,
        "send_to": ["burgernet-sms", "burgernet-voice", "burgernet-push"],
        "sms": True,
    },
    "voice_sender": {
        "tables": _merge(SENDER_TABLES, {"burgernet-ratelimits": (WRITE + DELETE, [])}),
        "receive": "burgernet-voice",
        "hold": True,
        "send_to": ["burgernet-sms", "burgernet-voice", "burgernet-push"],
        "calls": True,
    },
    "push_sender": {
        "tables": _merge(
            SENDER_TABLES,
            {
                # an endpoint the platform says is gone is forgotten with its location
                "burgernet-devices": (READ + WRITE, []),
                "burgernet-places": (DELETE, []),
            },
        ),
        "receive": "burgernet-push",
        "hold": True,
        "send_to": ["burgernet-sms", "burgernet-voice", "burgernet-push"],
        "push": ["sns:Publish", "sns:DeleteEndpoint"],
    },
    "code_sender": {
        "tables": {
            "burgernet-verifications": (READ + UPDATE, []),
            "burgernet-participants": (READ + QUERY, ["phone-index"]),
        },
        "receive": "burgernet-codes",
        "sms": True,
        "calls": True,
    },
    "contact_events": {
        "tables": {
            "burgernet-deliveries": (READ + QUERY + UPDATE, ["contact-index"]),
            "burgernet-actions": (READ + UPDATE, []),
            "burgernet-ratelimits": (DELETE, []),
        },
        "send_to": ["burgernet-sms", "burgernet-voice"],
        "call_attributes": True,
    },
    "inbound_sms": {"tables": LEAVE_TABLES},
    # SMS receipts: an ambiguous alert found by the number's keyed hash, settled or queued again
    # (with the updates and the result it missed)
    "receipt_reader": {
        "tables": {
            "burgernet-deliveries": (BATCH_GET + QUERY + UPDATE, ["caller-index"]),
            "burgernet-actions": (READ + UPDATE, []),
        },
        "receive": "burgernet-receipts",
        "send_to": ["burgernet-sms", "burgernet-voice", "burgernet-push"],
    },
    "sweeper": {
        "tables": {
            "burgernet-actions": (
                READ + UPDATE + QUERY,
                ["status-index", "pending-index", "redaction-index"],
            ),
            "burgernet-sightings": (QUERY + UPDATE, []),
            # reconciliation: an ambiguous alert with no receipt in time is queued once more
            "burgernet-deliveries": (BATCH_GET + UPDATE, []),
        },
        "send_to": [
            "burgernet-targeting",
            "burgernet-social",
            "burgernet-sms",
            "burgernet-voice",
            "burgernet-push",
        ],
        "count": list(DEAD_LETTER_QUEUES),  # the DeadLettered metric
        # redaction takes back every photo the action had: found by its originals, deleted,
        # and invalidated at the CDN (its posts go through burgernet-social)
        "photos": {"s3:DeleteObject": [ORIGINALS, PUBLIC]},
        "list_photos": [ORIGINALS],
        "invalidate_photos": True,
    },
    "social_poster": {
        # reads the action, records each post's id (and, at redaction, its deletion) in its ledger
        "tables": {"burgernet-actions": (READ + UPDATE, [])},
        "receive": "burgernet-social",
        "social": True,
    },
    "callback_router": {
        "tables": {
            "burgernet-ratelimits": (UPDATE, []),
            "burgernet-deliveries": (QUERY, ["caller-index"]),
            "burgernet-actions": (READ, []),
            "burgernet-municipalities": (SCAN, []),
        },
    },
    # Reads the upload, writes the original and the two sizes; no table, no hash key.
    "photo_resizer": {
        "tables": {},
        "photos": {"s3:GetObject": [UPLOADS], "s3:PutObject": [ORIGINALS, PUBLIC]},
        "hash_key": False,
    },
    # The public routes' own function (infra/template.json: PublicHandler, not chalice's): the
    # feeds and the page read public actions by status and by reference, and write nothing.
    "public_handler": {
        "tables": {"burgernet-actions": (READ + QUERY, ["status-index", "ref-index"])},
    },
}
# Functions the merge template defines itself; chalice's iam_policy_file is for the others.
TEMPLATE_FUNCTIONS = {"public_handler": "PublicHandler"}
CHALICE_FUNCTIONS = [f for f in FUNCTIONS if f not in TEMPLATE_FUNCTIONS]


def policy(function: str) -> dict[str, Any]:
    """The IAM policy document of one function."""
    spec = FUNCTIONS[function]
    statements: list[dict[str, Any]] = []
    for table, (actions, indexes) in sorted(spec["tables"].items()):
        name = "".join(w.title() for w in table.removeprefix("burgernet-").split("-"))
        statements.append(
            {
                "Sid": f"Table{name}",
                "Effect": "Allow",
                "Action": sorted(set(actions)),
                "Resource": _table_arns(table, sorted(indexes)),
            }
        )
    if "receive" in spec:
        statements.append(
            {
                "Sid": "ReceiveOwnQueue",
                "Effect": "Allow",
                "Action": RECEIVE + HOLD if spec.get("hold") else RECEIVE,
                "Resource": _queue(spec["receive"]),
            }
        )
    if spec.get("send_to"):
        statements.append(
            {
                "Sid": "SendWork",
                "Effect": "Allow",
                "Action": SEND,
                "Resource": [_queue(q) for q in spec["send_to"]],
            }
        )
    if spec.get("count"):
        statements.append(
            {
                "Sid": "CountDeadLetters",
                "Effect": "Allow",
                "Action": COUNT,
                "Resource": [_queue(q) for q in spec["count"]],
            }
        )
    if spec.get("sms"):
        statements.append(SMS)
    if spec.get("calls"):
        statements.append(CALLS)
    if spec.get("call_attributes"):
        statements.append(CALL_ATTRIBUTES)
    if spec.get("push"):
        statements.append(
            {"Sid": "AppPush", "Effect": "Allow", "Action": spec["push"], "Resource": PUSH_ARNS}
        )
    if spec.get("social"):
        statements.extend(SOCIAL)
    for action, prefixes in spec.get("photos", {}).items():
        statements.append(
            {
                "Sid": "Photos" + action.removeprefix("s3:"),
                "Effect": "Allow",
                "Action": action,
                "Resource": _objects(prefixes),
            }
        )
    if spec.get("list_photos"):
        statements.append(_listing(spec["list_photos"]))
    if spec.get("invalidate_photos"):
        statements.append(INVALIDATE_PHOTOS)
    if "invoke" in spec:
        statements.append(
            {
                "Sid": "Invoke" + spec["invoke"],
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": _sub(
                    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}"
                    f":function:${{{spec['invoke']}}}"
                ),
            }
        )
    hash_key = HASH_KEY if spec.get("hash_key", True) else []
    return {"Version": "2012-10-17", "Statement": statements + hash_key + COMMON}


def rendered(function: str) -> str:
    """The file's text, as written."""
    return json.dumps(policy(function), indent=2) + "\n"


# --- Callers: which class of signed caller may call which route ------------------------------
# A same-account caller is let in by an Allow in EITHER its IAM policy OR the resource policy, so
# the resource policy itself must keep each class to its routes (and deny it the others').

TEMPLATE = ROOT / "infra" / "template.json"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"


class Caller:
    """A class of signed caller: its principals' stack parameter, its managed policy, its routes."""

    def __init__(
        self, name: str, parameter: str, policy: str, policy_id: str, routes: list[str]
    ) -> None:
        self.name = name
        self.parameter = parameter  # role ARNs of this class (a CommaDelimitedList parameter)
        self.policy = policy  # the managed policy attached to those roles
        self.policy_id = policy_id  # its logical id in the template
        self.routes = routes  # "METHOD /path", as chalice names them


CALLERS: list[Caller] = [
    Caller(
        "Dispatch",
        "DispatchCallerPrincipals",
        "burgernet-dispatch",
        "DispatchCallerPolicy",
        [
            "GET /actions",
            "POST /actions",
            "GET /actions/{action_id}",
            "POST /actions/{action_id}/close",
            "PUT /actions/{action_id}/photo",
            "GET /actions/{action_id}/sightings",
            "GET /actions/{action_id}/timeline",
            "POST /actions/{action_id}/updates",
            "POST /reach",
        ],
    ),
    Caller(
        "MunicipalityAdmin",
        "MunicipalityAdminPrincipals",
        "burgernet-municipality-admin",
        "MunicipalityAdminPolicy",
        ["GET /municipalities", "POST /municipalities", "GET /municipalities/{code}"],
    ),
]


STAGE = "api"  # .chalice/config.json's api_gateway_stage


def _arn_path(route: str) -> str:
    method, path = route.split(" ", 1)
    return method + "/".join("*" if s.startswith("{") else s for s in path.split("/"))


def _invoke_arns(caller: Caller) -> list[dict[str, str]]:
    """The routes' method ARNs in any API and stage of this account and region."""
    base = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:*/*/"
    return [_sub(base + _arn_path(r)) for r in caller.routes]


def _own_api_arns(caller: Caller) -> list[dict[str, str]]:
    base = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestAPI}/api/"
    return [_sub(base + _arn_path(r)) for r in caller.routes]


def caller_statements() -> list[dict[str, Any]]:
    """The resource policy's statements for the signed routes, one Allow and two Denies a class."""
    statements: list[dict[str, Any]] = []
    for caller in CALLERS:
        statements.append(
            {
                "Sid": f"{caller.name}Callers",
                "Effect": "Allow",
                "Principal": {"AWS": {"Ref": caller.parameter}},
                "Action": "execute-api:Invoke",
                "Resource": _invoke_arns(caller),
            }
        )
    for caller in CALLERS:
        # Without this any principal of the account holding execute-api:Invoke gets in.
        statements.append(
            {
                "Sid": f"NobodyElseOn{caller.name}Routes",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": _invoke_arns(caller),
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": {"Ref": caller.parameter}}},
            }
        )
        for other in CALLERS:
            if other is not caller:
                # Explicit, so a role listed in both parameters still gets neither class's routes.
                statements.append(
                    {
                        "Sid": f"{other.name}CallersNotOn{caller.name}Routes",
                        "Effect": "Deny",
                        "Principal": {"AWS": {"Ref": other.parameter}},
                        "Action": "execute-api:Invoke",
                        "Resource": _invoke_arns(caller),
                    }
                )
    return statements


def _short_arn(route: str) -> str:
    """A route as the resource policy names it inside its own API: execute-api:/api/GET/a/*."""
    return f"execute-api:/{STAGE}/{_arn_path(route)}"


def _routes_by(kind: str | None) -> list[str]:
    """Every "METHOD /path" whose authorizer is of this class (None: no authorizer), sorted."""
    return sorted(
        f"{method} {path}"
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if (type(entry.authorizer).__name__ if entry.authorizer else None) == kind
    )


def people_routes() -> list[str]:
    """The control room's routes: a Cognito ID token, not a SigV4 signature, lets people in."""
    return _routes_by("CognitoUserPoolAuthorizer")


def open_statements() -> list[dict[str, Any]]:
    """The resource policy's Allows for callers without IAM: the open routes, and the people's
    routes, where the Cognito authorizer (not IAM) decides who gets in."""
    return [
        {
            "Sid": "Public",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": sorted(_short_arn(r) for r in _routes_by(None)),
        },
        {
            "Sid": "SignedInPeople",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": sorted(_short_arn(r) for r in people_routes()),
        },
    ]


def caller_policy(caller: Caller) -> dict[str, Any]:
    """The managed policy a caller's role gets: Invoke on its routes of this stack's API."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": _own_api_arns(caller)}
        ],
    }


def template_rendered() -> str:
    """infra/template.json with its caller statements and caller policies from CALLERS."""
    template = json.loads(TEMPLATE.read_text())
    policy = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-policy"
    ]
    generated = open_statements() + caller_statements()
    # The rest (anything added by hand) is kept as it stands.
    ours = {s["Sid"] for s in generated}
    kept = [s for s in policy["Statement"] if s.get("Sid") not in ours]
    policy["Statement"] = kept + generated
    for caller in CALLERS:
        props = template["Resources"][caller.policy_id]["Properties"]
        props["PolicyDocument"] = caller_policy(caller)
    _render_public_side(template)
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


# --- The public side: its own function, behind CloudFront, throttled at the stage -------------
# Chalice serves every route from one function (APIHandler). The merge template adds PublicHandler,
# the same code and handler, and points the public routes' integrations at it, so a flood of
# anonymous reads runs out of PublicHandler's reserved concurrency, never dispatch's or the
# senders'. What it needs to match chalice's output (routes, environment, policy) is written here.

PUBLIC_PREFIXES = ("/public/", "/a/")  # CloudFront's behaviours: /public/* and /a/*
PUBLIC_FUNCTION = TEMPLATE_FUNCTIONS["public_handler"]
# Per public method, at the origin: what CloudFront's misses and revalidations need is a few a
# second; a caller that skips the CDN (the execute-api URL is public) gets 429 beyond this.
PUBLIC_RATE_PER_S = 50
PUBLIC_BURST = 100
# Every other method: dispatch, signup and the app are a few requests a second; this only keeps
# one stage from taking the account's 10,000 a second that every API in the region shares.
STAGE_RATE_PER_S = 500
STAGE_BURST = 1000


def public_routes() -> list[str]:
    """Every "METHOD /path" PublicHandler serves: the routes under PUBLIC_PREFIXES."""
    return sorted(
        f"{method} {path}"
        for path, methods in app.routes.items()
        if path.startswith(PUBLIC_PREFIXES)
        for method in methods
    )


def _stage_path(path: str) -> str:
    """A resource path as MethodSettings name it: /a/{ref} is /~1a~1{ref}."""
    return "/" + path.replace("/", "~1")


def method_settings() -> list[dict[str, Any]]:
    """The stage's throttling: one default, then a stricter limit on each public method."""
    settings: list[dict[str, Any]] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": STAGE_RATE_PER_S,
            "ThrottlingBurstLimit": STAGE_BURST,
        }
    ]
    for route in public_routes():
        method, path = route.split(" ", 1)
        settings.append(
            {
                "ResourcePath": _stage_path(path),
                "HttpMethod": method,
                "ThrottlingRateLimit": PUBLIC_RATE_PER_S,
                "ThrottlingBurstLimit": PUBLIC_BURST,
            }
        )
    return settings


def api_environment(template: dict[str, Any]) -> dict[str, Any]:
    """The environment chalice gives APIHandler in prod: config.json's, then the template's."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env: dict[str, Any] = dict(config["environment_variables"])
    env.update(config["stages"]["prod"].get("environment_variables", {}))
    handler = template["Resources"].get("APIHandler", {}).get("Properties", {})
    env.update(handler.get("Environment", {}).get("Variables", {}))
    return env


def _render_public_side(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    if PUBLIC_FUNCTION not in resources:
        return
    function = resources[PUBLIC_FUNCTION]["Properties"]
    # The same settings as the routes it takes over from APIHandler, so it reads the same tables.
    function["Environment"] = {"Variables": api_environment(template)}
    resources[f"{PUBLIC_FUNCTION}Role"]["Properties"]["Policies"] = [
        {"PolicyName": f"{PUBLIC_FUNCTION}RolePolicy", "PolicyDocument": policy("public_handler")}
    ]
    api = resources["RestAPI"]["Properties"]
    uri = _sub(
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        f"${{{PUBLIC_FUNCTION}.Arn}}/invocations"
    )
    # Deep-merged into chalice's own paths: only the integration's target changes.
    paths = api["DefinitionBody"].setdefault("paths", {})
    for path in [p for p in paths if p.startswith(PUBLIC_PREFIXES)]:
        del paths[path]  # a public route since removed
    for route in public_routes():
        method, path = route.split(" ", 1)
        paths.setdefault(path, {})[method.lower()] = {
            "x-amazon-apigateway-integration": {"uri": uri}
        }
    api["MethodSettings"] = method_settings()


TABLE_START = "<!-- callers: written by python -m tools.policies -->"
TABLE_END = "<!-- /callers -->"


def docs_rendered() -> str:
    """docs/deploy.md with its table of signed routes, by caller class, from CALLERS."""
    rows = ["| route | caller class | stack parameter | managed policy |", "|---|---|---|---|"]
    for caller in CALLERS:
        for route in caller.routes:
            rows.append(f"| `{route}` | {caller.name} | `{caller.parameter}` | `{caller.policy}` |")
    text = DEPLOY_DOC.read_text()
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return head + TABLE_START + "\n" + "\n".join(rows) + "\n" + TABLE_END + tail


WAF_TEMPLATE = ROOT / "infra" / "public-waf.json"


def waf_template_rendered() -> str:
    """infra/public-waf.json: the template's PublicWebAcl alone, for a stack in us-east-1.

    A CloudFront web ACL can only be made in us-east-1; a Burgernet stack elsewhere deploys this
    there and passes its ARN as PublicWebAclArn, so both places hold the same rules.
    """
    acl = dict(json.loads(TEMPLATE.read_text())["Resources"]["PublicWebAcl"])
    acl.pop("Condition", None)  # made whenever this template is deployed
    waf = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Burgernet public distribution's web ACL, in us-east-1 (written by "
        "python -m tools.policies from infra/template.json's PublicWebAcl)",
        "Resources": {"PublicWebAcl": acl},
        "Outputs": {
            "PublicWebAclArn": {
                "Description": "Pass as PublicWebAclArn to the Burgernet stack",
                "Value": {"Fn::GetAtt": ["PublicWebAcl", "Arn"]},
            }
        },
    }
    return json.dumps(waf, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write every function's policy file, the template's caller policies and the docs table."""
    POLICY_DIR.mkdir(exist_ok=True)
    for function in CHALICE_FUNCTIONS:
        (POLICY_DIR / f"{function}.json").write_text(rendered(function))
    TEMPLATE.write_text(template_rendered())
    WAF_TEMPLATE.write_text(waf_template_rendered())
    DEPLOY_DOC.write_text(docs_rendered())


if __name__ == "__main__":
    main()
