"""A `/moto-api/data.json` that answers while the local system is busy, for the local runner.

Why: in moto 5.2.5 the dashboard checks that each attribute of each model serializes, keeps the
live value, and serializes everything again at the end. A value that changes in between breaks
the second pass: a table whose `items` were `{}` when checked and hold an Item by the end turns
the whole answer into a 500. The runner sends from many threads while `make sms` and the
end-to-end tests read this page, so the first poll after an action starts could fail (a CI run
did, and its still-sending action then spilled into the next test).

`install()` serializes each attribute once and keeps that text: the answer is a snapshot, every
value as it was when read. An attribute that fails to read or serialize is left out, as moto
leaves out the ones it cannot serialize.

Production code never sees this: chalicelib/ knows nothing of moto.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.core import model_instances
from moto.moto_api._internal import urls

# moto's server builds its routes from this table when the first /moto-api/ request arrives.
PATH = "{0}/moto-api/data.json"
_original: list[Callable[..., Any]] = []


def snapshot() -> str:
    """Every tracked model instance's serializable public attributes, each read once, as JSON."""
    services = []
    tracked = model_instances.model_data
    for service in sorted(tracked):
        models = tracked[service]
        kinds = []
        for name in sorted(models):
            instances = []
            for instance in list(models[name].instances_tracked):  # type: ignore[attr-defined]
                fields = [f for attr in dir(instance) if (f := _field(instance, attr))]
                instances.append("{" + ", ".join(fields) + "}")
            kinds.append(f"{json.dumps(name)}: [{', '.join(instances)}]")
        services.append(f"{json.dumps(service)}: {{{', '.join(kinds)}}}")
    return "{" + ", ".join(services) + "}"


def _field(instance: Any, attr: str) -> str | None:
    """`"attr": value` as JSON, or None for a private attribute or one that will not serialize."""
    if attr.startswith("_"):
        return None
    try:
        return f"{json.dumps(attr)}: {json.dumps(getattr(instance, attr))}"
    except Exception:  # moto skips what will not serialize; a value in flux may raise anything
        return None


def model_data(*_: Any) -> tuple[int, dict[str, str], str]:
    """The data.json route: moto's answer, made of one snapshot."""
    return 200, {"Content-Type": "application/javascript"}, snapshot()


def install() -> None:
    """Serve data.json as a snapshot, from servers started after this (idempotent)."""
    if _original:
        return
    _original.append(urls.url_paths[PATH])
    urls.url_paths[PATH] = model_data  # type: ignore[assignment]


def uninstall() -> None:
    """Give moto its own dashboard back."""
    if _original:
        urls.url_paths[PATH] = _original.pop()


def installed() -> bool:
    """Whether data.json is served as a snapshot now."""
    return bool(_original)
