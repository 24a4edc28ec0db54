"""The registration's state, folded from its events (evolve is pure)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.contracts.registration import (
    BenefitDeclared,
    BenefitOrigin,
    BenefitRenounced,
    Category,
    CategoryChanged,
    DocumentsRequired,
    ExamFormChosen,
    ExemptionDeclared,
    ExemptionGround,
    ExemptionWithdrawn,
    HandicapDeclared,
    LanguageChosen,
    OptionalUnitsChosen,
    RegistrationConfirmed,
    RegistrationSetNotRegistered,
    RegistrationStarted,
    RequiredDocument,
    SituationDeclared,
    SummaryIssued,
)
from shared.events import DomainEvent
from shared.reference.forms import ExamForm


class Benefit(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: str
    grade: Decimal
    session_obtained: int
    origin: BenefitOrigin
    renounced: bool = False


class Exemption(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: str
    ground: ExemptionGround
    detail: str


class RegistrationState(BaseModel):
    model_config = ConfigDict(frozen=True)

    registration_id: str | None = None
    candidate_id: UUID | None = None
    academy: str = ""
    session: int = 0
    specialty: str = ""
    category: Category | None = None
    form: ExamForm | None = None
    chosen_units: tuple[str, ...] = ()
    language: str | None = None
    rare_language: bool = False
    optional_units: tuple[str, ...] = ()
    benefits: dict[str, Benefit] = {}
    exemptions: dict[str, Exemption] = {}
    training_shortened: bool = False
    r408_exemption: bool = False
    handicap: bool | None = None
    amex_reference: str | None = None
    existing_decision: bool = False
    confirmed: bool = False
    summary_version: int = 0
    required_documents: tuple[RequiredDocument, ...] | None = None
    not_registered: bool = False

    @property
    def exists(self) -> bool:
        return self.registration_id is not None

    def kept_benefits(self) -> dict[str, Benefit]:
        return {code: b for code, b in self.benefits.items() if not b.renounced}


INITIAL = RegistrationState()


def evolve(state: RegistrationState, event: DomainEvent) -> RegistrationState:
    match event:
        case RegistrationStarted():
            return state.model_copy(
                update={
                    "registration_id": event.registration_id,
                    "candidate_id": event.candidate_id,
                    "academy": event.academy,
                    "session": event.session,
                    "specialty": event.specialty,
                    "category": event.category,
                }
            )
        case CategoryChanged():
            return state.model_copy(update={"category": event.category})
        case ExamFormChosen():
            return state.model_copy(update={"form": event.form, "chosen_units": event.units})
        case LanguageChosen():
            return state.model_copy(update={"language": event.language, "rare_language": event.rare})
        case OptionalUnitsChosen():
            return state.model_copy(update={"optional_units": event.units})
        case BenefitDeclared():
            benefit = Benefit(
                unit=event.unit,
                grade=event.grade,
                session_obtained=event.session_obtained,
                origin=event.origin,
            )
            return state.model_copy(update={"benefits": {**state.benefits, event.unit: benefit}})
        case BenefitRenounced():
            renounced = state.benefits[event.unit].model_copy(update={"renounced": True})
            return state.model_copy(update={"benefits": {**state.benefits, event.unit: renounced}})
        case ExemptionDeclared():
            exemption = Exemption(unit=event.unit, ground=event.ground, detail=event.detail)
            return state.model_copy(update={"exemptions": {**state.exemptions, event.unit: exemption}})
        case ExemptionWithdrawn():
            return state.model_copy(
                update={"exemptions": {k: v for k, v in state.exemptions.items() if k != event.unit}}
            )
        case SituationDeclared():
            return state.model_copy(
                update={
                    "training_shortened": event.training_shortened,
                    "r408_exemption": event.r408_exemption,
                }
            )
        case HandicapDeclared():
            return state.model_copy(
                update={
                    "handicap": event.handicap,
                    "amex_reference": event.amex_reference,
                    "existing_decision": event.existing_decision,
                }
            )
        case RegistrationConfirmed():
            return state.model_copy(update={"confirmed": True})
        case SummaryIssued():
            return state.model_copy(update={"summary_version": event.version})
        case DocumentsRequired():
            return state.model_copy(update={"required_documents": event.documents})
        case RegistrationSetNotRegistered():
            return state.model_copy(update={"not_registered": True})
    return state
