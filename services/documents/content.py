"""Check an uploaded file by its content, not by its name, while staging it on disk (R-18, R-19).

The upload arrives as a stream of chunks. `stage` writes them to a temporary file, hashing and
counting as it goes, and never holds the whole file in memory: it stops reading as soon as the size
limit is passed. Then it recognises the type from the first bytes (PDF, JPEG or PNG; the file name
and the declared type are labels, not evidence) and proves it by parsing the file: pypdf for a PDF,
Pillow for an image. Anything else raises `RefusedFile` with a reason a candidate can act on, and
the temporary file is gone.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000
"""An A4 page scanned at 600 dpi is 35 megapixels. Larger images are refused before decoding: a
small PNG can claim a huge canvas (a decompression bomb)."""

ACTIVE_PDF_NAMES = {
    "/JS": "JavaScript",
    "/JavaScript": "JavaScript",
    "/Launch": "a launch action",
    "/EmbeddedFile": "an embedded file",
    "/EmbeddedFiles": "embedded files",
}
"""A document a candidate sends is read by staff: a PDF that runs code, starts a program or carries
other files is refused (issue 13), wherever the name appears (a key or a value, e.g. /S /JavaScript)."""
MAX_PDF_OBJECTS = 100_000  # a 10 MB PDF of tiny objects stays under it; more is refused, not walked

_HEAD_BYTES = 512
_MiB = 1024 * 1024


class ContentType(StrEnum):
    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"


class RefusedFile(Exception):
    """The upload is not an acceptable document; `reason` says why, in plain English."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StagedFile:
    """A checked upload waiting in the staging folder; the caller stores it or deletes it."""

    path: Path
    size: int
    sha256: str
    content_type: ContentType


async def stage(chunks: AsyncIterable[bytes], folder: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> StagedFile:
    """Write `chunks` to a new file in `folder` (created if missing), then check it by content.

    Raises RefusedFile when the file is empty, larger than `max_bytes` (reading stops at the first
    chunk past the limit), not a PDF, JPEG or PNG, or does not parse. On any refusal or error
    (including cancellation) the temporary file is deleted."""
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    file, path = await asyncio.to_thread(_create_temp, folder)
    try:
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    raise RefusedFile(
                        f"file too large: more than the limit of {max_bytes:,} bytes ({_human(max_bytes)})"
                    )
                if len(head) < _HEAD_BYTES:
                    head += chunk[: _HEAD_BYTES - len(head)]
                await asyncio.to_thread(_write, file, digest, chunk)
        finally:
            file.close()
        if size == 0:
            raise RefusedFile("empty file")
        content_type = _sniff(head)
        await asyncio.to_thread(_verify, path, content_type)
        return StagedFile(path=path, size=size, sha256=digest.hexdigest(), content_type=content_type)
    except BaseException:
        _discard(path)
        raise


def _create_temp(folder: Path) -> tuple[BinaryIO, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix="upload-", suffix=".part")
    return os.fdopen(fd, "wb"), Path(name)


def _write(file: BinaryIO, digest: hashlib._Hash, chunk: bytes) -> None:
    digest.update(chunk)
    file.write(chunk)


def _discard(path: Path) -> None:
    # Synchronous on purpose: it must run even when the task is being cancelled.
    path.unlink(missing_ok=True)


def _human(n: int) -> str:
    if n % _MiB == 0:
        return f"{n // _MiB} MB"
    if n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n:,} bytes"


# --- recognising the type -------------------------------------------------------------------------

_ACCEPTED: tuple[tuple[bytes, ContentType], ...] = (
    (b"%PDF-", ContentType.PDF),
    (b"\x89PNG\r\n\x1a\n", ContentType.PNG),
    (b"\xff\xd8\xff", ContentType.JPEG),
)

