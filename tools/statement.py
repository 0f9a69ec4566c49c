"""The accessibility statement as the site serves it, from its one source in docs/.

    python -m tools.statement     # rewrite chalicelib/static/toegankelijkheid.html

The law wants the statement on the site itself, linked from its pages (the signup page's and the
public page's footers link to GET /toegankelijkheid). The Lambda has no Markdown renderer, so the
page is rendered here and committed; tests/unit/test_statement.py fails while it is stale.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "docs" / "toegankelijkheidsverklaring.md"
PAGE = ROOT / "chalicelib" / "static" / "toegankelijkheid.html"
TITLE = "Toegankelijkheidsverklaring Burgernet"

# The same frame as the signup page: its header, its stylesheet (relative, so it works behind an
# API Gateway stage prefix too) and a Content-Security-Policy that allows nothing inline.
SHELL = """<!doctype html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="signup/assets/signup.css">
</head>
<body>
<!-- Written by `python -m tools.statement` from docs/toegankelijkheidsverklaring.md: edit that. -->
<a class="skip-link" href="#main">Direct naar de inhoud <span lang="en">/ Skip to content</span></a>
<header class="site-header">
  <div class="site-header__inner">
    <p class="brand">Burgernet</p>
    <a class="link-button" href="#english" lang="en">English summary</a>
  </div>
</header>

<main id="main" tabindex="-1" class="statement">
{body}</main>
</body>
</html>
"""


def render(markdown: str) -> str:
    """The page for this Markdown: CommonMark with tables, its raw HTML (the English summary's
    `lang`) kept."""
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    return SHELL.format(title=escape(TITLE), body=body)


def main() -> None:
    """Rewrite the served page from the statement."""
    PAGE.write_text(render(SOURCE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
