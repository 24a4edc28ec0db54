"""A candidate's commands and events across the four services, about 30 in all: the account (3), the
registration (9 or so), the documents dossier (8 or so) and the results (12 or so, the deliberation
computed by the real pure function)."""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from decimal import Decimal

from bench.profiles import SESSION, Command, Profile, Writer, new_uuid
from services.documents.streams import dossier_stream
from services.results.deliberation import Outcome, Source, deliberate, two_decimals
from services.results.streams import results_stream
from shared.auth import Role
from shared.contracts import documents as doc
from shared.contracts import registration as reg
from shared.contracts import results as res
from shared.contracts.accounts import AccountActivated, AccountCreated, ActivationLinkSent
from shared.events import DomainEvent
from shared.reference import ExamForm, Regulation

LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau")
FIRST_NAMES = ("Léa", "Hugo", "Chloé", "Lucas", "Emma", "Nathan", "Inès", "Louis", "Manon", "Jules")
DOCUMENT_KINDS = ("identity", "diploma", "attestation", "amex")


def commands_of(rng: random.Random, who: Profile, regulation: Regulation) -> list[Command]:
    w = Writer(rng, who)
    _account(w)
    required = _registration(w, regulation)
    _documents(w, required)
    _results(w, regulation)
    return w.commands


def _account(w: Writer) -> None:
    who, stream = w.who, f"account-{w.who.candidate_id}"
    created = AccountCreated(
        account_id=who.candidate_id,
        role=Role.CANDIDATE,
        last_name=w.rng.choice(LAST_NAMES),
        first_names=w.rng.choice(FIRST_NAMES),
        birth_date=date(1990 + w.rng.randrange(17), 1 + w.rng.randrange(12), 1 + w.rng.randrange(28)),
        email=f"{who.candidate_id.hex[:16]}@example.fr",
        academy=who.academy,
    )
    digest = hashlib.sha256(who.candidate_id.bytes).hexdigest()
    sent = ActivationLinkSent(token_digest=digest, sent_at=w.now, expires_at=w.now + timedelta(hours=48))
    w.add("accounts", stream, "anonymous", created, sent)
    w.add(
        "accounts",
        stream,
        f"candidate:{who.candidate_id}",
        AccountActivated(account_id=who.candidate_id, academy=who.academy, activated_at=w.now),
    )


def _registration(w: Writer, regulation: Regulation) -> list[reg.RequiredDocument]:
    who, stream, me = w.who, w.who.registration_id, f"candidate:{w.who.candidate_id}"
    first = who.category if w.rng.random() > 0.1 else reg.Category.INDIVIDUAL
    w.add(
        "registration",
        stream,
        me,
        reg.RegistrationStarted(
            registration_id=stream,
            candidate_id=who.candidate_id,
            academy=who.academy,
            session=SESSION,
            specialty=who.specialty,
            category=first,
        ),
    )
    if first is not who.category:
        w.add("registration", stream, me, reg.CategoryChanged(category=who.category))
    sat = tuple(code for code in (u.code for u in regulation.units) if code in who.results)
    units = sat if who.form is ExamForm.PROGRESSIVE else ()
    w.add("registration", stream, me, reg.ExamFormChosen(form=who.form, units=units))
    w.add("registration", stream, me, reg.LanguageChosen(language="anglais", teaching_followed=True, rare=False))
    w.add("registration", stream, me, reg.OptionalUnitsChosen(units=who.optional_units))
    for code, carried in who.carried.items():
        w.add(
            "registration",
            stream,
            me,
            reg.BenefitDeclared(
                unit=code,
                grade=Decimal(carried.grade),
                session_obtained=carried.session,
                origin=reg.BenefitOrigin.DECLARED,
            ),
        )
    for code in who.dispensed:
        declared = reg.ExemptionDeclared(unit=code, ground=reg.ExemptionGround.DIPLOMA, detail="Licence")
        w.add("registration", stream, me, declared)
    w.add("registration", stream, me, reg.SituationDeclared(training_shortened=False, r408_exemption=False))
    if who.handicap:
        w.add(
            "registration",
            stream,
            me,
            reg.HandicapDeclared(
                handicap=True, amex_reference=f"AMEX-{w.rng.randrange(10**6)}", existing_decision=False
            ),
        )
    kinds = ["identity", *(["diploma"] if who.dispensed else []), "attestation", *(["amex"] if who.handicap else [])]
    required = [reg.RequiredDocument(kind=k, label=k.title(), rule="R-19") for k in kinds]
    w.add(
        "registration",
        stream,
        me,
        reg.RegistrationConfirmed(
            registration_id=stream,
            candidate_id=who.candidate_id,
            academy=who.academy,
            session=SESSION,
            specialty=who.specialty,
            category=who.category,
            form=who.form,
            units=tuple(c for c in sat if c not in who.carried),
            optional_units=who.optional_units,
            language="anglais",
            exempted_units=who.dispensed,
            benefit_units=tuple(who.carried),
            handicap=who.handicap,
            benefits=tuple(
                reg.CarriedGrade(unit=c, grade=Decimal(b.grade), session_obtained=b.session)
                for c, b in who.carried.items()
            ),
        ),
        reg.SummaryIssued(version=1, issued_at=w.now),
        reg.DocumentsRequired(
            registration_id=stream,
            candidate_id=who.candidate_id,
            academy=who.academy,
            session=SESSION,
            specialty=who.specialty,
            documents=tuple(required),
            deadline=w.now + timedelta(days=30),
        ),
    )
    return required


