"""Action photos in S3, and the resizer Lambda that makes their sizes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import ServiceUnavailable

# Every key is written once (a new photo gets new keys), so the CDN and browsers may keep a copy.
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class S3Photos:
    """The private photos bucket; its public/ prefix is served by the CDN."""

    client: Any
    bucket: str

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store one file."""
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, CacheControl=IMMUTABLE
        )

    def get(self, key: str) -> bytes:
        """One file's bytes."""
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def delete(self, keys: Sequence[str]) -> None:
        """Remove files in one request; ones already gone are fine (S3 says so too)."""
        self.client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )


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
