"""Photos as a control room sends them: made with Pillow, with the metadata a phone adds."""

from __future__ import annotations

import io

from PIL import Image

# Where the photo was taken, and who took it: what must never reach the public.
GPS = {1: "N", 2: (52.0, 5.0, 26.52), 3: "E", 4: (5.0, 7.0, 17.04)}  # the Domplein
AUTHOR = "Agent J. de Vries"
COMMENT = b"Getuige: Domplein 7, 06-12345678"
ORIENTATION_ROTATE_90_CW = 6  # EXIF: "turn me 90 degrees clockwise to show me upright"


def jpeg_with_gps(width: int = 4000, height: int = 3000, orientation: int | None = None) -> bytes:
    """A camera JPEG: EXIF with GPS position, author and camera, and a comment."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((20, 20, 200), (0, 0, width // 4, height // 4))  # a blue top-left corner
    exif = Image.Exif()
    exif[0x013B] = AUTHOR  # Artist
    exif[0x010F] = "Phone maker"  # Make
    if orientation:
        exif[0x0112] = orientation
    exif.get_ifd(0x8825).update(GPS)  # the GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=COMMENT, quality=90)
    return out.getvalue()


def png(width: int = 600, height: int = 800, mode: str = "RGBA") -> bytes:
    """A PNG, transparent by default, with a text chunk naming who made it."""
    from PIL import PngImagePlugin

    image = Image.new(mode, (width, height), (0, 0, 0, 0) if mode == "RGBA" else (0, 128, 0))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", AUTHOR)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    """A JPEG or PNG, opened with Pillow for the test's assertions."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_no_metadata(data: bytes) -> None:
    """No EXIF (so no GPS), no comment, no XMP, no ICC profile, no text chunk: only pixels."""
    image = opened(data)
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(0x8825) == {}
    assert set(image.info) <= {
        "jfif",
        "jfif_version",
        "jfif_unit",
        "jfif_density",
        "progressive",
        "progression",
        "dpi",
    }, image.info
    for trace in (b"Exif", AUTHOR.encode(), COMMENT, b"Phone maker", b"http://ns.adobe.com/xap"):
        assert trace not in data, trace


def photo_distribution(bucket: str, region: str) -> str:
    """A CloudFront distribution serving the bucket's public/ prefix (as infra's
    PhotosDistribution), in the emulator; its id."""
    import boto3

    cloudfront = boto3.client("cloudfront", region_name=region)
    origin = {
        "Id": "photos",
        "DomainName": f"{bucket}.s3.{region}.amazonaws.com",
        "OriginPath": "/public",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    config = {
        "CallerReference": "photos",
        "Comment": "Burgernet action photos",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {"TargetOriginId": "photos", "ViewerProtocolPolicy": "https-only"},
    }
    return str(cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"])


def invalidated_paths(distribution_id: str, region: str) -> list[str]:
    """Every path the distribution was asked to invalidate, oldest invalidation first."""
    import boto3

    cloudfront = boto3.client("cloudfront", region_name=region)
    listing = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    items = sorted(listing.get("Items", []), key=lambda item: item["CreateTime"])
    return [
        path
        for item in items
        for path in cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])[
            "Invalidation"
        ]["InvalidationBatch"]["Paths"]["Items"]
    ]
