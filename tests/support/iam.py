"""AWS's policy evaluation for an API Gateway call, as documented for APIs with a resource policy.

A caller in the API's own account: an explicit Deny in either the caller's IAM policy or the
resource policy refuses; otherwise an Allow in either admits; otherwise refused. A caller in
another account needs an Allow in both, and a Deny in either still refuses.
Only what our templates use is evaluated: Allow/Deny, Principal "*" or {"AWS": ...}, Action,
Resource with * and ? wildcards, and StringNotEquals/StringEquals on aws:PrincipalArn.
"""

from __future__ import annotations

import re
from typing import Any

REGION = "eu-west-1"
ACCOUNT = "123456789012"
API_ID = "a1b2c3d4e5"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "RestAPI": API_ID,
}


def resolve(value: Any, parameters: dict[str, list[str]]) -> Any:
    """A template value with Ref and Fn::Sub resolved against the parameters and pseudo names."""
    if isinstance(value, list):
        return [resolve(v, parameters) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return parameters[value["Ref"]]
        if set(value) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO[m.group(1)], value["Fn::Sub"])
        return {k: resolve(v, parameters) for k, v in value.items()}
    return value


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: * any run of characters (slashes too), ? any one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


def _resource(pattern: str) -> str:
    # API Gateway expands "execute-api:/stage/METHOD/path" to this API's full ARN.
    if pattern.startswith("execute-api:/"):
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/" + pattern.removeprefix(
            "execute-api:/"
        )
    return pattern


def _applies(
    statement: dict[str, Any], principal: str, request: str, resource_policy: bool
) -> bool:
    if "execute-api:Invoke" not in _listed(statement["Action"]) and "*" not in _listed(
        statement["Action"]
    ):
        return False
    if resource_policy:
        who = statement["Principal"]
        if who != "*" and principal not in _listed(who["AWS"]):
            return False
    if not any(arn_matches(_resource(r), request) for r in _listed(statement["Resource"])):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, values in keys.items():
            assert key == "aws:PrincipalArn" and operator in ("StringEquals", "StringNotEquals")
            inside = principal in _listed(values)
            if inside != (operator == "StringEquals"):
                return False
    return True


def allowed(
    principal: str,
    request: str,
    identity_policies: list[dict[str, Any]],
    resource_policy: dict[str, Any],
) -> bool:
    """Whether the role ARN `principal` may invoke the method ARN `request`."""
    on_resource = [
        s["Effect"]
        for s in resource_policy["Statement"]
        if _applies(s, principal, request, resource_policy=True)
    ]
    on_identity = [
        s["Effect"]
        for policy in identity_policies
        for s in policy["Statement"]
        if _applies(s, principal, request, resource_policy=False)
    ]
    if "Deny" in on_resource + on_identity:
        return False
    if principal.split(":")[4] == ACCOUNT:
        return "Allow" in on_resource + on_identity
    return "Allow" in on_resource and "Allow" in on_identity
