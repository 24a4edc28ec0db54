"""`archipel privacy forget CANDIDATE` (issue 13 part 7): a candidate's personal data erased by
destroying the data key that sealed it (shared.personal, shared.keystore), recorded as an event.

It runs on the server side, like `accounts bootstrap-staff`, and it is privileged by the database:
only the key store's role (`archipel_keystore`, its password in <secrets>/pg-keystore or
ARCHIPEL_DB_ROLE_PASSWORD_KEYSTORE) may destroy a key; the services' roles may not. The operator
names themself (the event's actor) and gives a reason (the event's).

In order: the command is checked against the account's stream (a candidate's account, the reason
bounded: nothing is destroyed otherwise); the key is destroyed, so that from then on every event of
the candidate, in the store and on the topics, reads with its personal fields erased, including
the events a lagging consumer still has to apply; then `ForgetCandidate` goes through the accounts'
pipeline like any command: `CandidateForgotten` is appended to the account's stream in the same
transaction as the deletion of the accounts' private rows of it (services.accounts.private), and
the read models write the erased values when they apply it. A command of the account appended in
between makes it try again (three times); stopped between the two steps, it is run again: the
destruction is idempotent and the event is appended once (the decider records it once)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError

from services.accounts.commands import ForgetCandidate
from services.accounts.domain import ACCOUNT
from services.accounts.service import SERVICE
from services.accounts.state import NO_FACTS
from services.accounts.streams import account_stream
from shared.clock import Clock, system_clock
from shared.errors import ConcurrencyError, InvalidInput
from shared.keystore import destroy_key
from shared.rpc import invalid_input_from
from shared.service import open_runtime
from shared.settings import Settings

MAX_OPERATOR = 64
ATTEMPTS = 3


@dataclass(frozen=True)
class Forgotten:
    candidate_id: UUID
    already: bool  # forgotten before: nothing was appended


def _operator(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_OPERATOR:
        raise InvalidInput("operator", f"required, at most {MAX_OPERATOR} characters")
    return value


async def forget_candidate(
    settings: Settings, candidate_id: UUID, *, reason: str, operator: str, clock: Clock = system_clock
) -> Forgotten:
    actor = f"privacy:{_operator(operator)}"
    try:
        command = ForgetCandidate(account_id=candidate_id, reason=reason, now=clock())
    except ValidationError as error:
        raise invalid_input_from(error) from None
    async with open_runtime(settings, SERVICE, clock, max_size=2) as runtime:
        pipeline = SERVICE.pipeline(runtime)
        state, _ = await pipeline.load(ACCOUNT, account_stream(candidate_id))
        ACCOUNT.decide(command, state, NO_FACTS)  # NotFound unless a candidate's account: nothing destroyed
        await destroy_key(settings, str(candidate_id))
        attempt = 1
        while True:
            try:
                outcome = await pipeline.execute_as_service(command, actor=actor)
            except ConcurrencyError:  # a command of the account's came first: the key is gone, try again
                if attempt == ATTEMPTS:
                    raise
                attempt += 1
                continue
            return Forgotten(candidate_id, already=not outcome.events)
