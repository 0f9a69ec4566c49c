"""An action's photo: the upload is stored, cleaned and resized, and its URLs go on the action.

The API function stores the upload and asks the resizer (its own Lambda, with Pillow in a layer)
to make the sizes, and waits for it: dispatch learns at once whether the file was a usable image.
Whatever happens, the upload as sent (EXIF, GPS and all) is deleted again; a refused or failed
photo leaves no file behind, and the action gets its photo only once both sizes exist.

A photo is taken back when it is replaced and when the action is redacted: its files are deleted
and its paths invalidated at the CDN, so its URL stops answering within minutes (CloudFront's
invalidation), and a browser that loaded it keeps it at most max-age (adapters/photos.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.dal import actions as action_store
from chalicelib.dal.records import ActionRecord, PhotoRecord
from chalicelib.domain.errors import InvalidInput, ServiceUnavailable
from chalicelib.domain.model import ActionStatus
from chalicelib.domain.photos import (
    PhotoKeys,
    check_upload,
    originals_of,
    photo_id_of,
    photo_ids_in,
    photo_too_late,
    public_url,
)
from chalicelib.logic.actions import ActionView, action_view
from chalicelib.logic.ports import Cdn, PhotoStore, Resizer
from chalicelib.logs import log_event


@dataclass(frozen=True)
class Photos:
    """What the photo route needs."""

    store: PhotoStore
    resizer: Resizer
    public_url: str  # where the bucket's public/ prefix is served
    cdn: Cdn | None = None  # the CDN serving public_url; None: nothing to invalidate (local)


@dataclass(frozen=True)
class PhotoShelf:
    """Where photos are public, for taking them back: the bucket, and the CDN in front of it."""

    store: PhotoStore
    cdn: Cdn | None  # None where no CDN serves them (local): the files still go


def attach_photo(action_id: str, body: bytes, media_type: str, photos: Photos) -> ActionRecord:
    """Give an active action a photo (replacing the one it had); return the action.

    NotFound, Conflict (closed), InvalidInput or PayloadTooLarge leave nothing stored. The photo
    it replaces is taken back.
    """
    check_upload(body, media_type)
    if action_store.get_action(action_id).status is not ActionStatus.ACTIVE:
        raise photo_too_late(action_id)  # before any work; set_photo checks again at the end
    keys = PhotoKeys(action_id, uuid.uuid4().hex)
    photos.store.put(keys.upload, body, media_type)
    done = False
    try:
        refused = photos.resizer.resize(action_id, keys.photo_id)
        if refused:
            raise InvalidInput(str(refused["error"]), str(refused["message"]))
        action, replaced = action_store.set_photo(
            action_id,
            large=public_url(photos.public_url, keys.large),
            small=public_url(photos.public_url, keys.small),
        )
        done = True
    finally:
        # The upload as sent goes whatever happened; the sizes stay only on the action.
        gone = [keys.upload] if done else [keys.upload, *keys.kept]
        photos.store.delete(gone)
    log_event("photo_attached", action_id=action_id, photo_id=keys.photo_id, size=len(body))
    _take_back_replaced(action_id, replaced, PhotoShelf(photos.store, photos.cdn))
    return action


def _take_back_replaced(action_id: str, replaced: PhotoRecord | None, shelf: PhotoShelf) -> None:
    """Take back the photo a new one replaced. The new one is on the action already, so a
    failure here is logged, not answered: redaction takes back every photo the action had."""
    photo_id = photo_id_of(replaced.large) if replaced else None
    if photo_id is None:
        return
    try:
        take_back(action_id, photo_id, shelf)
    except Exception as exc:  # S3 or the CDN: dispatch's photo is in place all the same
        log_event(
            "photo_take_back_failed",
            action_id=action_id,
            photo_id=photo_id,
            error=type(exc).__name__,
        )


def take_back(action_id: str, photo_id: str, shelf: PhotoShelf) -> None:
    """Delete one photo's files and invalidate its CDN paths; a repeat is harmless."""
    keys = PhotoKeys(action_id, photo_id)
    # The original goes last: it is what take_back_all finds a photo by, so it stays until the
    # sizes are deleted and the CDN has taken the invalidation (a failure is tried again).
    shelf.store.delete([keys.large, keys.small])
    if shelf.cdn is not None:
        shelf.cdn.invalidate(keys.cdn_paths, reference=f"burgernet-photo-{photo_id}")
    shelf.store.delete([keys.original])
    log_event("photo_taken_back", action_id=action_id, photo_id=photo_id)


def take_back_all(action_id: str, current: PhotoRecord | None, shelf: PhotoShelf) -> int:
    """Take back every photo the action ever had (its current one, and any whose take-back on
    replacement failed); how many."""
    photo_ids = set(photo_ids_in(shelf.store.keys(originals_of(action_id))))
    if current is not None and (photo_id := photo_id_of(current.large)):
        photo_ids.add(photo_id)
    for photo_id in sorted(photo_ids):
        take_back(action_id, photo_id, shelf)
    return len(photo_ids)


def put_photo(action_id: str, body: bytes, media_type: str, photos: Photos | None) -> ActionView:
    """The photo route: attach the photo where this deployment keeps photos; return the action
    as dispatch sees it."""
    if photos is None:
        raise ServiceUnavailable(
            "photos_unavailable",
            "This deployment keeps no photos: PHOTOS_BUCKET, PHOTOS_URL and PHOTO_RESIZER are "
            "not all set.",
        )
    return action_view(attach_photo(action_id, body, media_type, photos))


def resize(request: Mapping[str, Any], photos: PhotoStore) -> dict[str, Any]:
    """The resizer's work: the upload without metadata, upright, as the original and two sizes.

    Returns {} once they are stored, or {"error", "message"} for a file that is no usable image.
    """
    # Pillow is in the resizer's layer only: importing it here keeps it out of every other
    # function (they all load app.py, and with it this module).
    from chalicelib.domain import images

    keys = PhotoKeys(str(request["action_id"]), str(request["photo_id"]))
    try:
        renditions = images.render(photos.get(keys.upload))
    except InvalidInput as exc:
        return {"error": exc.code, "message": exc.message}
    photos.put(keys.original, renditions.original, "image/jpeg")
    photos.put(keys.large, renditions.large, "image/jpeg")
    photos.put(keys.small, renditions.small, "image/jpeg")
    return {}


@dataclass(frozen=True)
class InProcessResizer:
    """Resizes in this process: local runs and tests, where Pillow comes from requirements-dev."""

    photos: PhotoStore

    def resize(self, action_id: str, photo_id: str) -> dict[str, Any]:
        """As the resizer Lambda would."""
        return resize({"action_id": action_id, "photo_id": photo_id}, self.photos)
