"""Where checked uploads live: content-addressed blobs, named by the SHA-256 of their bytes.

The same bytes uploaded twice are stored once. Two stores: a local folder (the default, and what
`make run` uses) and an S3-compatible bucket (boto3, imported only when that store is chosen).
Blocking calls run in threads; reads stream in chunks of 64 KiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from services.documents.content import StagedFile

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_BYTES = 64 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobStore(Protocol):
    async def put(self, staged: StagedFile) -> bool:
        """Store the staged file under its sha256. False if those bytes were already stored.
        The staged file is gone afterwards, whatever the outcome (even on error)."""
        ...

    def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The stored bytes, in chunks of 64 KiB. KeyError (on the first iteration) if unknown."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    async def size(self, sha256: str) -> int:
        """Size in bytes; KeyError if unknown."""
        ...

    async def delete(self, sha256: str) -> bool:
        """Erase the stored bytes; False if there were none (deleting twice is harmless)."""
        ...


def check_sha256(sha256: str) -> str:
    """The blob name, if it is 64 lowercase hex digits; ValueError otherwise (no path or key tricks)."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


def blob_store_from(
    home: Path, s3_bucket: str | None, s3_prefix: str = "", s3_endpoint: str | None = None
) -> BlobStore:
    """The S3 store when a bucket is configured, else the local folder `home / "blobs"`."""
    if s3_bucket:
        return S3BlobStore(s3_bucket, prefix=s3_prefix or "", endpoint_url=s3_endpoint or None)
    return LocalBlobStore(home / "blobs")


# --- local folder ----------------------------------------------------------------------------------


class LocalBlobStore:
    """Blobs as files `root/ab/cd/abcd…` (mode 0o640).

    Stage uploads in a folder on the same filesystem as `root` (e.g. a sibling `staging` folder):
    storing is then a hard link, which is atomic and creates the blob only if it is absent. Across
    filesystems the bytes are copied to a temporary file next to the blob, then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        sha256 = check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, staged: StagedFile) -> bool:
        try:
            dest = self.path_of(staged.sha256)
            return await asyncio.to_thread(_put_local, staged.path, dest)
        finally:
            _discard(staged.path)

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        path = self.path_of(sha256)
        try:
            file = await asyncio.to_thread(_open_read, path)
        except FileNotFoundError:
            raise KeyError(sha256) from None
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
                yield chunk
        finally:
            file.close()

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(self.path_of(sha256).is_file)

    async def size(self, sha256: str) -> int:
        path = self.path_of(sha256)
        try:
            stat = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            raise KeyError(sha256) from None
        return stat.st_size

    async def delete(self, sha256: str) -> bool:
        return await asyncio.to_thread(_delete_local, self.path_of(sha256))


def _delete_local(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    _fsync_dir(path.parent)
    return True


def _put_local(source: Path, dest: Path) -> bool:
    if dest.exists():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    source.chmod(0o640)
    _fsync(source)
    try:
        os.link(source, dest)  # atomic, and fails if the blob appeared meanwhile
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        _copy_into_place(source, dest)
    _fsync_dir(dest.parent)
    return True


def _copy_into_place(source: Path, dest: Path) -> None:
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, CHUNK_BYTES)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o640)
        os.replace(tmp, dest)  # atomic; a concurrent writer of the same blob wrote the same bytes
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _open_read(path: Path) -> BinaryIO:
    return path.open("rb")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a directory; the blob itself is synced
        _fsync(path)


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


# --- S3-compatible bucket --------------------------------------------------------------------------


class S3BlobStore:
    """Blobs as objects `prefix + sha256` in an S3-compatible bucket (AWS, MinIO, Ceph, Garage…).

    Credentials and region come from boto3's usual sources (AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, profiles). Include the trailing "/" in `prefix` if
    you want one. boto3 calls run in threads; the client is thread-safe once created."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        import boto3.session  # noqa: PLC0415 - only the S3 store needs boto3

        self.bucket = bucket
        self.prefix = prefix
        self._client: S3Client = boto3.session.Session().client("s3", endpoint_url=endpoint_url)

    def key_of(self, sha256: str) -> str:
        return self.prefix + check_sha256(sha256)

    async def put(self, staged: StagedFile) -> bool:
        try:
            key = self.key_of(staged.sha256)
            if await asyncio.to_thread(self._head, key) is not None:
                return False
            await asyncio.to_thread(
                self._client.upload_file,
                str(staged.path),
                self.bucket,
                key,
                ExtraArgs={"ContentType": str(staged.content_type)},
            )
            return True
        finally:
            _discard(staged.path)

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        key = self.key_of(sha256)
        try:
            response = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            raise KeyError(sha256) from None
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(self._head, self.key_of(sha256)) is not None

    async def size(self, sha256: str) -> int:
        length = await asyncio.to_thread(self._head, self.key_of(sha256))
        if length is None:
            raise KeyError(sha256)
        return length

    async def delete(self, sha256: str) -> bool:
        key = self.key_of(sha256)
        if await asyncio.to_thread(self._head, key) is None:
            return False
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)
        return True

    def _head(self, key: str) -> int | None:
        """The object's size, or None if there is no such object."""
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            return self._client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
