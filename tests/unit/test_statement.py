"""The accessibility statement the site serves is the one in docs/, rendered by tools.statement."""

from __future__ import annotations

from tools.statement import PAGE, SOURCE, render


def test_the_served_statement_is_rendered_from_the_one_in_docs() -> None:
    served = PAGE.read_text(encoding="utf-8")

    assert served == render(SOURCE.read_text(encoding="utf-8")), (
        "chalicelib/static/toegankelijkheid.html is stale: run `python -m tools.statement`"
    )


def test_its_english_summary_says_it_is_english() -> None:
    page = render(SOURCE.read_text(encoding="utf-8"))

    assert '<div id="english" lang="en">\n<h2>English summary</h2>' in page
