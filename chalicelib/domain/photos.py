"""An action's photo: what an upload may be, and where its files live. No Pillow here (the API
function does not ship it); decoding and resizing are in domain/images.py, in the resizer only."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.domain.errors import Conflict, InvalidInput, PayloadTooLarge

# Lambda takes at most 6 MiB (6,291,456 bytes) of event, and API Gateway hands it a binary body
# base64-encoded (4 bytes for every 3) with the request's headers twice (headers and
# multiValueHeaders, up to 10 KB each): about 4.7 MB of image fits. Anything larger would get
# API Gateway's 502 instead of our 413, so the limit stays below that with room to spare.
MAX_PHOTO_BYTES = 4_500_000
# What the route takes, by what its first bytes must be.
MEDIA_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
LARGE_PX, SMALL_PX = 1280, 320  # the longest side of each size; never enlarged
# A 4.5 MB PNG of one colour can claim 20,000 x 20,000 pixels (1.2 GB decoded): refused
# before decoding. 50 million is well above any camera (a 48 MP phone photo is 8000 x 6000).
MAX_PIXELS = 50_000_000
UPLOADS, ORIGINALS, PUBLIC = "uploads/", "originals/", "public/"  # key prefixes in the bucket
_PHOTO_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex: a key never holds anything else


@dataclass(frozen=True)
class PhotoKeys:
    """Where one photo's files are: the upload as received, the original without metadata
    (private), and the two sizes (public, through the photos URL). A new photo of an action
    gets a new id, so every key is written once and its URL never changes. The public keys
    hold only the photo's own random id: a URL anyone can see never shows the action's id."""

    action_id: str
    photo_id: str

    @property
    def upload(self) -> str:
        return f"{UPLOADS}{self.action_id}/{self.photo_id}"

    @property
    def original(self) -> str:
        return f"{ORIGINALS}{self.action_id}/{self.photo_id}.jpg"

    @property
    def large(self) -> str:
        return f"{PUBLIC}{self.photo_id}/{LARGE_PX}.jpg"

    @property
    def small(self) -> str:
        return f"{PUBLIC}{self.photo_id}/{SMALL_PX}.jpg"

    @property
    def kept(self) -> list[str]:
        """Every file an attached photo leaves in the bucket: the original and each size."""
        return [self.original, self.large, self.small]

    @property
    def cdn_paths(self) -> list[str]:
        """The photo's paths at the CDN (its origin is the bucket's public/ prefix): one
        wildcard, so every size, and any size added later, is invalidated at once."""
        return [f"/{self.photo_id}/*"]


def photo_id_of(url: str) -> str | None:
    """The photo id in one of its public URLs ({base}/{photo_id}/{px}.jpg), or None if the URL
    is not one of ours (a stored URL is read back from the table, never trusted blindly)."""
    parts = url.rsplit("/", 2)
    if len(parts) != 3 or parts[2] not in (f"{LARGE_PX}.jpg", f"{SMALL_PX}.jpg"):
        return None
    return parts[1] if _PHOTO_ID.fullmatch(parts[1]) else None


def photo_ids_in(original_keys: list[str]) -> list[str]:
    """The photo ids of an action's originals (keys under originals/{action_id}/)."""
    ids = (key.rsplit("/", 1)[-1].removesuffix(".jpg") for key in original_keys)
    return sorted({i for i in ids if _PHOTO_ID.fullmatch(i)})


def originals_of(action_id: str) -> str:
    """The key prefix of every original an action was ever given (one per photo)."""
    return f"{ORIGINALS}{action_id}/"


def public_url(base_url: str, key: str) -> str:
    """The stable public URL of a key under public/ (the CDN serves that prefix at base_url,
    which settings keep free of a trailing slash)."""
    return f"{base_url}/{key.removeprefix(PUBLIC)}"


def check_upload(body: bytes, media_type: str) -> None:
    """Refuse an upload that is empty, too large, or does not start as its media type says
    (the route takes only MEDIA_TYPES). The resizer then decodes the whole image."""
    if not body:
        raise InvalidInput("empty_photo", "The body is empty; send the photo as JPEG or PNG.")
    if len(body) > MAX_PHOTO_BYTES:
        raise PayloadTooLarge(
            "photo_too_large",
            f"The photo is {len(body):,} bytes; at most {MAX_PHOTO_BYTES:,} are accepted. "
            f"It is shown at {LARGE_PX} px at most, so a smaller export loses nothing.",
            limit=MAX_PHOTO_BYTES,
        )
    if not body.startswith(MEDIA_TYPES[media_type]):
        raise InvalidInput(
            "not_an_image", f"The body is not a {media_type} image; send a JPEG or PNG file."
        )


def photo_too_late(action_id: str) -> Conflict:
    """The refusal of a photo for an action that is over."""
    return Conflict(
        "action_closed", f"Action {action_id!r} is closed; a photo can be added while it is active."
    )
