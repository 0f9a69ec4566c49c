"""The texts of public posts on social networks, in Dutch, within each network's length limit.

A thread per action: the start is a post, each update and the result reply to it. Every post
says what happened and where, who to look out for, the callback line with the reference, and
links to the action's public page, where the whole text is when a post had to be shortened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.domain.messages import headline, outcome_text
from chalicelib.domain.model import Incident, Language, Outcome

MASTODON = "mastodon"
X = "x"
NETWORKS = (MASTODON, X)
LIMITS = {MASTODON: 500, X: 280}  # characters, as each network counts them (weighted_length)
LINK_LENGTH = 23  # both networks count a link as 23 characters, however long it is
KINDS = ("start", "update", "result")  # a post per public state of the action
ELLIPSIS = "…"

# X counts these code points as one character and every other as two (twitter-text's v3
# configuration); an emoji sequence counts as two there, but each of its code points here: never
# less than X counts. Mastodon counts grapheme clusters, never more than code points.
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# A link: both networks count it as 23, however long. A bare domain ("politie.nl") is a link on
# X but not on Mastodon, so it counts as 23 or its own length, whichever is more.
# Punctuation around a link is counted apart from it ("(https://…)." is 23 + 3), as they do.
_LINK = re.compile(r"https?://\S*[^\s.,;:!?()\[\]'\"…]")
_BARE_DOMAIN = re.compile(r"[A-Za-z0-9][\w.-]*\.[A-Za-z]{2,}(/\S*[^\s.,;:!?()\[\]'\"…])?")


@dataclass(frozen=True)
class Post:
    """What one post is about: a public state of an action, and the page that tells all."""

    kind: str  # start | update | result
    incident: Incident
    ref: str
    link: str  # the public page: {PUBLIC_URL}/a/{ref}
    callback_number: str
    description: str | None  # None once redacted
    place: str | None
    exercise: bool = False
    message: str | None = None  # the update's message, or the dispatcher's closing words
    outcome: Outcome | None = None  # for the result


def weighted_length(text: str, network: str) -> int:
    """The length of a text as the network counts it against its limit (or more, never less)."""
    total = 0
    for token in re.split(r"(\s+)", text):
        length = sum(_weight(char, network) for char in token)
        if link := _LINK.search(token):
            length += LINK_LENGTH - sum(_weight(char, network) for char in link.group())
        elif link := _BARE_DOMAIN.search(token):
            length += max(0, LINK_LENGTH - sum(_weight(char, network) for char in link.group()))
        total += length
    return total


def _weight(char: str, network: str) -> int:
    if network != X:
        return 1
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in _X_LIGHT) else 2


def render(post: Post, network: str) -> str:
    """The post's text for a network, free text shortened (with …) to fit the network's limit."""
    free = {
        "message": _clean(post.message),
        "description": _clean(post.description),
        "place": _clean(post.place),
    }
    return _fit(lambda texts: _compose(post, texts), free, LIMITS[network], network)


def _compose(post: Post, texts: dict[str, str]) -> str:
    """The whole text from its fixed wording and the (possibly shortened) free texts."""
    place = f" in {texts['place']}" if texts["place"] else ""
    what = headline(post.incident, Language.NL)
    lines = ["OEFENING, geen echte actie." if post.exercise else ""]
    description = texts["description"]
    if post.kind == "start":
        lines.append(_sentence(f"Burgernet: {what}{place}"))
        if description:
            lines.append(f"De politie zoekt: {_sentence(description)}")
        lines.append(_question(post.incident))
        lines.append(f"Bel direct gratis {post.callback_number} en noem ref. {post.ref}.")
    elif post.kind == "update":
        lines.append(f"Update Burgernet, {what}{place}:")
        if texts["message"]:
            lines.append(_sentence(texts["message"]))
        if description:
            lines.append(f"Signalement: {_sentence(description)}")
        lines.append(f"Gezien? Bel direct gratis {post.callback_number} en noem ref. {post.ref}.")
    else:
        ended = outcome_text(post.outcome or Outcome.EXPIRED, Language.NL)
        lines.append(f"Burgernet, {what}{place}: {ended}")
        if texts["message"]:
            lines.append(_sentence(texts["message"]))
        if description:
            lines.append(f"Gezocht werd: {_sentence(description)}")
        lines.append(f"Informatie? Bel gratis {post.callback_number} en noem ref. {post.ref}.")
        lines.append("Bedankt voor uw hulp!")
    lines.append(post.link)
    return " ".join(line for line in lines if line)


def _question(incident: Incident) -> str:
    if incident is Incident.MISSING_PERSON:
        return "Ziet u deze persoon?"
    return "Ziet u deze persoon of dit voertuig?"


def _clean(text: str | None) -> str:
    """Free text on one line: posts are one paragraph."""
    return " ".join((text or "").split())


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", ELLIPSIS)) else f"{text}."


def _fit(
    compose: Callable[[dict[str, str]], str], free: dict[str, str], limit: int, network: str
) -> str:
    """Shorten the longest free text, never below the next longest, until the whole fits.

    The fixed wording always stays; the free texts end up trimmed to about the same length, so
    a long description does not push out the place or the update's message.
    """
    texts = dict(free)
    while (over := weighted_length(compose(texts), network) - limit) > 0:
        longest, *rest = sorted(texts, key=lambda name: len(texts[name]), reverse=True)
        if not texts[longest]:
            raise ValueError(f"the fixed wording alone is longer than {network}'s {limit}")
        runner_up = max((len(texts[name]) for name in rest), default=0)
        texts[longest] = _shorten(texts[longest], min(over, len(texts[longest]) - runner_up))
    return compose(texts)


def _shorten(text: str, by: int) -> str:
    """The text at least `by` characters shorter, cut at a word where one is near, with …."""
    keep = len(text) - max(by, 1) - len(ELLIPSIS)
    if keep < 1:
        return ""
    cut = text[:keep]
    space = cut.rfind(" ")
    if 0 < space > keep - 15:  # a whole word is worth losing a few more characters
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + ELLIPSIS
