"""Blob stores keep checked uploads by the SHA-256 of their bytes: the same bytes are stored once,
read back in 64 KiB chunks, erased on demand (twice is harmless), and a malformed name is refused
before it reaches a path or a key."""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.documents.blobstore import (
    CHUNK_BYTES,
    BlobStore,
    LocalBlobStore,
    S3BlobStore,
    blob_store_from,
    check_sha256,
)
from services.documents.content import ContentType, StagedFile


def staged_file(folder: Path, data: bytes, name: str | None = None) -> StagedFile:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"upload-{uuid.uuid4().hex}.part")
    path.write_bytes(data)
    return StagedFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest(), content_type=ContentType.PDF)


async def read_all(chunks: AsyncIterator[bytes]) -> tuple[bytes, list[int]]:
    sizes: list[int] = []
    data = b""
    async for chunk in chunks:
        sizes.append(len(chunk))
        data += chunk
    return data, sizes


BAD_NAMES = [
    "",
    "../" * 10 + "etc/passwd",
    "A" * 64,  # upper case
    "g" * 64,  # not hex
    "a" * 63,
    "a" * 65,
    "a" * 64 + "\n",
    "/" + "a" * 63,
    "../aa/" + "a" * 58,
]

# 150 KiB + 7 bytes: three chunks, the last one short.
PAYLOAD = os.urandom(2 * CHUNK_BYTES + 22 * 1024 + 7)


async def check_store_behaviour(store: BlobStore, staging: Path) -> None:
    """The contract every BlobStore honours."""
    first = staged_file(staging, PAYLOAD)
    sha = first.sha256
    assert not await store.exists(sha)

    assert await store.put(first) is True
    assert not first.path.exists()
    assert await store.exists(sha)
    assert await store.size(sha) == len(PAYLOAD)
    data, sizes = await read_all(store.open(sha))
    assert data == PAYLOAD
    assert sizes == [CHUNK_BYTES, CHUNK_BYTES, len(PAYLOAD) - 2 * CHUNK_BYTES]

    again = staged_file(staging, PAYLOAD)  # the same bytes uploaded again
    assert await store.put(again) is False
    assert not again.path.exists()
    assert (await read_all(store.open(sha)))[0] == PAYLOAD

    other = staged_file(staging, b"%PDF-1.7 other bytes")
    assert await store.put(other) is True
    assert (await read_all(store.open(other.sha256)))[0] == b"%PDF-1.7 other bytes"

    unknown = hashlib.sha256(b"never stored").hexdigest()
    assert not await store.exists(unknown)
    with pytest.raises(KeyError):
        await store.size(unknown)
    with pytest.raises(KeyError):
        await read_all(store.open(unknown))

    assert await store.delete(other.sha256) is True  # erased (issue 13 part 7), the other blob kept
    assert not await store.exists(other.sha256)
    with pytest.raises(KeyError):
        await read_all(store.open(other.sha256))
    assert await store.delete(other.sha256) is False  # twice: harmless
    assert await store.delete(unknown) is False
    assert (await read_all(store.open(sha)))[0] == PAYLOAD

    for bad in BAD_NAMES:
        with pytest.raises(ValueError, match="not a SHA-256"):
            await store.exists(bad)
        with pytest.raises(ValueError, match="not a SHA-256"):
            await store.delete(bad)
        with pytest.raises(ValueError, match="not a SHA-256"):
            await store.size(bad)
        with pytest.raises(ValueError, match="not a SHA-256"):
            await read_all(store.open(bad))
    forged = StagedFile(path=staging / "forged.part", size=3, sha256="../../x", content_type=ContentType.PNG)
    forged.path.write_bytes(b"abc")
    with pytest.raises(ValueError, match="not a SHA-256"):
        await store.put(forged)
    assert not forged.path.exists()  # the staged file is gone even when put fails

    assert list(staging.iterdir()) == []


# --- local folder ---------------------------------------------------------------------------------------


async def test_local_store_behaviour(tmp_path: Path) -> None:
    await check_store_behaviour(LocalBlobStore(tmp_path / "blobs"), tmp_path / "staging")


