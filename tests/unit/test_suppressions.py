"""Every finding bandit is told to overlook says which one and why, on its own line."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `# nosec B310 # why`: bandit reads test ids up to the second #, so the reason is never
# mistaken for one; a bare `# nosec` would silence every test on the line.
SUPPRESSION = re.compile(r"#\s*nosec\s+B\d{3}(\s*,\s*B\d{3})*\s+#\s*\S.{5,}")
NOSEC = re.compile(r"#\s*nosec\b")


def _comments(source: str) -> list[tuple[int, str]]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(t.start[0], t.string) for t in tokens if t.type == tokenize.COMMENT]


def unexplained(source: str) -> list[int]:
    """The lines whose nosec names no bandit test or gives no reason."""
    found = []
    for line, text in _comments(source):
        nosec = NOSEC.search(text)
        if nosec and not SUPPRESSION.fullmatch(text[nosec.start() :]):
            found.append(line)
    return found


def test_every_nosec_in_chalicelib_names_its_test_and_says_why() -> None:
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "chalicelib").rglob("*.py"))
        if (lines := unexplained(path.read_text()))
    }
    assert found == {}, "write `# nosec B310 # why` (pyproject.toml, [tool.bandit])"


def test_a_bare_or_reasonless_nosec_is_caught() -> None:
    assert unexplained("x = urlopen(url)  # nosec\n") == [1]
    assert unexplained("x = urlopen(url)  # nosec B310\n") == [1]
    assert unexplained("x = urlopen(url)  # nosec B310: https only\n") == [1]
    assert unexplained("x = urlopen(url)  # nosec B310 # https constants only\n") == []
