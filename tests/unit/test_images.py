"""The resizer's image work: what a phone put in a photo stays out, the sizes come out right."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.domain import images
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.photos import MAX_PIXELS
from tests.support.photos import (
    GPS,
    ORIENTATION_ROTATE_90_CW,
    assert_no_metadata,
    jpeg_with_gps,
    opened,
    png,
)


def test_the_test_photo_does_carry_gps_and_an_author() -> None:
    exif = opened(jpeg_with_gps()).getexif()
    assert exif.get_ifd(0x8825)[2] == GPS[2]  # so "no GPS" below is a finding, not a given
    assert exif[0x013B]


def test_a_camera_jpeg_comes_out_in_two_sizes_and_whole_with_no_gps_or_other_metadata() -> None:
    out = images.render(jpeg_with_gps(4000, 3000))

    assert opened(out.large).size == (1280, 960)
    assert opened(out.small).size == (320, 240)
    assert opened(out.original).size == (4000, 3000)
    for data in (out.original, out.large, out.small):
        assert_no_metadata(data)


def test_portrait_and_small_photos_keep_their_shape_and_are_never_enlarged() -> None:
    portrait = images.render(jpeg_with_gps(1500, 3000))
    small = images.render(jpeg_with_gps(400, 300))

    assert opened(portrait.large).size == (640, 1280)
    assert opened(portrait.small).size == (160, 320)
    assert opened(small.large).size == (400, 300)
    assert opened(small.small).size == (320, 240)


def test_a_photo_the_camera_marked_as_turned_is_shown_upright() -> None:
    # Stored landscape with "rotate 90 clockwise": upright it is portrait, the blue corner at
    # the top right. Stripping EXIF without turning it first would show it on its side.
    out = images.render(jpeg_with_gps(4000, 3000, orientation=ORIENTATION_ROTATE_90_CW))

    large = opened(out.large).convert("RGB")
    assert large.size == (960, 1280)
    red, _, blue = large.getpixel((large.width - 20, 20))  # type: ignore[misc]
    assert blue > 150 and red < 100


def test_a_transparent_png_becomes_a_jpeg_on_white_without_its_text_chunks() -> None:
    out = images.render(png(600, 800))

    large = opened(out.large)
    assert large.size == (600, 800)
    assert large.convert("RGB").getpixel((10, 10)) == (255, 255, 255)
    for data in (out.original, out.large, out.small):
        assert_no_metadata(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff" + b"\x00" * 500,  # starts like a JPEG, is not one
        jpeg_with_gps(800, 600)[:2000],  # cut off in transfer
        b"\x89PNG\r\n\x1a\n" + b"garbage",
        b"GIF89a" + b"\x00" * 100,  # an image, not one we take
    ],
    ids=["jpeg-magic-only", "truncated-jpeg", "png-magic-only", "gif"],
)
def test_a_file_that_does_not_decode_is_refused_as_not_an_image(data: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        images.render(data)
    assert refused.value.code == "not_an_image"


def test_a_small_file_claiming_a_huge_picture_is_refused_before_it_is_decoded() -> None:
    # 8000 x 8000 of one colour: a PNG of a few KB that would need 192 MB decoded.
    out = io.BytesIO()
    Image.new("L", (8000, 8000)).save(out, "PNG")
    assert len(out.getvalue()) < 200_000
    assert MAX_PIXELS < 8000 * 8000

    with pytest.raises(InvalidInput) as refused:
        images.render(out.getvalue())
    assert refused.value.code == "photo_too_many_pixels"
