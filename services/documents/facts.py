"""Read port of the documents commands: what they need from outside a dossier's stream (each
académie's documents deadline per session, from the calendars read model; where to email a
candidate, from the shared known accounts; who uploaded which content, from its own events), over
asyncpg, and an in-memory fake for unit tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

import asyncpg

from services.documents.private import BLOB_LOCK


@dataclass(frozen=True)
class Contact:
    email: str
    first_names: str
    last_name: str


class DocumentsFacts(Protocol):
    async def documents_deadline(self, academy: str, session: int) -> datetime | None: ...

    async def contact(self, candidate_id: UUID) -> Contact | None: ...

    async def blob_references(self, candidate_id: UUID) -> list[tuple[UUID, str]]: ...

    async def erase_if_unshared(self, candidate_id: UUID, sha256: str, erase: Callable[[str], Awaitable[bool]]) -> bool:
        """Runs `erase(sha256)` if no other candidate's document names the hash, holding the hash's
        lock (services.documents.private) so that no upload of the same bytes crosses it."""
        ...


async def documents_deadline(pool: asyncpg.Pool, academy: str, session: int) -> datetime | None:
    """The calendar's documents deadline of the académie and session (R-18), if one was set."""
    deadline: datetime | None = await pool.fetchval(
        "SELECT documents_deadline FROM calendars WHERE academy = $1 AND session = $2", academy, session
    )
    return deadline


async def blob_references(pool: asyncpg.Pool, candidate_id: UUID) -> list[tuple[UUID, str]]:
    """Who uploaded each content hash the candidate uploaded (the candidate among them), read from
    the service's own events (the hash is never sealed; its bytes are stored before the event that
    names them is appended, so the events are the full list of references)."""
    rows = await pool.fetch(
        "SELECT DISTINCT (payload->>'candidate_id')::uuid AS candidate_id, payload->>'sha256' AS sha256"
        " FROM events WHERE event_type = 'DocumentUploaded' AND payload->>'sha256' IN ("
        " SELECT payload->>'sha256' FROM events"
        " WHERE event_type = 'DocumentUploaded' AND payload->>'candidate_id' = $1::text)",
        str(candidate_id),
    )
    return [(row["candidate_id"], row["sha256"]) for row in rows]


class PgDocumentsFacts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def documents_deadline(self, academy: str, session: int) -> datetime | None:
        return await documents_deadline(self.pool, academy, session)

    async def contact(self, candidate_id: UUID) -> Contact | None:
        row = await self.pool.fetchrow(
            "SELECT email, first_names, last_name FROM known_accounts WHERE account_id = $1 AND email <> ''",
            candidate_id,
        )
        return Contact(row["email"], row["first_names"], row["last_name"]) if row else None

    async def blob_references(self, candidate_id: UUID) -> list[tuple[UUID, str]]:
        return await blob_references(self.pool, candidate_id)

    async def erase_if_unshared(self, candidate_id: UUID, sha256: str, erase: Callable[[str], Awaitable[bool]]) -> bool:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(BLOB_LOCK, sha256)
            shared = await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM events WHERE event_type = 'DocumentUploaded'"
                " AND payload->>'sha256' = $1 AND payload->>'candidate_id' <> $2::text)",
                sha256,
                str(candidate_id),
            )
            return False if shared else await erase(sha256)


@dataclass
class InMemoryDocumentsFacts:
    deadlines: dict[tuple[str, int], datetime | None] = field(default_factory=dict)
    contacts: dict[UUID, Contact] = field(default_factory=dict)
    uploads: list[tuple[UUID, str]] = field(default_factory=list)  # (candidate, sha256) of each upload

    async def documents_deadline(self, academy: str, session: int) -> datetime | None:
        return self.deadlines.get((academy, session))

    async def contact(self, candidate_id: UUID) -> Contact | None:
        return self.contacts.get(candidate_id)

    async def blob_references(self, candidate_id: UUID) -> list[tuple[UUID, str]]:
        own = {sha256 for candidate, sha256 in self.uploads if candidate == candidate_id}
        return sorted({(candidate, sha256) for candidate, sha256 in self.uploads if sha256 in own})

    async def erase_if_unshared(self, candidate_id: UUID, sha256: str, erase: Callable[[str], Awaitable[bool]]) -> bool:
        if any(candidate != candidate_id and h == sha256 for candidate, h in self.uploads):
            return False
        return await erase(sha256)
