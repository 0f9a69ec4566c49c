"""The deployment's pseudonymiser, bound once per cold start (like the models' table names)."""

from __future__ import annotations

from chalicelib.domain.pseudonyms import Pseudonymiser

_bound: list[Pseudonymiser] = []


def bind(pseudonymiser: Pseudonymiser) -> None:
    """Use this key for every look-up hash the tables hold (runtime wiring calls this)."""
    _bound[:] = [pseudonymiser]


def pseudonym(purpose: str, value: str) -> str:
    """The keyed pseudonym of a phone number or address for one index or counter."""
    if not _bound:
        # Hashing without the key would write look-up keys nobody could find again.
        raise RuntimeError("no hash key bound: call chalicelib.runtime.runtime() first")
    return _bound[0].of(purpose, value)