# Common things people upload by mistake, to make the refusal actionable.
_HINTS: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows executable?"),
    (b"\x7fELF", "an executable?"),
    (b"\xcf\xfa\xed\xfe", "an executable?"),
    (b"PK\x03\x04", "a ZIP archive, or a Word, Excel or OpenDocument file?"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Word or Excel file?"),
    (b"{\\rtf", "an RTF document?"),
    (b"GIF87a", "a GIF image?"),
    (b"GIF89a", "a GIF image?"),
    (b"II*\x00", "a TIFF image?"),
    (b"MM\x00*", "a TIFF image?"),
    (b"BM", "a BMP image?"),
    (b"Rar!\x1a\x07", "a RAR archive?"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive?"),
    (b"\x1f\x8b", "a gzip archive?"),
)

_NOT_ACCEPTED = "not a PDF, JPEG or PNG file"


def _sniff(head: bytes) -> ContentType:
    for magic, content_type in _ACCEPTED:
        if head.startswith(magic):
            return content_type
    if _looks_like_text(head) and not head.startswith(b"{\\rtf"):  # before the hints: text may start with "MZ"
        raise RefusedFile(f"{_NOT_ACCEPTED} (the content is plain text)")
    for magic, hint in _HINTS:
        if head.startswith(magic):
            raise RefusedFile(f"{_NOT_ACCEPTED} (content starts with {_show(magic)}: {hint})")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"hevx"):
            hint = "a HEIC photo? export it as JPEG"
        elif brand in (b"avif", b"avis"):
            hint = "an AVIF image? export it as JPEG or PNG"
        else:
            hint = "a video?"
        raise RefusedFile(f"{_NOT_ACCEPTED} (content starts with {_show(head[:12])}: {hint})")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        raise RefusedFile(f"{_NOT_ACCEPTED} (content starts with {_show(head[:12])}: a WebP image?)")
    raise RefusedFile(f"{_NOT_ACCEPTED} (content starts with {_show(head[:8])})")


def _show(data: bytes) -> str:
    return "'" + repr(data)[2:-1] + "'"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the head
            return False
        text = head[: exc.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\n\r\f" for ch in text.lstrip("\ufeff"))


# --- proving it by parsing ------------------------------------------------------------------------


def _verify(path: Path, content_type: ContentType) -> None:
    if content_type is ContentType.PDF:
        _verify_pdf(path)
    else:
        _verify_image(path, content_type)


def _verify_pdf(path: Path) -> None:
    try:
        with path.open("rb") as fh:  # a file object: pypdf reads it lazily instead of loading it whole
            reader = PdfReader(fh, strict=False)
            if reader.is_encrypted:
                raise RefusedFile("encrypted PDF: upload it without a password")
            if len(reader.pages) == 0:
                raise RefusedFile("corrupt PDF: it has no pages")
            for page in reader.pages:  # resolves every page object, not just the page count
                _ = page.mediabox
            _refuse_active_content(reader)
    except RefusedFile:
        raise
    except Exception as exc:  # pypdf raises many types on damaged input; all mean "does not parse"
        raise RefusedFile(f"corrupt PDF: {_describe(exc)}") from exc


def _refuse_active_content(reader: PdfReader) -> None:
    """Walks every object reachable from the trailer (pypdf decodes names written with #xx escapes)."""
    seen: set[tuple[int, int]] = set()
    todo: list[PdfObject] = [reader.trailer]
    walked = 0
    while todo:
        item = todo.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            resolved = item.get_object()
            if resolved is None:
                continue
            item = resolved
        walked += 1
        if walked > MAX_PDF_OBJECTS:
            raise RefusedFile(f"PDF too complex: more than {MAX_PDF_OBJECTS:,} objects")
        if isinstance(item, DictionaryObject):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, ArrayObject):
            children = list(item)
        else:
            continue
        for child in children:
            if isinstance(child, NameObject) and child in ACTIVE_PDF_NAMES:
                raise RefusedFile(
                    f"PDF with {ACTIVE_PDF_NAMES[child]} ({child}): print it to a new PDF, or scan the paper"
                )
            if isinstance(child, DictionaryObject | ArrayObject | IndirectObject):
                todo.append(child)


def _verify_image(path: Path, content_type: ContentType) -> None:
    kind = "PNG" if content_type is ContentType.PNG else "JPEG"
    try:
        with Image.open(path, formats=[kind]) as image:
            _check_pixels(image.size)
            image.verify()  # structure and, for PNG, chunk checksums
        with Image.open(path, formats=[kind]) as image:  # verify() leaves the image unusable: reopen
            if kind == "JPEG":
                # Decode at 1/8 scale: every byte is still read, so truncation is caught, in 1/64 of the memory.
                image.draft(None, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()  # decodes the pixels: catches truncated and damaged data
    except RefusedFile:
        raise
    except Image.DecompressionBombError as exc:
        raise RefusedFile(f"image too large: {_describe(exc)}") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... on damaged input
        raise RefusedFile(f"corrupt {kind} image: {_describe(exc)}") from exc


def _check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise RefusedFile(
            f"image too large: {width} x {height} pixels ({width * height:,}), the limit is {MAX_IMAGE_PIXELS:,} pixels"
        )


def _describe(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"
