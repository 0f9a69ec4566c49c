"""Screenshots that show something: a blank or one-colour capture is a failure, not a picture."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageStat

# A page of text, a map and a table spreads its pixels widely; a blank page has none, and a
# page drawn in one flat colour (a failed stylesheet, an empty map) very little.
MIN_STDDEV = 12.0
MIN_COLOURS = 8


def assert_not_blank(path: Path) -> None:
    """Fail unless the screenshot at `path` varies: several colours, spread over the image."""
    with Image.open(path) as image:
        grey = image.convert("L")
        spread = ImageStat.Stat(grey).stddev[0]
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    many = colours is None or len(colours) >= MIN_COLOURS  # None: more than 65,536 colours
    assert spread >= MIN_STDDEV and many, (
        f"{path.name} looks blank: grey standard deviation {spread:.1f} (at least {MIN_STDDEV}), "
        f"{'many' if colours is None else len(colours)} colours (at least {MIN_COLOURS})"
    )
