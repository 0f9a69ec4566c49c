"""Patches of moto or botocore (tools/moto_*.py, bench/) that a process installs once and a test
or a bench run scopes to a block."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def scoped(
    installed: Callable[[], bool], install: Callable[[], None], uninstall: Callable[[], None]
) -> Iterator[None]:
    """`install` for the duration of a block; `uninstall` after it, unless it was there before."""
    was = installed()
    install()
    try:
        yield
    finally:
        if not was:
            uninstall()