async def test_local_layout_permissions_and_dedup_on_disk(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    staging = tmp_path / "staging"
    sha = hashlib.sha256(PAYLOAD).hexdigest()

    assert await store.put(staged_file(staging, PAYLOAD))
    assert not await store.put(staged_file(staging, PAYLOAD))

    stored = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert stored == [tmp_path / "blobs" / sha[:2] / sha[2:4] / sha]
    assert store.path_of(sha) == stored[0]
    assert stat.S_IMODE(stored[0].stat().st_mode) == 0o640
    assert stored[0].stat().st_nlink == 1  # the staging link is gone
    assert list(staging.iterdir()) == []


async def test_local_put_across_filesystems_copies_then_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hard_links(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")  # EXDEV, as between two filesystems

    monkeypatch.setattr(os, "link", no_hard_links)
    store = LocalBlobStore(tmp_path / "blobs")
    staged = staged_file(tmp_path / "staging", PAYLOAD)

    assert await store.put(staged) is True
    assert not staged.path.exists()
    blob = store.path_of(staged.sha256)
    assert blob.read_bytes() == PAYLOAD
    assert stat.S_IMODE(blob.stat().st_mode) == 0o640
    assert sorted(p.name for p in blob.parent.iterdir()) == [staged.sha256]  # no temporary left


def test_check_sha256() -> None:
    good = hashlib.sha256(b"x").hexdigest()
    assert check_sha256(good) == good
    for bad in BAD_NAMES:
        with pytest.raises(ValueError):
            check_sha256(bad)


def test_blob_store_from(tmp_path: Path, aws_env: None) -> None:
    local = blob_store_from(tmp_path, None)
    assert isinstance(local, LocalBlobStore)
    assert local.root == tmp_path / "blobs"
    assert isinstance(blob_store_from(tmp_path, ""), LocalBlobStore)

    s3 = blob_store_from(tmp_path, "archipel-docs", "blobs/", "http://127.0.0.1:9")
    assert isinstance(s3, S3BlobStore)
    assert (s3.bucket, s3.prefix) == ("archipel-docs", "blobs/")
    assert s3.key_of("a" * 64) == "blobs/" + "a" * 64
    assert s3._client.meta.endpoint_url == "http://127.0.0.1:9"


# --- S3-compatible bucket ---------------------------------------------------------------------------------
# moto's in-process server stands in for an S3-compatible store (AWS S3, MinIO, Ceph...). This is a unit
# test of the adapter only: it proves the boto3 calls and error mapping, not the behaviour of a real store.


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_store(moto_endpoint: str, aws_env: None) -> S3BlobStore:
    bucket = f"archipel-{uuid.uuid4().hex[:12]}"
    store = S3BlobStore(bucket, prefix="documents/", endpoint_url=moto_endpoint)
    store._client.create_bucket(Bucket=bucket)
    return store


async def test_s3_store_behaviour(s3_store: S3BlobStore, tmp_path: Path) -> None:
    await check_store_behaviour(s3_store, tmp_path / "staging")


async def test_s3_keys_and_content_type(s3_store: S3BlobStore, tmp_path: Path) -> None:
    staged = staged_file(tmp_path / "staging", PAYLOAD)
    assert await s3_store.put(staged)
    assert await s3_store.put(staged_file(tmp_path / "staging", PAYLOAD)) is False

    listing = s3_store._client.list_objects_v2(Bucket=s3_store.bucket)
    assert [o["Key"] for o in listing.get("Contents", [])] == ["documents/" + staged.sha256]
    head = s3_store._client.head_object(Bucket=s3_store.bucket, Key="documents/" + staged.sha256)
    assert head["ContentType"] == "application/pdf"
    assert head["ContentLength"] == len(PAYLOAD)


async def test_s3_errors_other_than_missing_are_not_hidden(moto_endpoint: str, aws_env: None, tmp_path: Path) -> None:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError

    store = S3BlobStore(f"no-such-bucket-{uuid.uuid4().hex[:8]}", endpoint_url=moto_endpoint)
    staged = staged_file(tmp_path / "staging", PAYLOAD)
    with pytest.raises(S3UploadFailedError, match="NoSuchBucket"):
        await store.put(staged)  # HEAD cannot tell a missing bucket from a missing object; the upload can
    assert not staged.path.exists()
    with pytest.raises(ClientError, match="NoSuchBucket"):
        await read_all(store.open(staged.sha256))  # a misconfigured store is not an unknown blob
