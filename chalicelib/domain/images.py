"""Decoding, cleaning and resizing a photo with Pillow.

Only the photo resizer imports this module: its Lambda gets Pillow from a layer
(`make pillow-layer`), so Pillow never grows the package every other function ships.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.photos import LARGE_PX, MAX_PIXELS, SMALL_PX

SIZES_QUALITY = 85  # the public sizes: no visible loss at 1280 and 320 px
ORIGINAL_QUALITY = 95  # the private original keeps nearly all the detail it came with


@dataclass(frozen=True)
class Renditions:
    """One photo as JPEGs without metadata: the whole image, and its two sizes."""

    original: bytes
    large: bytes
    small: bytes


def render(data: bytes) -> Renditions:
    """Decode a JPEG or PNG, turn it upright, drop its metadata and make the two sizes.

    InvalidInput if it does not decode, or claims more pixels than MAX_PIXELS.
    """
    image = ImageOps.exif_transpose(_decode(data))  # the camera's "rotate me", before EXIF goes
    clean = _rgb(image)
    # Nothing the file carried goes on: EXIF (GPS, camera, time), XMP, comments, ICC profile.
    clean.info.clear()
    return Renditions(
        original=_jpeg(clean, ORIGINAL_QUALITY),
        large=_jpeg(_fit(clean, LARGE_PX), SIZES_QUALITY),
        small=_jpeg(_fit(clean, SMALL_PX), SIZES_QUALITY),
    )


def _decode(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=("JPEG", "PNG"))
        if image.width * image.height > MAX_PIXELS:
            raise _too_many_pixels(image.width, image.height)
        image.load()  # every pixel: a truncated or corrupt file fails here, not later
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput(
            "not_an_image", "The photo could not be read as a JPEG or PNG image."
        ) from None
    return image


def _too_many_pixels(width: int = 0, height: int = 0) -> InvalidInput:
    size = f" ({width} x {height})" if width else ""
    return InvalidInput(
        "photo_too_many_pixels",
        f"The photo has too many pixels{size}; at most {MAX_PIXELS:,} are accepted.",
        limit=MAX_PIXELS,
    )


def _rgb(image: Image.Image) -> Image.Image:
    """The image in RGB; transparency (a PNG's) becomes white, as on the page behind it."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, "white")
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _fit(image: Image.Image, longest: int) -> Image.Image:
    """A copy whose longest side is at most `longest` px, aspect ratio kept, never enlarged."""
    fitted = image.copy()
    fitted.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return fitted


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()
