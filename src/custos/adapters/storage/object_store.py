"""Sealed segments in an S3-compatible object store (SeaweedFS in the tests and in
``custos objectstore serve``; any S3 that honours the same calls in production).

One object per segment, keyed by the segment's path relative to the media root
(``[prefix]<camera id>/<run id>/<sequence>.mp4``), carrying the segment's SHA-256 twice: as user metadata
(``x-amz-meta-sha256``, hex, what ``custos check`` compares) and as the S3 checksum of the upload
(``x-amz-checksum-sha256``), so the server itself refuses a body that does not hash to it.

Immutability, in two layers (see docs/design/storage.md, "Object storage"):

- **Object Lock**, where the bucket has it enabled: each upload carries a retention
  (COMPLIANCE by default) until the segment's retention floor; the gateway then refuses to delete
  or replace that *version* until the date has passed.
- **Application level**, always: an upload is a conditional put (``If-None-Match: *``) after a
  look at the key; an existing object is never overwritten, and one with a different hash is a
  conflict (:class:`ObjectExistsError`), never "fixed".
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

from custos.services.offload import ObjectConflictError, ObjectUnreadableError

log = logging.getLogger(__name__)

SHA256_META = "sha256"
_CHUNK = 1 << 20
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
_LOCK_MARGIN = timedelta(minutes=5)  # a retention this close to now is not worth setting
CHECKPOINT_FOLDER = "audit-checkpoints/"  # witnessed checkpoints (docs/design/evidence.md)
# documents and export packages every server reads (adapters/storage/shared_files.py)
DOCUMENT_FOLDER = "documents/"
EXPORT_FOLDER = "exports/"
NOT_SEGMENTS = (CHECKPOINT_FOLDER, DOCUMENT_FOLDER, EXPORT_FOLDER)


class ObjectStoreError(Exception):
    """The store did not do what was asked, or did something else (e.g. an unverified upload)."""


class ObjectExistsError(ObjectStoreError, ObjectConflictError):
    """The key already holds an object with other content: it is never overwritten."""

    def __init__(self, key: str, found: ObjectInfo, wanted_sha256: str, wanted_bytes: int) -> None:
        self.key = key
        self.found = found
        super().__init__(
            f"object {key} exists with sha256={found.sha256} bytes={found.bytes}; refusing to"
            f" replace it with sha256={wanted_sha256} bytes={wanted_bytes}"
        )


class ObjectLockedError(ObjectStoreError):
    """Object Lock refuses the deletion (a retention date not yet reached, or a legal hold)."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    bytes: int
    sha256: str | None  # from the object's metadata; None when it has none
    version_id: str | None = None
    retain_until: datetime | None = None
    lock_mode: str | None = None


