"""An action's public page: plain HTML from a Jinja2 template that escapes all it is given."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import datetime

import jinja2

from chalicelib.domain.messages import outcome_sentence
from chalicelib.domain.model import Language
from chalicelib.domain.public import PublicAction, Site, title, web_origin
from chalicelib.domain.signup import AMSTERDAM

TEMPLATE = "action.html"
_MISSING = {
    404: (
        "Burgernet: actie niet gevonden",
        "Er is geen openbare actie met deze referentie.",
        "There is no public action with this reference.",
    ),
    410: (
        "Burgernet: actie afgelopen",
        "Deze actie is afgelopen en wordt niet meer getoond. Bedankt voor uw hulp!",
        "This action has ended and is no longer shown. Thank you for your help!",
    ),
}


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("chalicelib", "static"),
        autoescape=True,  # every value, whatever a dispatcher typed, is HTML-escaped
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template(TEMPLATE)


def image_origins(action: PublicAction) -> list[str]:
    """Where the page loads its photo from (for the Content-Security-Policy); none without a
    photo, or when a URL of it is not http(s)."""
    if action.photo is None:
        return []
    found = [web_origin(url) for url in (action.photo.small, action.photo.large)]
    return sorted({origin for origin in found if origin}) if all(found) else []


def render(action: PublicAction, site: Site) -> str:
    """The page: description, place, photo, start, updates, result, and the callback line."""
    if action.photo and not image_origins(action):
        action = replace(action, photo=None)  # not an http(s) URL: never put it in the page
    return _template().render(
        action=action,
        title=title(action, Language.NL),
        title_en=title(action, Language.EN),
        outcome_nl=outcome_sentence(action.outcome, Language.NL) if action.outcome else "",
        outcome_en=outcome_sentence(action.outcome, Language.EN) if action.outcome else "",
        started=_local(action.started),
        started_iso=action.started.isoformat(),
        updates=[
            {
                "at": _local(u.at),
                "iso": u.at.isoformat(),
                "message": u.message,
                "description": u.description,
            }
            for u in action.updates
        ],
        callback=site.callback_number,
        tel="tel:" + "".join(c for c in site.callback_number if c.isdigit() or c == "+"),
    )


def missing(status: int) -> str:
    """The page for an action that is not public (404) or ended more than 48 hours ago (410)."""
    heading, dutch, english = _MISSING[status]
    return _template().render(action=None, title=heading, missing_nl=dutch, missing_en=english)


def _local(moment: datetime) -> str:
    """Dutch local time as people read it: 29-11-2026 16:17."""
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")
