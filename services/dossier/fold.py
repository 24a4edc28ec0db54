"""A dossier's summary, derived from the parts (pure).

`combine` builds the summary of one candidate and session (a `DossierSummary`, with a
`SpecialtyStatus` per specialty) from the folded parts of its streams; it reads the parts in a
fixed order (by source and specialty, never by arrival), so the summary is the same whatever the
order in which the topics delivered. `fold` is the whole read model as a function: any
interleaving of the per-topic event sequences (each stream in order, duplicates allowed) gives
the same summaries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import UUID

from services.dossier.keys import Source, StreamKey, key_of
from services.dossier.parts import (
    PART_OF,
    AccountPart,
    AnyPart,
    Carried,
    DocumentsPart,
    Frozen,
    Notification,
    RegistrationPart,
    ResultsPart,
    evolve,
)
from shared.events import Envelope

WAITING = "waiting_registration"
REGISTERED = "registered"
CONFIRMED = "confirmed"
INCOMPLETE = "documents_incomplete"
COMPLETE = "documents_complete"
PUBLISHED = "results_published"
REJECTED = "rejected"
NOT_REGISTERED = "not_registered"
PROGRESS = (WAITING, REGISTERED, CONFIRMED, INCOMPLETE, COMPLETE, PUBLISHED)
STATES = (*PROGRESS, REJECTED, NOT_REGISTERED)


class SpecialtyStatus(Frozen):
    specialty: str
    state: str
    registration_id: str = ""
    category: str = ""
    form: str = ""
    units: tuple[str, ...] = ()
    optional_units: tuple[str, ...] = ()
    language: str | None = None
    exempted_units: tuple[str, ...] = ()
    benefit_units: tuple[str, ...] = ()
    confirmed: bool = False
    summary_versions: tuple[int, ...] = ()
    not_registered_reason: str = ""
    required: tuple[str, ...] = ()  # kinds
    uploaded: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()  # kinds whose latest upload was rejected
    missing: tuple[str, ...] = ()  # required kinds without an accepted document
    complete: bool = False
    dossier_rejected_reason: str = ""
    deadline: datetime | None = None
    marks: tuple[tuple[str, str], ...] = ()  # (unit, mark), by unit
    outcome: str = ""
    average: str = ""
    final: bool = False
    final_average: str = ""
    carried: tuple[Carried, ...] = ()


class DossierSummary(Frozen):
    candidate_id: UUID
    session: int
    academy: str
    state: str
    account_status: str
    specialties: tuple[SpecialtyStatus, ...]
    notifications: tuple[Notification, ...]
    documents_deadline: datetime | None  # the earliest deadline of a specialty whose documents are incomplete

    def incomplete_after(self, now: datetime) -> bool:
        return self.documents_deadline is not None and self.documents_deadline < now


def specialty_state(
    registration: RegistrationPart | None, documents: DocumentsPart | None, results: ResultsPart | None
) -> str:
    if results is not None and results.final:
        return PUBLISHED
    if documents is not None and documents.rejected is not None:
        return REJECTED
    if registration is None or not registration.started:
        return WAITING
    if registration.not_registered is not None:
        return NOT_REGISTERED
    if not registration.confirmed:
        return REGISTERED
    required = _required(registration, documents)
    if required is None:
        return CONFIRMED
    if (documents is not None and documents.complete) or not required:
        return COMPLETE
    return INCOMPLETE


def dossier_state(states: Iterable[str]) -> str:
    """A rejection shows first; else the least advanced of the live specialties (the one to act on)."""
    found = set(states)
    if REJECTED in found:
        return REJECTED
    live = [s for s in PROGRESS if s in found]
    return live[0] if live else NOT_REGISTERED


def _required(registration: RegistrationPart | None, documents: DocumentsPart | None) -> tuple[str, ...] | None:
    """The documents service's record of the requirements, else the registration's own."""
    for part in (documents, registration):
        if part is not None and part.required is not None:
            return tuple(dict.fromkeys(r.kind for r in part.required))
    return None


def _specialty(
    specialty: str, reg: RegistrationPart | None, docs: DocumentsPart | None, res: ResultsPart | None
) -> SpecialtyStatus:
    status = SpecialtyStatus(specialty=specialty, state=specialty_state(reg, docs, res))
    fields: dict[str, object] = {}
    if reg is not None:
        names = ("registration_id", "category", "form", "units", "optional_units", "language", "exempted_units")
        fields.update({name: getattr(reg, name) for name in names})
        fields.update(
            benefit_units=reg.benefit_units,
            confirmed=reg.confirmed,
            summary_versions=reg.summary_versions,
            not_registered_reason=reg.not_registered or "",
        )
    required = _required(reg, docs) or ()
    deadline = next((p.deadline for p in (reg, docs) if p is not None and p.deadline is not None), None)
    fields.update(required=required, deadline=deadline, missing=required)
    if docs is not None:
        latest = {d.kind: d for d in docs.documents}  # the last upload of each kind
        accepted = tuple(sorted({d.kind for d in docs.documents if d.review == "accepted"}))
        fields.update(
            uploaded=tuple(sorted(latest)),
            accepted=accepted,
            rejected=tuple(sorted(k for k, d in latest.items() if d.review == "rejected")),
            missing=tuple(k for k in required if k not in accepted),
            complete=docs.complete,
            dossier_rejected_reason=docs.rejected or "",
        )
    if res is not None:
        fields.update(
            marks=tuple(sorted(res.marks.items())),
            outcome=res.outcome or "",
            average=res.average or "",
            final=res.final,
            final_average=res.final_average or "",
            carried=tuple(sorted(res.carried, key=lambda c: c.unit)),
        )
    return status.model_copy(update=fields)


def combine(
    candidate_id: UUID, session: int, account: AccountPart | None, parts: Mapping[StreamKey, AnyPart]
) -> DossierSummary:
    """The summary of one candidate and session from its parts (those of other keys are ignored)."""
    mine = {k: p for k, p in parts.items() if k.candidate_id == candidate_id and k.session == session}
    specialties = sorted({k.specialty for k in mine if k.specialty is not None})

    def part(source: Source, specialty: str) -> AnyPart | None:
        return mine.get(StreamKey(source, candidate_id, session, specialty))

    statuses: list[SpecialtyStatus] = []
    notes: list[Notification] = []
    academies: list[str] = []
    for name in specialties:
        reg, docs, res = (part(s, name) for s in (Source.REGISTRATION, Source.DOCUMENTS, Source.RESULTS))
        assert reg is None or isinstance(reg, RegistrationPart)
        assert docs is None or isinstance(docs, DocumentsPart)
        assert res is None or isinstance(res, ResultsPart)
        statuses.append(_specialty(name, reg, docs, res))
        notes.extend(n.model_copy(update={"specialty": name}) for n in (docs.notifications if docs else ()))
        academies.extend(p.academy for p in (reg, docs, res) if p is not None and p.academy)
    deadlines = [s.deadline for s in statuses if s.state == INCOMPLETE and s.deadline is not None]
    return DossierSummary(
        candidate_id=candidate_id,
        session=session,
        academy=next(iter(academies), account.academy if account is not None else ""),
        state=dossier_state(s.state for s in statuses),
        account_status=account.status if account is not None else "unknown",
        specialties=tuple(statuses),
        notifications=tuple(sorted(notes, key=lambda n: (n.at, n.specialty, n.seq))),
        documents_deadline=min(deadlines, default=None),
    )


def fold_parts(envelopes: Iterable[Envelope]) -> tuple[dict[UUID, AccountPart], dict[StreamKey, AnyPart]]:
    """Every stream's part after `envelopes`: the accounts by candidate, the other parts by their
    stream's key (a stream whose events have not yet said which dossier it belongs to is left out;
    events of no candidate stream are skipped)."""
    keys: dict[str, StreamKey] = {}  # by stream id, an opaque key
    accounts: dict[UUID, AccountPart] = {}
    parts: dict[str, AnyPart] = {}
    for envelope in envelopes:
        said = key_of(envelope)
        if said is None:
            continue
        key = keys[envelope.stream_id] = said.learned(keys.get(envelope.stream_id))
        if key.source is Source.ACCOUNT:
            if key.candidate_id is not None:
                account = evolve(accounts.get(key.candidate_id) or AccountPart(), envelope)
                assert isinstance(account, AccountPart)
                accounts[key.candidate_id] = account
        else:
            parts[envelope.stream_id] = evolve(parts.get(envelope.stream_id) or PART_OF[key.source](), envelope)
    return accounts, {keys[stream]: part for stream, part in parts.items() if keys[stream].complete}


def fold(envelopes: Iterable[Envelope]) -> dict[tuple[UUID, int], DossierSummary]:
    """The summary of every (candidate, session) that has at least one registration, documents or
    results event; an account alone makes no dossier (it has no session)."""
    accounts, parts = fold_parts(envelopes)
    keys = sorted({(k.candidate_id, k.session) for k in parts if k.candidate_id and k.session is not None})
    return {(c, s): combine(c, s, accounts.get(c), parts) for c, s in keys}
