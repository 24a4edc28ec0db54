"""The documents service's writes beside its events: a content hash's lock, so that an upload and
the erasure of a forgotten candidate's files (services.documents.forgotten) never cross on the same
bytes. Blobs are stored once per content hash: without the lock, another candidate's upload of the
very same file could find the blob present, and the erasure delete it before that upload's event
named it. Both take the hash's transaction-scoped advisory lock: the erasure checks the references
and deletes under it; the upload's event is appended under it, once the blob is found in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shared.db import Connection
from shared.errors import ConcurrencyError
from shared.eventstore import ExtraWrite

BLOB_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('archipel-blob:' || $1, 0))"


def blob_in_place(sha256: str, exists: Callable[[str], Awaitable[bool]]) -> ExtraWrite:
    """In the upload's transaction: the hash locked, its blob still stored (else the upload is
    refused and nothing is appended: the same bytes were being erased, it is sent again)."""

    async def write(connection: Connection) -> None:
        await connection.execute(BLOB_LOCK, sha256)
        if not await exists(sha256):
            raise ConcurrencyError("the same file was being erased at that moment: send it again")

    return write