def _documents(w: Writer, required: list[reg.RequiredDocument]) -> None:
    who = w.who
    stream = dossier_stream(who.candidate_id, SESSION, who.specialty)
    me, staff = f"candidate:{who.candidate_id}", f"staff:gestion-{who.academy}"
    w.add(
        "documents",
        stream,
        "registration",
        doc.RequirementsRecorded(
            registration_id=who.registration_id,
            candidate_id=who.candidate_id,
            academy=who.academy,
            session=SESSION,
            specialty=who.specialty,
            requirements=tuple(doc.Requirement(kind=r.kind, label=r.label, rule=r.rule) for r in required),
            deadline=w.now + timedelta(days=30),
            source_event_id=new_uuid(w.rng),
        ),
    )
    for need in required:
        for attempt in range(2):
            document = new_uuid(w.rng)
            w.add(
                "documents",
                stream,
                me,
                doc.DocumentUploaded(
                    document_id=document,
                    candidate_id=who.candidate_id,
                    academy=who.academy,
                    kind=need.kind,
                    sha256=hashlib.sha256(document.bytes).hexdigest(),
                    size=w.rng.randrange(40_000, 4_000_000),
                    content_type="application/pdf",
                    label=f"{need.kind}-{attempt}.pdf",
                    uploaded_at=w.now,
                ),
            )
            if attempt == 0 and w.rng.random() < 0.12:
                w.add(
                    "documents",
                    stream,
                    staff,
                    doc.DocumentRejected(document_id=document, kind=need.kind, reason="illisible"),
                )
                continue
            w.add("documents", stream, staff, doc.DocumentAccepted(document_id=document, kind=need.kind))
            break
    w.add(
        "documents",
        stream,
        staff,
        doc.DossierComplete(candidate_id=who.candidate_id, session=SESSION, specialty=who.specialty),
    )


def _results(w: Writer, regulation: Regulation) -> None:
    who, staff = w.who, f"staff:jury-{w.who.academy}"
    stream = results_stream(who.candidate_id, SESSION, who.specialty)
    w.add(
        "results",
        stream,
        "registration",
        res.RegistrationNoted(
            candidate_id=who.candidate_id,
            academy=who.academy,
            session=SESSION,
            specialty=who.specialty,
            form=who.form.value,
            units=tuple(who.results),
            optional_units=who.optional_units,
            exempted_units=who.dispensed,
            benefits=tuple(
                res.Carried(unit=c, grade=Decimal(b.grade), session_obtained=b.session) for c, b in who.carried.items()
            ),
            source_event_id=new_uuid(w.rng),
        ),
    )
    for code, result in who.results.items():
        if result.grade is not None:
            grade = Decimal(result.grade)
            w.add("results", stream, staff, res.GradesRecorded(unit=code, grade=grade, previous=None, reason=""))
        elif result.absent is not None:
            justified = result.absent.value == "justified"
            w.add(
                "results",
                stream,
                staff,
                res.AbsenceRecorded(unit=code, justified=justified, previous=None, reason="PV de l'épreuve"),
            )
    outcome = deliberate(regulation, who.form, SESSION, who.results)
    units = tuple(
        res.UnitOutcome(
            unit=code,
            retained=None if kept.retained is None else Decimal(two_decimals(kept.retained)),
            source=kept.source.value,
        )
        for code, kept in outcome.units.items()
    )
    average = None if outcome.average is None else Decimal(two_decimals(outcome.average))
    professional = None if outcome.professional_average is None else Decimal(two_decimals(outcome.professional_average))
    w.add(
        "results",
        stream,
        staff,
        res.DeliberationCompleted(
            candidate_id=who.candidate_id,
            session=SESSION,
            specialty=who.specialty,
            outcome=outcome.outcome.value,
            average=average,
            professional_average=professional,
            units=units,
            regulation_session=regulation.first_session or SESSION,
        ),
    )
    if outcome.outcome in (Outcome.CONTROLE, Outcome.INCOMPLET):
        return
    events: list[DomainEvent] = [
        res.FinalResultPublished(
            candidate_id=who.candidate_id,
            academy=who.academy,
            session=SESSION,
            specialty=who.specialty,
            outcome=outcome.outcome.value,
            average=average,
            final_average=None,
            units=units,
        )
    ]
    events += [
        res.BenefitGranted(
            candidate_id=who.candidate_id,
            specialty=who.specialty,
            unit=b.unit,
            grade=b.grade,
            session=SESSION,
            valid_through_session=b.valid_through_session,
        )
        for b in outcome.benefits
    ]
    w.add("results", stream, staff, *events)
    assert all(kept.source is not Source.CONTROLE for kept in outcome.units.values())
