"""Each source stream's contribution to a dossier, folded on its own (pure).

A dossier (one candidate, one session) gathers streams of four topics: the candidate's account,
and per specialty a registration stream, the documents service's stream and a results stream.
Each stream's events arrive in order (Kafka key = candidate), but the topics interleave
arbitrarily (DESIGN rule 6), so each stream is folded into a part of its own; the dossier's
summary is derived from the parts (services.dossier.fold), whatever arrived first. A part
remembers the last stream version it applied: a redelivered event changes nothing. Which dossier
a part belongs to is not the part's business (services.dossier.keys)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.dossier.keys import Source
from shared.contracts import accounts, documents, registration, results
from shared.events import Envelope


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Stream(Frozen):
    version: int = 0
    academy: str = ""


class AccountPart(Stream):
    role: str = ""
    status: str = "unknown"  # created | link_sent | active
    link_expires_at: datetime | None = None
    activated_at: datetime | None = None


class Required(Frozen):
    """A required document as a part stores it (its kind and label; the rule stays in the events)."""

    kind: str
    label: str


def _required(items: Iterable[registration.RequiredDocument | documents.Requirement]) -> tuple[Required, ...]:
    return tuple(Required(kind=item.kind, label=item.label) for item in items)


class RegistrationPart(Stream):
    started: bool = False
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
    required: tuple[Required, ...] | None = None
    deadline: datetime | None = None
    not_registered: str | None = None  # the reason


class Document(Frozen):
    document_id: UUID
    kind: str
    label: str
    uploaded_at: datetime
    review: str = "pending"  # pending | accepted | rejected
    reason: str = ""


class Notification(Frozen):
    at: datetime
    specialty: str  # "" in a stored part; the summary names the specialty (fold.combine)
    seq: int  # the stream version, for a stable order
    kind: str  # document_rejected | dossier_incomplete | dossier_rejected | dossier_complete
    detail: str


class DocumentsPart(Stream):
    required: tuple[Required, ...] | None = None
    deadline: datetime | None = None
    documents: tuple[Document, ...] = ()  # upload order (a list: jsonb does not keep key order)
    complete: bool = False
    missing: tuple[str, ...] = ()  # as staff declared it (DossierIncomplete)
    wrong: tuple[str, ...] = ()
    rejected: str | None = None  # the reason
    notifications: tuple[Notification, ...] = ()


class Carried(Frozen):
    unit: str
    grade: str
    session: int
    valid_through_session: int


class ResultsPart(Stream):
    marks: dict[str, str] = {}  # unit -> "12.50" | "absent" | "absent (justified)"
    outcome: str | None = None
    average: str | None = None
    final: bool = False
    final_average: str | None = None
    carried: tuple[Carried, ...] = ()


AnyPart = AccountPart | RegistrationPart | DocumentsPart | ResultsPart
PART_OF: dict[Source, type[AnyPart]] = {
    Source.ACCOUNT: AccountPart,
    Source.REGISTRATION: RegistrationPart,
    Source.DOCUMENTS: DocumentsPart,
    Source.RESULTS: ResultsPart,
}


def evolve(part: AnyPart, envelope: Envelope) -> AnyPart:
    """The part after `envelope`; unchanged for an event already applied or of no interest."""
    if envelope.stream_version <= part.version:
        return part
    base = {"version": envelope.stream_version, "academy": part.academy or envelope.academy}
    if isinstance(part, AccountPart):
        return part.model_copy(update={**base, **_account(part, envelope.payload)})
    if isinstance(part, RegistrationPart):
        return part.model_copy(update={**base, **_registration(part, envelope.payload)})
    if isinstance(part, DocumentsPart):
        return part.model_copy(update={**base, **_documents(part, envelope)})
    return part.model_copy(update={**base, **_results(part, envelope.payload)})


def _account(part: AccountPart, event: object) -> dict[str, object]:
    match event:
        case accounts.AccountCreated():
            return {"role": event.role, "status": "created", "academy": event.academy}
        case accounts.ActivationLinkSent():
            return {} if part.status == "active" else {"status": "link_sent", "link_expires_at": event.expires_at}
        case accounts.AccountActivated():
            return {"status": "active", "activated_at": event.activated_at}
    return {}


def _registration(part: RegistrationPart, event: object) -> dict[str, object]:
    match event:
        case registration.RegistrationStarted():
            return {
                "started": True,
                "registration_id": event.registration_id,
                "category": event.category,
                "academy": event.academy,
            }
        case registration.ExamFormChosen():
            return {"form": event.form, "units": event.units}
        case registration.LanguageChosen():
            return {"language": event.language}
        case registration.OptionalUnitsChosen():
            return {"optional_units": event.units}
        case registration.BenefitDeclared():
            return {"benefit_units": tuple(sorted({*part.benefit_units, event.unit}))}
        case registration.BenefitRenounced():
            return {"benefit_units": tuple(u for u in part.benefit_units if u != event.unit)}
        case registration.ExemptionDeclared():
            return {"exempted_units": tuple(sorted({*part.exempted_units, event.unit}))}
        case registration.ExemptionWithdrawn():
            return {"exempted_units": tuple(u for u in part.exempted_units if u != event.unit)}
        case registration.RegistrationConfirmed():
            fields = ("form", "units", "optional_units", "language", "exempted_units", "benefit_units")
            return {"confirmed": True, "not_registered": None, **{f: getattr(event, f) for f in fields}}
        case registration.SummaryIssued():
            return {"summary_versions": (*part.summary_versions, event.version)}
        case registration.DocumentsRequired():
            return {"required": _required(event.documents), "deadline": event.deadline}
        case registration.RegistrationSetNotRegistered():
            return {"not_registered": event.reason, "confirmed": False}
    return {}


def _documents(part: DocumentsPart, envelope: Envelope) -> dict[str, object]:
    event = envelope.payload

    def notified(kind: str, detail: str) -> tuple[Notification, ...]:
        note = Notification(
            at=envelope.occurred_at, specialty="", seq=envelope.stream_version, kind=kind, detail=detail
        )
        return (*part.notifications, note)

    def reviewed(document_id: UUID, review: str, reason: str = "") -> tuple[Document, ...]:
        return tuple(
            d.model_copy(update={"review": review, "reason": reason}) if d.document_id == document_id else d
            for d in part.documents
        )

    match event:
        case documents.RequirementsRecorded():
            return {"required": _required(event.requirements), "deadline": event.deadline}
        case documents.DocumentUploaded():
            document = Document(
                document_id=event.document_id, kind=event.kind, label=event.label, uploaded_at=event.uploaded_at
            )
            return {"documents": (*part.documents, document)}
        case documents.DocumentAccepted():
            return {"documents": reviewed(event.document_id, "accepted")}
        case documents.DocumentRejected():
            return {
                "documents": reviewed(event.document_id, "rejected", event.reason),
                "complete": False,
                "notifications": notified("document_rejected", f"{event.kind}: {event.reason}"),
            }
        case documents.DossierComplete():
            return {"complete": True, "missing": (), "wrong": (), "notifications": notified("dossier_complete", "")}
        case documents.DossierIncomplete():
            detail = "; ".join(x for x in (", ".join(event.missing), ", ".join(event.wrong), event.note) if x)
            return {
                "complete": False,
                "missing": event.missing,
                "wrong": event.wrong,
                "notifications": notified("dossier_incomplete", detail),
            }
        case documents.DossierRejected():
            return {"rejected": event.reason, "notifications": notified("dossier_rejected", event.reason)}
    return {}


def _results(part: ResultsPart, event: object) -> dict[str, object]:
    match event:
        case results.GradesRecorded():
            return {"marks": {**part.marks, event.unit: _money(event.grade)}}
        case results.AbsenceRecorded():
            mark = "absent (justified)" if event.justified else "absent"
            return {"marks": {**part.marks, event.unit: mark}}
        case results.DeliberationCompleted():
            return {"outcome": event.outcome, "average": _money(event.average)}
        case results.FinalResultPublished():
            return {
                "outcome": event.outcome,
                "average": _money(event.average),
                "final_average": _money(event.final_average),
                "final": True,
            }
        case results.BenefitGranted():
            carried = Carried(
                unit=event.unit,
                grade=f"{event.grade:.2f}",
                session=event.session,
                valid_through_session=event.valid_through_session,
            )
            return {"carried": (*(c for c in part.carried if c.unit != event.unit), carried)}
    return {}
