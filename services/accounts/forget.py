"""`archipel privacy forget CANDIDATE` (issue 13 part 7): a candidate's personal data erased by
destroying the data key that sealed it (shared.personal, shared.keystore), recorded as an event.

It runs on the server side, like `accounts bootstrap-staff`, and it is privileged by the database:
only the key store's role (`archipel_keystore`, its password in <secrets>/pg-keystore or
ARCHIPEL_DB_ROLE_PASSWORD_KEYSTORE) may destroy a key; the services' roles may not. The operator
names themself (the event's actor) and gives a reason (the event's).

In order: the account's events are read (its email, while it can still be read), the key is
destroyed (then every event of the candidate, in the store and on the topics, reads with its
personal fields erased), then `CandidateForgotten` is appended to the account's stream, in the same
transaction as the deletion of the clear or derived personal data of the accounts' private tables
(the email's uniqueness row, the credentials, the links, the rate limits' counters). The read
models write the erased values when they apply the event. A command of the account appended first
makes it read the stream again and retry (three times); stopped between the two, it is run again:
the destruction is idempotent, and the event is appended once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

from services.accounts.service import SERVICE
from services.accounts.streams import account_stream
from shared.clock import Clock, system_clock
from shared.contracts.accounts import AccountCreated, CandidateForgotten
from shared.db import Connection
from shared.errors import ConcurrencyError, InvalidInput, NotFound
from shared.events import CommandContext
from shared.eventstore import ExtraWrite
from shared.keystore import destroy_key
from shared.service import open_store
from shared.settings import Settings

MAX_REASON = 1000
MAX_OPERATOR = 64
ATTEMPTS = 3


@dataclass(frozen=True)
class Forgotten:
    candidate_id: UUID
    already: bool  # forgotten before: nothing was appended


def _bounded(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(field, "required")
    if len(value) > limit:
        raise InvalidInput(field, f"at most {limit} characters")
    return value


def erase_private_rows(account_id: UUID, email: str) -> ExtraWrite:
    async def write(connection: Connection) -> None:
        await connection.execute("DELETE FROM account_emails WHERE account_id = $1", account_id)
        for table in ("credentials", "activation_tokens", "reset_tokens", "refresh_tokens"):
            await connection.execute(f"DELETE FROM {table} WHERE account_id = $1", account_id)
        if email:
            digest = "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
            await connection.execute("DELETE FROM rate_limits WHERE key = $1", digest)

    return write


async def forget_candidate(
    settings: Settings, candidate_id: UUID, *, reason: str, operator: str, clock: Clock = system_clock
) -> Forgotten:
    reason = _bounded("reason", reason, MAX_REASON)
    operator = _bounded("operator", operator, MAX_OPERATOR)
    async with open_store(settings, SERVICE, clock, max_size=2) as store:
        stream = account_stream(candidate_id)
        events = await store.read_stream(stream)
        created = next((e for e in events if isinstance(e.payload, AccountCreated)), None)
        if created is None or created.candidate_id != str(candidate_id):
            raise NotFound("no candidate account has this id")
        assert isinstance(created.payload, AccountCreated)
        email = created.payload.email
        await destroy_key(settings, str(candidate_id))
        for attempt in range(1, ATTEMPTS + 1):
            if any(isinstance(e.payload, CandidateForgotten) for e in events):
                return Forgotten(candidate_id, already=True)
            now = clock()
            context = CommandContext(
                academy=created.academy, actor=f"privacy:{operator}", occurred_at=now, candidate_id=str(candidate_id)
            )
            event = CandidateForgotten(candidate_id=candidate_id, reason=reason, forgotten_at=now)
            try:
                await store.append(stream, len(events), [event], context, extra=erase_private_rows(candidate_id, email))
            except ConcurrencyError:  # a command of the account's came first: the key is gone, try again
                if attempt == ATTEMPTS:
                    raise
                events = await store.read_stream(stream)
            else:
                break
    return Forgotten(candidate_id, already=False)
