"""The documents a dossier needs, computed from category, specialty and choices (R-19 to R-25)."""

from __future__ import annotations

from services.registration.domain.state import RegistrationState
from shared.contracts.registration import BenefitOrigin, Category, ExemptionGround, RequiredDocument


def _doc(kind: str, label: str, rule: str) -> RequiredDocument:
    return RequiredDocument(kind=kind, label=label, rule=rule)


def required_documents(state: RegistrationState, requires_r408: bool) -> tuple[RequiredDocument, ...]:
    documents = [
        _doc("signed_summary", "Récapitulatif d'inscription vérifié, daté et signé", "R-19"),
        _doc("identity", "Pièce d'identité en cours de validité (ou livret de famille)", "R-19"),
    ]
    category = state.category
    if category is Category.INDIVIDUAL:
        documents.append(_doc("training_certificate", "Attestation de formation (préparation au diplôme)", "R-03"))
    if category is Category.DISTANCE:
        documents.append(_doc("school_certificate_year1", "Certificat de scolarité de 1re année", "R-20"))
        documents.append(_doc("school_certificate_year2", "Certificat de scolarité de 2e année", "R-20"))
    if state.training_shortened and category in (Category.DISTANCE, Category.INDIVIDUAL):
        documents.append(_doc("positionnement_decision", "Décision d'aménagement de la durée de formation", "R-20"))
    if category is Category.PROFESSIONAL_EXPERIENCE:
        documents.append(
            _doc("work_certificates", "Certificat(s) de travail : un an d'expérience dans le domaine", "R-21")
        )
    declared = [b for b in state.kept_benefits().values() if b.origin is BenefitOrigin.DECLARED]
    if category is Category.REPEATER or declared:
        documents.append(_doc("score_sheets", "Relevés de notes du BTS (bénéfices valables 5 ans)", "R-22"))
    grounds = {exemption.ground for exemption in state.exemptions.values()}
    if ExemptionGround.DIPLOMA in grounds:
        documents.append(_doc("exemption_proof", "Justificatif de dispense (copie du diplôme)", "R-17"))
    if ExemptionGround.VAE in grounds:
        documents.append(_doc("vae_attestation", "Attestation de dispense au titre de la VAE", "R-21"))
    if requires_r408:
        if state.r408_exemption:
            documents.append(_doc("rqth", "Reconnaissance de la qualité de travailleur handicapé", "R-23"))
            documents.append(
                _doc(
                    "medical_certificate",
                    "Certificat médical d'incompatibilité avec la formation R408",
                    "R-23",
                )
            )
        else:
            documents.append(_doc("r408_attestation", "Attestation R408 (travail en hauteur)", "R-23"))
    if state.rare_language:
        documents.append(
            _doc(
                "language_training_attestation",
                f"Attestation de formation en langue ({state.language})",
                "R-12",
            )
        )
    if state.handicap and state.existing_decision:
        documents.append(_doc("amex_decision", "Notification de la décision d'aménagement d'épreuves", "R-25"))
    return tuple(documents)