class S3SegmentStore:
    """Segments as objects in one bucket. Thread-safe (boto3 clients are)."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str | None,
        secret_key: str | None,
        region: str = "us-east-1",
        lock_mode: str = "COMPLIANCE",
        timeout_s: float = 60.0,
        prefix: str = "",
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.lock_mode = lock_mode
        self._locking: bool | None = None
        config = Config(
            region_name=region,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=timeout_s,
            # we send our own SHA-256 checksum; no extra CRC32 trailer
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._s3: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )

    def __repr__(self) -> str:  # never the credentials
        return f"S3SegmentStore({self.endpoint!r}, bucket={self.bucket!r})"

    def key_for(self, relative: str) -> str:
        """The object key of a segment: the prefix, then its path relative to the media root."""
        rel = relative.lstrip("/")
        if not rel or ".." in rel.split("/"):
            raise ValueError(f"not a segment path: {relative!r}")
        return self.prefix + rel

    # ---- the bucket ---------------------------------------------------------------------
    def ensure_bucket(self, object_lock: bool = True) -> None:
        """Create the bucket (with Object Lock, hence versioning) unless it exists."""
        try:
            self._s3.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _code(exc) not in _NOT_FOUND | {"NoSuchBucket"}:
                raise
        try:
            self._s3.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=object_lock)
        except ClientError as exc:
            if _code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise
        self._locking = None

    def locking(self) -> bool:
        """Whether the bucket has Object Lock enabled (asked once, then remembered)."""
        if self._locking is None:
            try:
                cfg = self._s3.get_object_lock_configuration(Bucket=self.bucket)
                enabled = cfg.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
                self._locking = enabled == "Enabled"
            except ClientError as exc:
                if "ObjectLockConfiguration" not in _code(exc) and _code(exc) not in _NOT_FOUND:
                    raise
                self._locking = False
        return self._locking

    def ping(self) -> None:
        """Raise unless the bucket answers."""
        self._s3.head_bucket(Bucket=self.bucket)

    # ---- objects --------------------------------------------------------------------------
    def stat(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        """Size, SHA-256 metadata, version and lock of the object (its current version unless
        ``version_id``); None when there is none (or a delete marker hides it)."""
        try:
            if version_id is not None:
                head = self._s3.head_object(Bucket=self.bucket, Key=key, VersionId=version_id)
            else:
                head = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND or _status(exc) in {404, 405}:
                return None
            raise
        return _info(key, head)

    def upload(
        self,
        key: str,
        path: Path,
        sha256: str,
        size: int,
        retain_until: datetime | None = None,
        content_type: str = "video/mp4",
    ) -> ObjectInfo:
        """Put a sealed file under ``key`` unless that object is already there.

        Idempotent for the same content; :class:`ObjectExistsError` for other content. The
        server checks the body against ``sha256``; afterwards size and metadata are read back.
        """
        try:
            with path.open("rb") as body:
                return self._put_new(key, body, sha256, size, content_type, retain_until)
        except ClientError as exc:
            if _code(exc) in {"BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"}:
                raise ObjectStoreError(
                    f"{path} no longer hashes to its sealed sha256 {sha256}: not uploaded"
                ) from exc
            raise

    def _put_new(
        self,
        key: str,
        body: BinaryIO | bytes,
        sha256: str,
        size: int,
        content_type: str,
        retain_until: datetime | None,
    ) -> ObjectInfo:
        """The one way an object is written: only if ``key`` is free (``If-None-Match``; the
        same content already there is fine, other content is :class:`ObjectExistsError`),
        checked by the server against ``sha256``, locked until ``retain_until`` where the
        bucket has Object Lock, then read back and compared."""
        found = self.stat(key)
        if found is not None:
            return self._same_or_conflict(key, found, sha256, size)
        extra: dict[str, Any] = {}
        lockable = retain_until is not None and retain_until > datetime.now(UTC) + _LOCK_MARGIN
        if lockable and self.locking():
            extra = {"ObjectLockMode": self.lock_mode, "ObjectLockRetainUntilDate": retain_until}
        try:
            put = self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentLength=size,
                ContentType=content_type,
                Metadata={SHA256_META: sha256},
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode("ascii"),
                IfNoneMatch="*",
                **extra,
            )
        except ClientError as exc:
            if _code(exc) == "PreconditionFailed" or _status(exc) == 412:
                # someone put it between our look and our put: same rules as above
                again = self.stat(key)
                if again is None:
                    raise ObjectStoreError(
                        f"conditional put of {key} refused, yet no object"
                    ) from exc
                return self._same_or_conflict(key, again, sha256, size)
            raise
        stored = self.stat(key, put.get("VersionId"))
        if stored is None or stored.bytes != size or stored.sha256 != sha256:
            raise ObjectStoreError(
                f"upload of {key} not verified: stored {stored},"
                f" wanted bytes={size} sha256={sha256}"
            )
        return stored

    def fetch(self, key: str, dest: Path, version_id: str | None = None) -> None:
        """Download the object to ``dest`` (written aside, fsynced, then renamed into place)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f"{dest.name}.{os.getpid()}-{threading.get_ident()}.partial")
        try:
            if version_id is not None:
                got = self._s3.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)
            else:
                got = self._s3.get_object(Bucket=self.bucket, Key=key)
            with partial.open("wb") as f:
                for chunk in got["Body"].iter_chunks(_CHUNK):
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            partial.replace(dest)
        except ClientError as exc:
            partial.unlink(missing_ok=True)
            if _code(exc) in _NOT_FOUND or _status(exc) == 404:
                raise FileNotFoundError(f"no object {key}") from exc
            raise
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def hash_of(self, key: str, version_id: str | None = None) -> str | None:
        """SHA-256 of the object's bytes, streamed (None when there is no object)."""
        try:
            if version_id is not None:
                got = self._s3.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)
            else:
                got = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND or _status(exc) == 404:
                return None
            if _status(exc) >= 500:  # the gateway cannot reach a copy of its bytes
                raise ObjectUnreadableError(f"object {key} cannot be read: {exc}") from exc
            raise
        except BotoCoreError as exc:  # no answer in time (every copy's server down, …)
            raise ObjectUnreadableError(f"object {key} cannot be read: {exc}") from exc
        digest = hashlib.sha256()
        try:
            for chunk in got["Body"].iter_chunks(_CHUNK):
                digest.update(chunk)
        except (BotoCoreError, OSError) as exc:  # listed, but its bytes cannot be read now
            raise ObjectUnreadableError(f"object {key} cannot be read: {exc}") from exc
        return digest.hexdigest()

    def versions(self, key: str) -> list[ObjectInfo]:
        """Every stored version of ``key``, newest first (delete markers left out)."""
        found: list[tuple[datetime, str]] = []
        pages = self._s3.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=key
        )
        for page in pages:
            for v in page.get("Versions", []):
                if v.get("Key") == key and "VersionId" in v:
                    found.append(
                        (v.get("LastModified", datetime.min.replace(tzinfo=UTC)), v["VersionId"])
                    )
        found.sort(reverse=True)
        infos = (self.stat(key, vid) for _, vid in found)
        return [i for i in infos if i is not None]

    def list_keys(self) -> Iterator[str]:
        """Every segment key (current versions) under the store's prefix: the operation log's
        witnessed checkpoints (``audit-checkpoints/``), documents and export packages are not
        segments and are left out."""
        others = tuple(self.prefix + folder for folder in NOT_SEGMENTS)
        return (k for k in self.keys_under("") if not k.startswith(others))

    def keys_under(self, folder: str) -> Iterator[str]:
        """Every key (current versions) under the store's prefix followed by ``folder``."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + folder
        )
        for page in pages:
            for obj in page.get("Contents", []):
                if "Key" in obj:
                    yield obj["Key"]

    def put_small(
        self, key: str, data: bytes, content_type: str, retain_until: datetime | None = None
    ) -> ObjectInfo:
        """Put a small body (a witnessed checkpoint) under ``key`` unless that object is there,
        with the same rules as :meth:`upload`: never overwritten, checked by the server against
        its SHA-256, locked until ``retain_until`` where the bucket has Object Lock."""
        sha256 = hashlib.sha256(data).hexdigest()
        return self._put_new(key, data, sha256, len(data), content_type, retain_until)

    def get_small(self, key: str, limit: int) -> bytes | None:
        """The body of a small object, at most ``limit`` + 1 bytes of it (None: no object)."""
        try:
            got = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND or _status(exc) == 404:
                return None
            raise
        body = got["Body"]
        try:
            return body.read(limit + 1)
        finally:
            body.close()

    def delete(self, key: str) -> int:
        """Remove every version of ``key`` (and its delete markers): the retention purge's call,
        and nobody else's. :class:`ObjectLockedError` while a retention or legal hold protects
        it."""
        versions: list[str] = []
        pages = self._s3.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=key
        )
        for page in pages:
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if v.get("Key") == key and "VersionId" in v:
                    versions.append(v["VersionId"])
        try:
            if not versions or versions == ["null"]:
                self._s3.delete_object(Bucket=self.bucket, Key=key)
                return 1 if versions else 0
            for vid in versions:
                self._s3.delete_object(Bucket=self.bucket, Key=key, VersionId=vid)
        except ClientError as exc:
            if _code(exc) == "AccessDenied" or _status(exc) == 403:
                raise ObjectLockedError(f"object {key} is locked (Object Lock retention)") from exc
            raise
        return len(versions)

    # ---- internals --------------------------------------------------------------------------
    @staticmethod
    def _same_or_conflict(key: str, found: ObjectInfo, sha256: str, size: int) -> ObjectInfo:
        if found.sha256 == sha256 and found.bytes == size:
            return found
        raise ObjectExistsError(key, found, sha256, size)


def _info(key: str, head: Any) -> ObjectInfo:
    meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    until = head.get("ObjectLockRetainUntilDate")
    return ObjectInfo(
        key=key,
        bytes=int(head.get("ContentLength", 0)),
        sha256=meta.get(SHA256_META),
        version_id=head.get("VersionId"),
        retain_until=until.astimezone(UTC) if isinstance(until, datetime) else None,
        lock_mode=head.get("ObjectLockMode"),
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
