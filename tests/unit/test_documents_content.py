"""Uploads are checked by content while they are staged: accepted files come back typed and hashed;
every refusal says what is wrong and leaves nothing behind; the size limit stops reading early."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from services.documents import content
from services.documents.content import ContentType, RefusedFile, StagedFile, stage

MiB = 1024 * 1024


# --- sample files -----------------------------------------------------------------------------------


def blank_pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def reportlab_pdf() -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out)
    canvas.drawString(72, 760, "Pièce d'identité — Camille Dupont")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png(size: tuple[int, int] = (120, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "PNG")
    return out.getvalue()


def jpeg(size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + os.urandom(200)
MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + os.urandom(200)


# --- helpers ------------------------------------------------------------------------------------------


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
        await asyncio.sleep(0)


async def stage_bytes(data: bytes, folder: Path, *, chunk: int = 64 * 1024, **kwargs: int) -> StagedFile:
    return await stage(chunks_of(data, chunk), folder, **kwargs)


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


async def refused(data: bytes, folder: Path, **kwargs: int) -> str:
    with pytest.raises(RefusedFile) as caught:
        await stage_bytes(data, folder, **kwargs)
    assert files_in(folder) == [], "a refused upload must leave nothing in the staging folder"
    assert caught.value.reason == str(caught.value)
    return caught.value.reason


# --- accepted -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (blank_pdf, ContentType.PDF),
        (lambda: blank_pdf(pages=3), ContentType.PDF),
        (reportlab_pdf, ContentType.PDF),
        (png, ContentType.PNG),
        (jpeg, ContentType.JPEG),
    ],
    ids=["pypdf-blank", "pypdf-3-pages", "reportlab", "png", "jpeg"],
)
async def test_accepted_files_are_typed_hashed_and_kept(
    tmp_path: Path, make: Callable[[], bytes], expected: ContentType
) -> None:
    data = make()
    folder = tmp_path / "staging" / "nested"  # created on demand

    staged = await stage_bytes(data, folder, chunk=1000)

    assert staged.content_type is expected
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.size == len(data)
    assert staged.path.parent == folder
    assert staged.path.read_bytes() == data
    assert files_in(folder) == [staged.path]


async def test_the_type_comes_from_the_content_whatever_the_chunking(tmp_path: Path) -> None:
    data = png()
    staged = await stage_bytes(data, tmp_path, chunk=1)  # the magic bytes arrive one by one
    assert staged.content_type is ContentType.PNG
    assert staged.sha256 == hashlib.sha256(data).hexdigest()


async def test_empty_chunks_are_ignored(tmp_path: Path) -> None:
    data = blank_pdf()

    async def with_empties() -> AsyncIterator[bytes]:
        yield b""
        yield data[:10]
        yield b""
        yield data[10:]

    staged = await stage(with_empties(), tmp_path)
    assert staged.size == len(data)
    assert staged.content_type is ContentType.PDF


async def test_a_file_exactly_at_the_limit_is_accepted(tmp_path: Path) -> None:
    data = png()
    staged = await stage_bytes(data, tmp_path, max_bytes=len(data))
    assert staged.size == len(data)


# --- refused -----------------------------------------------------------------------------------------


async def test_empty_file(tmp_path: Path) -> None:
    assert await refused(b"", tmp_path) == "empty file"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (MZ, "not a PDF, JPEG or PNG file (content starts with 'MZ': a Windows executable?)"),
        (ELF, "not a PDF, JPEG or PNG file (content starts with '\\x7fELF': an executable?)"),
        (b"PK\x03\x04" + bytes(60), "not a PDF, JPEG or PNG file (content starts with 'PK\\x03\\x04': a ZIP archive, "),
        (b"GIF89a" + bytes(20), "not a PDF, JPEG or PNG file (content starts with 'GIF89a': a GIF image?)"),
        (b"\x00\x00\x00\x18ftypheic" + bytes(40), "not a PDF, JPEG or PNG file (content starts with "),
        ("Bonjour, voici ma pièce d'identité.\n".encode(), "not a PDF, JPEG or PNG file (the content is plain text)"),
        (b"BMW 320d, facture\n", "not a PDF, JPEG or PNG file (the content is plain text)"),
        (b"{\\rtf1\\ansi Bonjour}", "not a PDF, JPEG or PNG file (content starts with '{\\\\rtf': an RTF document?)"),
        (b"\x13\x8a\x00\xee\x01\x02\x03\x04\x05\x06", "not a PDF, JPEG or PNG file (content starts with '\\x13\\x8a"),
    ],
    ids=["exe-mz", "elf", "zip", "gif", "heic", "text", "text-like-a-signature", "rtf", "random"],
)
async def test_not_a_pdf_jpeg_or_png(tmp_path: Path, data: bytes, expected: str) -> None:
    assert (await refused(data, tmp_path)).startswith(expected)


async def test_heic_photos_get_a_hint(tmp_path: Path) -> None:
    reason = await refused(b"\x00\x00\x00\x18ftypheic" + bytes(40), tmp_path)
    assert "a HEIC photo? export it as JPEG" in reason


async def test_random_bytes(tmp_path: Path) -> None:
    data = b"\x01" + os.urandom(4096)  # never a known signature
    assert (await refused(data, tmp_path)).startswith("not a PDF, JPEG or PNG file (content starts with '")


async def test_an_executable_named_pdf_is_judged_by_its_content(tmp_path: Path) -> None:
    # stage never sees the name: "passeport.pdf" is only a label on the upload.
    upload = tmp_path / "passeport.pdf"
    upload.write_bytes(MZ)
    reason = await refused(upload.read_bytes(), tmp_path / "staging")
    assert "'MZ': a Windows executable?" in reason


async def test_a_png_named_pdf_is_accepted_as_png(tmp_path: Path) -> None:
    upload = tmp_path / "attestation.pdf"
    upload.write_bytes(png())
    staged = await stage_bytes(upload.read_bytes(), tmp_path / "staging")
    assert staged.content_type is ContentType.PNG


async def test_encrypted_pdf(tmp_path: Path) -> None:
    assert await refused(encrypted_pdf(), tmp_path) == "encrypted PDF: upload it without a password"


@pytest.mark.parametrize("keep", [0.5, 0.9], ids=["half", "tail-missing"])
async def test_truncated_pdf(tmp_path: Path, keep: float) -> None:
    data = reportlab_pdf()
    assert (await refused(data[: int(len(data) * keep)], tmp_path)).startswith("corrupt PDF: ")


async def test_pdf_header_then_garbage(tmp_path: Path) -> None:
    data = b"%PDF-1.7\n" + os.urandom(2000)
    assert (await refused(data, tmp_path)).startswith("corrupt PDF: ")


async def test_pdf_without_pages(tmp_path: Path) -> None:
    out = io.BytesIO()
    PdfWriter().write(out)
    assert await refused(out.getvalue(), tmp_path) == "corrupt PDF: it has no pages"


async def test_truncated_png(tmp_path: Path) -> None:
    data = png((400, 300))
    assert (await refused(data[: len(data) // 2], tmp_path)).startswith("corrupt PNG image: ")


async def test_png_with_a_damaged_checksum(tmp_path: Path) -> None:
    data = bytearray(png())
    data[-20] ^= 0xFF  # inside the pixel data: the chunk CRC no longer matches
    assert (await refused(bytes(data), tmp_path)).startswith("corrupt PNG image: ")


async def test_truncated_jpeg(tmp_path: Path) -> None:
    data = jpeg()
    assert (await refused(data[: len(data) // 2], tmp_path)).startswith("corrupt JPEG image: ")


async def test_jpeg_magic_then_garbage(tmp_path: Path) -> None:
    assert (await refused(b"\xff\xd8\xff\xe0" + os.urandom(3000), tmp_path)).startswith("corrupt JPEG image: ")


async def test_image_bigger_than_our_pixel_limit(tmp_path: Path) -> None:
    reason = await refused(png_claiming(8000, 8000), tmp_path)
    assert reason == "image too large: 8000 x 8000 pixels (64,000,000), the limit is 50,000,000 pixels"


async def test_decompression_bomb_refused_by_pillow_itself(tmp_path: Path) -> None:
    assert (await refused(png_claiming(100_000, 100_000), tmp_path)).startswith("image too large: ")


async def test_the_pixel_limit_is_a_module_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "MAX_IMAGE_PIXELS", 100 * 100)
    reason = await refused(png((200, 100)), tmp_path)
    assert reason == "image too large: 200 x 100 pixels (20,000), the limit is 10,000 pixels"


async def test_too_large(tmp_path: Path) -> None:
    data = blank_pdf()
    reason = await refused(data, tmp_path, max_bytes=100)
    assert reason == "file too large: more than the limit of 100 bytes (100 bytes)"


async def test_too_large_message_for_the_default_limit(tmp_path: Path) -> None:
    assert content.DEFAULT_MAX_BYTES == 10_485_760
    chunk = bytes(MiB)

    async def eleven_mib() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield chunk

    with pytest.raises(RefusedFile, match=r"^file too large: more than the limit of 10,485,760 bytes \(10 MB\)$"):
        await stage(eleven_mib(), tmp_path)
    assert files_in(tmp_path) == []


async def test_the_size_limit_stops_reading_early_and_memory_stays_small(tmp_path: Path) -> None:
    consumed = 0

    async def fifty_mib_of_zeros() -> AsyncIterator[bytes]:
        nonlocal consumed
        for _ in range(50):
            consumed += 1
            yield bytes(MiB)  # a fresh chunk each time, as a network stream would deliver

    tracemalloc.start()
    try:
        with pytest.raises(RefusedFile, match=r"^file too large"):
            await stage(fifty_mib_of_zeros(), tmp_path / "staging", max_bytes=10 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert consumed <= 11, f"read {consumed} chunks of 1 MiB for a 10 MiB limit"
    assert peak < 5 * MiB, f"peak memory {peak:,} bytes"
    assert files_in(tmp_path / "staging") == []


async def test_a_failing_stream_leaves_nothing(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield blank_pdf()[:100]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await stage(broken(), tmp_path)
    assert files_in(tmp_path) == []


async def test_cancellation_leaves_nothing(tmp_path: Path) -> None:
    started = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield png()[:100]
        started.set()
        await asyncio.Event().wait()  # the client never sends the rest
        yield b""

    task = asyncio.create_task(stage(stalled(), tmp_path))
    await started.wait()
    await asyncio.sleep(0.05)
    assert len(files_in(tmp_path)) == 1  # the partial upload is on disk, not in memory
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files_in(tmp_path) == []


async def test_max_bytes_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        await stage(chunks_of(b"x"), tmp_path, max_bytes=0)
