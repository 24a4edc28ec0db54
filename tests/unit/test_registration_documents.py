"""Required documents (R-19 to R-23, R-25, R-12 rare language, R-17 exemption proofs, R-18 deadline): what
DocumentsRequired lists on confirmation, per category and situation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.registration.commands import (
    ChooseExamForm,
    ChooseLanguage,
    Command,
    ConfirmRegistration,
    DeclareBenefit,
    DeclareExemption,
    DeclareHandicap,
    DeclareSituation,
    RenounceBenefit,
)
from services.registration.domain import Facts, decide, required_documents
from shared.contracts.registration import BenefitDeclared, BenefitOrigin, Category, DocumentsRequired, ExemptionGround
from shared.errors import InvalidInput
from shared.events import DomainEvent
from shared.reference import ExamForm, Regulation
from tests.unit.registration_fixtures import (
    DOCUMENTS_DEADLINE,
    facts,
    given,
    ready,
    regulation,
    run,
    started,
)

ALWAYS = ["signed_summary", "identity"]


def r408_regulation() -> Regulation:
    return regulation().model_copy(update={"requires_r408": True})


def r408_facts() -> Facts:
    return facts().model_copy(update={"regulation": r408_regulation()})


def documents_after(
    category: Category, *commands: Command, history: list[DomainEvent] | None = None, at: Facts | None = None
) -> DocumentsRequired:
    """Confirm a ready registration of `category` after `commands`; return its DocumentsRequired."""
    at = at or facts()
    events = run([*ready(category), *(history or [])], *commands, ConfirmRegistration(), with_facts=at)
    required = [e for e in events if isinstance(e, DocumentsRequired)]
    assert len(required) == 1
    return required[0]


def kinds(required: DocumentsRequired) -> list[str]:
    return [document.kind for document in required.documents]


@pytest.mark.parametrize(
    ("category", "specific"),
    [
        (Category.INDIVIDUAL, ["training_certificate"]),
        (Category.DISTANCE, ["school_certificate_year1", "school_certificate_year2"]),
        (Category.PROFESSIONAL_EXPERIENCE, ["work_certificates"]),
        (Category.REPEATER, ["score_sheets"]),
    ],
)
def test_r19_to_r22_documents_per_category(category: Category, specific: list[str]) -> None:
    assert kinds(documents_after(category)) == ALWAYS + specific


def test_r19_every_document_cites_its_rule_and_has_a_french_label() -> None:
    for document in documents_after(Category.REPEATER).documents:
        assert document.rule.startswith("R-")
        assert document.label


def test_r18_documents_required_carries_the_documents_deadline() -> None:
    required = documents_after(Category.INDIVIDUAL)
    assert required.deadline == DOCUMENTS_DEADLINE
    assert (required.registration_id, required.session, required.specialty) == (
        started().registration_id,
        2026,
        "SIO-SISR",
    )


def test_r20_distance_with_shortened_training_adds_the_positionnement_decision() -> None:
    required = documents_after(Category.DISTANCE, DeclareSituation(training_shortened=True))
    assert "positionnement_decision" in kinds(required)
    assert "positionnement_decision" not in kinds(documents_after(Category.DISTANCE))


def test_r21_professional_experience_with_a_vae_exemption_adds_the_vae_attestation() -> None:
    vae = DeclareExemption(unit="U5", ground=ExemptionGround.VAE, detail="décision VAE 2025")
    required = documents_after(Category.PROFESSIONAL_EXPERIENCE, vae)
    assert kinds(required) == [*ALWAYS, "work_certificates", "vae_attestation"]


def test_r17_a_diploma_exemption_adds_its_proof() -> None:
    diploma = DeclareExemption(unit="U1", ground=ExemptionGround.DIPLOMA, detail="DUT GEA 2019")
    assert "exemption_proof" in kinds(documents_after(Category.INDIVIDUAL, diploma))


def test_r22_a_declared_benefice_needs_score_sheets_for_a_non_repeater() -> None:
    required = documents_after(Category.INDIVIDUAL, DeclareBenefit(unit="U3", grade=Decimal(12), session_obtained=2024))
    assert "score_sheets" in kinds(required)


def test_r22_no_score_sheets_for_a_renounced_or_a_granted_benefice() -> None:
    renounced = documents_after(
        Category.INDIVIDUAL,
        DeclareBenefit(unit="U3", grade=Decimal(12), session_obtained=2024),
        RenounceBenefit(unit="U3", confirm=True),
    )
    assert "score_sheets" not in kinds(renounced)
    granted = BenefitDeclared(unit="U3", grade=Decimal(12), session_obtained=2024, origin=BenefitOrigin.GRANTED)
    assert "score_sheets" not in kinds(documents_after(Category.INDIVIDUAL, history=[granted]))


def test_r22_repeater_score_sheets_are_listed_once_with_declared_benefices() -> None:
    required = documents_after(Category.REPEATER, DeclareBenefit(unit="U3", grade=Decimal(12), session_obtained=2024))
    assert kinds(required).count("score_sheets") == 1


@pytest.mark.parametrize("category", list(Category))
def test_r23_an_r408_specialty_requires_the_r408_attestation(category: Category) -> None:
    required = documents_after(category, at=r408_facts())
    assert "r408_attestation" in kinds(required)
    assert "rqth" not in kinds(required)


def test_r23_r408_exemption_requires_rqth_and_medical_certificate_instead() -> None:
    required = documents_after(Category.INDIVIDUAL, DeclareSituation(r408_exemption=True), at=r408_facts())
    assert "r408_attestation" not in kinds(required)
    assert kinds(required)[-2:] == ["rqth", "medical_certificate"]


def test_r23_no_r408_document_for_a_specialty_that_does_not_ask() -> None:
    assert not {"r408_attestation", "rqth", "medical_certificate"} & set(kinds(documents_after(Category.DISTANCE)))


def test_r23_r408_exemption_on_a_specialty_without_r408_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide(DeclareSituation(r408_exemption=True), given(*ready()), facts())
    assert refused.value.field == "r408_exemption"


def test_r25_handicap_with_an_existing_decision_adds_the_amex_decision() -> None:
    oui = DeclareHandicap(handicap=True, amex_reference="AMEX-2026-0042", existing_decision=True)
    assert kinds(documents_after(Category.INDIVIDUAL, oui))[-1] == "amex_decision"
    without = DeclareHandicap(handicap=True, amex_reference="AMEX-2026-0042")
    assert "amex_decision" not in kinds(documents_after(Category.INDIVIDUAL, without))


def test_r12_a_rare_language_adds_the_language_training_attestation() -> None:
    mco = facts(specialty="MCO")
    history = run(
        [started(specialty="MCO")],
        ChooseExamForm(form=ExamForm.GLOBALE),
        ChooseLanguage(language="arabe", teaching_followed=True),
        with_facts=mco,
    )
    required = [e for e in decide(ConfirmRegistration(), given(*history), mco) if isinstance(e, DocumentsRequired)]
    attestation = [d for d in required[0].documents if d.kind == "language_training_attestation"]
    assert len(attestation) == 1
    assert "arabe" in attestation[0].label
    assert attestation[0].rule == "R-12"


def test_r12_a_common_language_needs_no_attestation() -> None:
    assert "language_training_attestation" not in kinds(documents_after(Category.INDIVIDUAL))


def test_r19_required_documents_is_a_pure_function_of_the_state() -> None:
    state = given(*ready(Category.DISTANCE))
    assert required_documents(state, requires_r408=False) == required_documents(state, requires_r408=False)
    assert [d.kind for d in required_documents(state, requires_r408=True)][-1] == "r408_attestation"
