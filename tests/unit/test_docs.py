"""The docs agree with the configuration and with each other, and their links lead somewhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
CHALICE_DEFAULT_MB = 128  # chalice's lambda_memory_size when the config names none

# "`targeting_worker` has 1,024 MB" in prose, "| `targeting_worker` | … | 1,024 MB |" in a table.
MEMORY = re.compile(
    r"`(?P<function>[a-z_]+)` has (?P<mb>\d{1,3}(?:,\d{3})*) MB"
    r"|^\| `(?P<row>[a-z_]+)` \|[^\n]*?\| (?P<row_mb>\d{1,3}(?:,\d{3})*) MB \|",
    re.MULTILINE,
)
# The one place the deployment zip's size is quoted.
ZIP = re.compile(r"`deployment\.zip` is (?P<bytes>\d{1,3}(?:,\d{3})+) bytes \((?P<mb>\d+\.\d) MB\)")
BYTES = re.compile(r"(\d{1,3}(?:,\d{3}){2,}) bytes")
MEGABYTES = re.compile(r"(\d+(?:\.\d+)?) MB")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _sentences(text: str) -> list[str]:
    """Prose split at a full stop followed by a space or a line end (decimals stay whole)."""
    return re.split(r"\.(?:\s|$)", text)


def _configured_memory() -> dict[str, int]:
    """Each prod function's memory in MB, looked up as chalice does: function, stage, top."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config["stages"]["prod"]
    default = stage.get("lambda_memory_size", config.get("lambda_memory_size", CHALICE_DEFAULT_MB))
    return {
        name: settings.get("lambda_memory_size", default)
        for name, settings in stage["lambda_functions"].items()
    }


def _memory_claims(page: Path) -> list[tuple[str, int]]:
    claims = []
    for match in MEMORY.finditer(page.read_text()):
        function = match["function"] or match["row"]
        claims.append((function, _number(match["mb"] or match["row_mb"])))
    return claims


def test_every_memory_the_docs_give_a_function_is_its_configured_memory() -> None:
    configured = _configured_memory()
    claims = [(page.name, f, mb) for page in PAGES for f, mb in _memory_claims(page)]
    wrong = [(page, f, mb, configured[f]) for page, f, mb in claims if mb != configured.get(f, mb)]
    assert not wrong, f"docs disagree with .chalice/config.json: {wrong}"
    unknown = sorted({f for _, f, _ in claims} - configured.keys())
    assert not unknown, f"docs give memory to functions the prod stage does not have: {unknown}"


def test_each_function_with_its_own_memory_has_it_in_the_docs() -> None:
    configured = _configured_memory()
    named = {f for page in PAGES for f, _ in _memory_claims(page)}
    assert "targeting_worker" in {f for f, _ in _memory_claims(ROOT / "docs" / "benchmarks.md")}
    assert configured.keys() <= named, sorted(configured.keys() - named)


def test_the_zip_size_is_quoted_once_and_nothing_contradicts_it() -> None:
    quotes = [(page.name, m) for page in PAGES for m in ZIP.finditer(page.read_text())]
    assert len(quotes) == 1, f"the zip size is quoted {len(quotes)} times: {quotes}"
    _, quote = quotes[0]
    size = _number(quote["bytes"])
    assert float(quote["mb"]) == round(size / 1_000_000, 1)
    for page in PAGES:
        text = page.read_text()
        # A count of ten million bytes or more can only be the zip.
        others = [b for b in BYTES.findall(text) if _number(b) >= 10_000_000 and _number(b) != size]
        assert not others, f"{page.name} gives another zip size: {others} bytes"
        for sentence in _sentences(text):
            if "zip" not in sentence.lower():
                continue
            # The zip's parts are small; a figure of 10 MB or more beside "zip" is its size.
            sizes = [float(mb) for mb in MEGABYTES.findall(sentence) if float(mb) >= 10]
            assert all(mb == float(quote["mb"]) for mb in sizes), (page.name, sentence)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces become hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_points_to_a_file_that_exists(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name} links to a missing heading: {target}"


def test_the_readme_is_a_front_door_with_the_two_commands() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 220
    assert "make run" in text
    assert "make test" in text


def test_every_runtime_dependency_is_in_the_dependency_list() -> None:
    listed = (ROOT / "docs" / "dependencies.md").read_text().lower()
    required = (ROOT / "requirements.in").read_text().splitlines()
    names = [re.split(r"[=<>~!\[ ;]", line)[0] for line in required if line and line[0] != "#"]
    missing = [name for name in names if name.lower() not in listed]
    assert not missing, f"docs/dependencies.md leaves out {missing}"
