"""Action photos in S3, and the resizer Lambda that makes their sizes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import ServiceUnavailable

# Every key is written once (a new photo gets new keys), but a photo can be taken back: replaced
# (say, of the wrong person) or redacted. CloudFront's copies are then invalidated at once; what
# nobody can invalidate is a browser's or a proxy's copy, kept for max-age. An hour bounds that,
# and costs little: an action runs 60 minutes by default, so a reader re-fetches a photo a few
# times at most, from the edge (one S3 read per edge an hour).
MAX_AGE_S = 3600
CACHE_CONTROL = f"public, max-age={MAX_AGE_S}"


@dataclass(frozen=True)
class S3Photos:
    """The private photos bucket; its public/ prefix is served by the CDN."""

    client: Any
    bucket: str

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store one file."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl=CACHE_CONTROL,
        )

    def get(self, key: str) -> bytes:
        """One file's bytes."""
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def delete(self, keys: Sequence[str]) -> None:
        """Remove files in one request; ones already gone are fine (S3 says so too)."""
        answer = self.client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        # Quiet: S3 lists only the keys it could not delete, in a 200 answer; never ignore them.
        if answer.get("Errors"):
            codes = sorted({str(error.get("Code")) for error in answer["Errors"]})
            raise ServiceUnavailable(
                "photo_delete_failed",
                f"{len(answer['Errors'])} photo files were not deleted ({', '.join(codes)}).",
            )

    def keys(self, prefix: str) -> list[str]:
        """The keys under a prefix (an action has a handful of photos: pages are followed)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


@dataclass(frozen=True)
class CloudFrontCdn:
    """The photos' CloudFront distribution: invalidates the paths of a photo taken back."""

    client: Any
    distribution_id: str

    def invalidate(self, paths: Sequence[str], reference: str) -> None:
        """One invalidation of `paths`; CloudFront answers a repeated `reference` (same paths)
        with the invalidation it made first, so a retried take-back makes no second one."""
        try:
            self.client.create_invalidation(
                DistributionId=self.distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": len(paths), "Items": list(paths)},
                    "CallerReference": reference,
                },
            )
        except (ClientError, BotoCoreError):
            raise ServiceUnavailable(
                "cdn_unavailable", "The CDN did not take the invalidation; it is tried again."
            ) from None


@dataclass(frozen=True)
class LambdaResizer:
    """Asks the resizer function (Pillow in its own layer) and waits for its answer."""

    client: Any
    function_name: str

    def resize(self, action_id: str, photo_id: str) -> dict[str, Any]:
        """{} once the sizes are stored, or the resizer's {"error", "message"} refusal."""
        try:
            response = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps({"action_id": action_id, "photo_id": photo_id}).encode(),
            )
            answer: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
        except (ClientError, BotoCoreError):
            raise _unavailable() from None
        if response.get("FunctionError"):  # it crashed or timed out: nothing to tell dispatch
            raise _unavailable()
        return answer


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "photo_unavailable",
        "The photo could not be processed just now; nothing was stored. Send it again.",
    )
