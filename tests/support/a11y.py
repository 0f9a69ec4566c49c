"""Our pages judged by axe-core, Deque's accessibility engine, inside a real browser page.

axe-core comes bundled in axe-playwright-python (pinned in requirements-dev.txt): nothing is
fetched, so it runs on a closed network like the rest of the tests.
docs/toegankelijkheidsverklaring.md names its version and the rules it runs.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

# The law's standard (WCAG 2.1 AA, EN 301 549) in axe's tags: A and AA of WCAG 2.0 and of 2.1.
# axe's best-practice and AAA rules are left out: they are not what the statement promises.
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def assert_accessible(page: Page, context: str | None = None) -> dict[str, Any]:
    """Run axe-core's WCAG 2.0/2.1 A and AA rules on the page (or the `context` selector) as it is
    now; fail with every violation, else return axe's results (rules passed, its version, …)."""
    options = {"runOnly": {"type": "tag", "values": list(WCAG_21_AA)}}
    results: dict[str, Any] = Axe().run(page, context=context, options=options).response
    violations = results["violations"]
    assert not violations, report(page.url, violations)
    return results


def report(url: str, violations: list[dict[str, Any]]) -> str:
    """axe's violations as a reader fixes them: rule, impact, what it asks, where, and its help."""
    lines = [f"axe-core found {len(violations)} WCAG A/AA violation(s) on {url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    at {target}: {summary}")
    return "\n".join(lines)


def rules_passed(results: dict[str, Any]) -> set[str]:
    """The ids of the rules that ran and found nothing wrong."""
    return {rule["id"] for rule in results["passes"]}
