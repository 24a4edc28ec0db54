"""A candidate's dossier as it stood at a moment, folded from the raw events of their timeline (event
types and payload fields as stored; no service code): account, registrations, documents, outcome.
Unknown event types are ignored, so the fold reads any history, old or new."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.audit.timeline import TimelineEntry


@dataclass
class RegistrationView:
    session: Any = None
    specialty: Any = None
    status: str = "started"
    form: str | None = None
    units: list[str] = field(default_factory=list)
    confirmed: bool = False
    summary_version: int = 0


@dataclass
class DocumentsView:
    required: list[str] = field(default_factory=list)
    uploaded: dict[str, str] = field(default_factory=dict)  # document id -> kind
    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # "kind (reason)"
    completeness: str = "pending"


@dataclass
class DossierState:
    account: str = "none"
    registrations: dict[str, RegistrationView] = field(default_factory=dict)
    documents: dict[str, DocumentsView] = field(default_factory=dict)
    outcome: str | None = None
    events: int = 0


def _names(items: Any) -> list[str]:
    return [str(item.get("kind") or item.get("unit")) if isinstance(item, dict) else str(item) for item in items or ()]


def _registration(state: DossierState, entry: TimelineEntry) -> None:
    p, view = entry.payload, state.registrations.setdefault(entry.stream_id, RegistrationView())
    view.session, view.specialty = p.get("session", view.session), p.get("specialty", view.specialty)
    match entry.event_type:
        case "ExamFormChosen":
            view.form, view.units = p.get("form"), _names(p.get("units"))
        case "RegistrationConfirmed":
            view.form, view.units, view.confirmed, view.status = (
                p.get("form"),
                _names(p.get("units")),
                True,
                "confirmed",
            )
        case "SummaryIssued":
            view.summary_version = int(p.get("version", view.summary_version + 1))
        case "RegistrationSetNotRegistered":
            view.status = f"not registered ({p.get('reason', '')})"


def _documents(state: DossierState, entry: TimelineEntry) -> None:
    p, view = entry.payload, state.documents.setdefault(entry.stream_id, DocumentsView())
    match entry.event_type:
        case "RequirementsRecorded":
            view.required = _names(p.get("requirements"))
        case "DocumentUploaded":
            view.uploaded[str(p.get("document_id"))] = str(p.get("kind"))
        case "DocumentAccepted":
            view.accepted.append(str(p.get("kind")))
        case "DocumentRejected":
            view.rejected.append(f"{p.get('kind')} ({p.get('reason', '')})")
        case "DossierComplete":
            view.completeness = "complete"
        case "DossierIncomplete":
            view.completeness = "incomplete (missing: " + (",".join(_names(p.get("missing"))) or "-") + ")"
        case "DossierRejected":
            view.completeness = f"rejected ({p.get('reason', '')})"


REGISTRATION_TYPES = {"RegistrationStarted", "CategoryChanged", "ExamFormChosen", "RegistrationConfirmed"}
REGISTRATION_TYPES |= {"SummaryIssued", "RegistrationSetNotRegistered"}
DOCUMENT_TYPES = {"RequirementsRecorded", "DocumentUploaded", "DocumentAccepted", "DocumentRejected"}
DOCUMENT_TYPES |= {"DossierComplete", "DossierIncomplete", "DossierRejected"}
ACCOUNT_STATUS = {
    "AccountCreated": "created",
    "ActivationLinkSent": "activation link sent",
    "AccountActivated": "active",
}


def fold(entries: Iterable[TimelineEntry]) -> DossierState:
    state = DossierState()
    for entry in entries:
        state.events += 1
        if entry.event_type in ACCOUNT_STATUS:
            state.account = ACCOUNT_STATUS[entry.event_type]
        elif entry.event_type in REGISTRATION_TYPES:
            _registration(state, entry)
        elif entry.event_type in DOCUMENT_TYPES:
            _documents(state, entry)
        elif entry.event_type in ("DeliberationCompleted", "FinalResultPublished"):
            average = entry.payload.get("final_average") or entry.payload.get("average")
            final = "final" if entry.event_type == "FinalResultPublished" else "deliberated"
            state.outcome = f"{entry.payload.get('outcome')} ({final}, average {average or '-'})"
    return state


def render(state: DossierState) -> list[str]:
    """The folded dossier, a few lines for a terminal."""
    lines = [f"account: {state.account}"]
    for stream, r in state.registrations.items():
        units = ",".join(r.units) or "-"
        lines.append(
            f"registration {stream}: {r.status}, session {r.session} {r.specialty}, form {r.form or '-'}"
            f" units {units}, confirmed {'yes' if r.confirmed else 'no'}, summary v{r.summary_version}"
        )
    for stream, d in state.documents.items():
        lines.append(
            f"documents {stream}: required {','.join(d.required) or '-'};"
            f" uploaded {','.join(sorted(d.uploaded.values())) or '-'}; accepted {','.join(d.accepted) or '-'};"
            f" rejected {'; '.join(d.rejected) or '-'}; {d.completeness}"
        )
    lines.append(f"outcome: {state.outcome or 'none yet'}")
    return lines
