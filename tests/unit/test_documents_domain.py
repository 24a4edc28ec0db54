"""Documents domain, pure decide/evolve: "given events, when command, then events (or this error)".

Rules: R-18 (uploads only before the documents deadline, shown in Europe/Paris), R-19 to R-23 (the
documents required come from the registration: RequirementsRecorded), R-24 (complete when every
required document is accepted; staff declare a dossier incomplete or irregular, or reject it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st
from pydantic import BaseModel

from services.documents.commands import (
    Command,
    DeclareIncomplete,
    RecordRequirements,
    RegisterUpload,
    RejectDossier,
    ReviewDocument,
)
from services.documents.domain import (
    DOSSIER,
    INITIAL,
    KNOWN_KINDS,
    DossierState,
    Facts,
    Review,
    check_upload,
    decide,
    evolve,
)
from shared.contracts.documents import (
    DocumentAccepted,
    DocumentRejected,
    DocumentUploaded,
    DossierComplete,
    DossierIncomplete,
    DossierRejected,
    Requirement,
    RequirementsRecorded,
)
from shared.decider import replay as fold
from shared.errors import ArchipelError, InvalidInput, NotFound, PermissionDenied, RuleViolation
from shared.events import DomainEvent

CANDIDATE = UUID("0d0c0000-0000-4000-8000-000000000001")
SOURCE_1 = UUID("0d0c0000-0000-4000-8000-0000000000a1")
SOURCE_2 = UUID("0d0c0000-0000-4000-8000-0000000000a2")
ACADEMY = "aix-marseille"
SESSION = 2026
SPECIALTY = "MCO"
# session 2026, Aix-Marseille: Friday 28 November 2025 17:00 in Paris (CET, UTC+1).
DEADLINE = datetime(2025, 11, 28, 16, 0, tzinfo=UTC)
BEFORE = DEADLINE - timedelta(days=10)
SHA = "ab" * 32
KEY = {"candidate_id": CANDIDATE, "session": SESSION, "specialty": SPECIALTY}  # the dossier every command names

REQUIRED = ("signed_summary", "identity", "r408_attestation")


def doc_id(kind: str, attempt: int = 1) -> UUID:
    """A stable document id per kind and upload attempt."""
    return uuid5(NAMESPACE_URL, f"archipel-test:{kind}/{attempt}")


def requirement(kind: str) -> Requirement:
    rule = {"signed_summary": "R-19", "identity": "R-19", "r408_attestation": "R-23"}.get(kind, "R-20")
    return Requirement(kind=kind, label=kind.replace("_", " "), rule=rule)


# -- given / when helpers --------------------------------------------------------------------------


def replay(events: list[DomainEvent], state: DossierState = INITIAL) -> DossierState:
    return fold(DOSSIER, events, state)


def given(*events: DomainEvent) -> DossierState:
    """The state after folding `events` from INITIAL with evolve."""
    return replay(list(events))


SPECIALTIES = frozenset({"MCO", "NDRC", "SIO-SISR", "SIO-SLAM"})  # the reference data's (shared.reference)


def facts(now: datetime = BEFORE, deadline: datetime | None = DEADLINE, *, staff: bool = False) -> Facts:
    return Facts(now=now, deadline=deadline, staff=staff, specialties=SPECIALTIES)


STAFF = facts(staff=True)


def when(state: DossierState, command: Command, at: Facts | None = None) -> list[DomainEvent]:
    return decide(command, state, at or facts())


def record(
    kinds: tuple[str, ...] = REQUIRED, *, source: UUID = SOURCE_1, deadline: datetime | None = DEADLINE
) -> RecordRequirements:
    return RecordRequirements(
        registration_id="REG-2026-0001",
        candidate_id=CANDIDATE,
        academy=ACADEMY,
        session=SESSION,
        specialty=SPECIALTY,
        requirements=tuple(requirement(kind) for kind in kinds),
        deadline=deadline,
        source_event_id=source,
    )


def recorded(
    kinds: tuple[str, ...] = REQUIRED, *, source: UUID = SOURCE_1, deadline: datetime | None = DEADLINE
) -> RequirementsRecorded:
    command = record(kinds, source=source, deadline=deadline)
    return RequirementsRecorded(**command.model_dump())


def upload(kind: str, attempt: int = 1) -> RegisterUpload:
    return RegisterUpload(
        **KEY,
        document_id=doc_id(kind, attempt),
        academy=ACADEMY,
        kind=kind,
        sha256=SHA,
        size=1234,
        content_type="application/pdf",
        label=f"{kind}.pdf",
    )


def uploaded(kind: str, attempt: int = 1, at: datetime = BEFORE) -> DocumentUploaded:
    return DocumentUploaded(**upload(kind, attempt).model_dump(exclude={"session", "specialty"}), uploaded_at=at)


def accept(kind: str, attempt: int = 1) -> ReviewDocument:
    return ReviewDocument(**KEY, document_id=doc_id(kind, attempt), accept=True)


def accepted(kind: str, attempt: int = 1) -> DocumentAccepted:
    return DocumentAccepted(document_id=doc_id(kind, attempt), kind=kind)


def reject(kind: str, attempt: int = 1, reason: str = "illisible") -> ReviewDocument:
    return ReviewDocument(**KEY, document_id=doc_id(kind, attempt), accept=False, reason=reason)


def rejected(kind: str, attempt: int = 1, reason: str = "illisible") -> DocumentRejected:
    return DocumentRejected(document_id=doc_id(kind, attempt), kind=kind, reason=reason)


def complete() -> DossierComplete:
    return DossierComplete(candidate_id=CANDIDATE, session=SESSION, specialty=SPECIALTY)


def all_accepted(kinds: tuple[str, ...] = REQUIRED) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    for kind in kinds:
        events += [uploaded(kind), accepted(kind)]
    return events


def violation(state: DossierState, command: Command, at: Facts | None = None) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        when(state, command, at)
    return caught.value


def invalid(state: DossierState, command: Command, at: Facts | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        when(state, command, at)
    return caught.value


# -- the documents deadline --------------------------------------------------------------------


def test_r18_an_upload_before_the_deadline_records_document_uploaded_at_now() -> None:
    events = when(given(recorded()), upload("identity"))
    assert events == [uploaded("identity", at=BEFORE)]


def test_r18_an_upload_one_second_before_the_deadline_is_accepted() -> None:
    last = DEADLINE - timedelta(seconds=1)
    assert when(given(recorded()), upload("identity"), facts(now=last)) == [uploaded("identity", at=last)]


@pytest.mark.parametrize("now", [DEADLINE, DEADLINE + timedelta(seconds=1), DEADLINE + timedelta(days=30)])
def test_r18_an_upload_at_or_after_the_deadline_is_refused_with_the_deadline_in_paris(now: datetime) -> None:
    error = violation(given(recorded()), upload("identity"), facts(now=now))
    assert error.rule == "R-18"
    assert "28/11/2025 17:00" in error.message  # 16:00 UTC shown as 17:00 in Paris
    assert "Europe/Paris" in error.message


def test_r18_the_paris_time_follows_summer_time() -> None:
    summer = datetime(2025, 6, 30, 15, 0, tzinfo=UTC)  # 17:00 CEST
    error = violation(given(recorded(deadline=summer)), upload("identity"), facts(now=summer))
    assert "30/06/2025 17:00" in error.message


def test_r18_without_any_known_deadline_uploads_are_refused() -> None:
    error = violation(given(recorded(deadline=None)), upload("identity"), facts(deadline=None))
    assert error.rule == "R-18"
    assert "no documents deadline" in error.message
    assert violation(INITIAL, upload("identity"), facts(deadline=None)).rule == "R-18"


def test_r18_the_calendar_deadline_is_the_fallback_when_the_dossier_has_none() -> None:
    state = given(recorded(deadline=None))
    assert when(state, upload("identity"), facts(deadline=DEADLINE)) == [uploaded("identity")]
    assert violation(state, upload("identity"), facts(now=DEADLINE, deadline=DEADLINE)).rule == "R-18"


def test_r18_the_dossiers_own_deadline_wins_over_the_fallback() -> None:
    earlier = DEADLINE - timedelta(days=20)
    later = DEADLINE + timedelta(days=20)
    now = DEADLINE + timedelta(days=1)
    # the dossier's deadline is later than the calendar's: still open
    assert when(given(recorded(deadline=later)), upload("identity"), facts(now=now)) == [uploaded("identity", at=now)]
    # the dossier's deadline is earlier than the calendar's: closed, with the dossier's date in the message
    error = violation(given(recorded(deadline=earlier)), upload("identity"), facts(now=BEFORE))
    assert error.rule == "R-18"
    assert "08/11/2025 17:00" in error.message


# -- R-18, issue 13: an upload goes to a dossier the candidate's registration opened ------------------


def upload_to(specialty: str = SPECIALTY, session: int = SESSION, kind: str = "identity") -> RegisterUpload:
    """An upload naming another dossier of the same candidate."""
    return upload(kind).model_copy(update={"specialty": specialty, "session": session})


@pytest.mark.parametrize("specialty", ["XYZ", "mco", "SIO-SISX", "BTS-" + "X" * 56])
def test_r18_an_upload_for_a_specialty_that_does_not_exist_is_refused_on_the_specialty_field(specialty: str) -> None:
    error = invalid(INITIAL, upload_to(specialty))
    assert error.field == "specialty"
    assert "MCO, NDRC, SIO-SISR, SIO-SLAM" in error.reason  # what it may be
    assert specialty not in error.message  # the rule, never the value


def test_r18_an_upload_before_the_registration_opened_the_dossier_is_refused() -> None:
    """No RequirementsRecorded: the candidate is not registered in this session and specialty (or the
    registration's DocumentsRequired has not reached the documents service yet)."""
    error = violation(INITIAL, upload("identity"))
    assert error.rule == "R-18"
    assert f"no dossier for {SPECIALTY} in session {SESSION}" in error.message
    assert when(given(recorded()), upload("identity")) == [uploaded("identity")]  # once opened, it takes it


@pytest.mark.parametrize("kind", sorted(KNOWN_KINDS))
def test_r18_without_a_dossier_no_kind_is_taken(kind: str) -> None:
    assert violation(INITIAL, upload(kind)).rule == "R-18"


def test_r18_an_upload_for_another_session_or_specialty_than_the_registrations_is_refused() -> None:
    """The dossier of (2027, MCO) or (2026, NDRC) is not the registered one of (2026, MCO): each key
    names its own stream, whose state is empty."""
    assert violation(INITIAL, upload_to(session=SESSION + 1)).rule == "R-18"
    assert violation(INITIAL, upload_to("NDRC")).rule == "R-18"


def test_r18_a_dossier_holding_documents_sent_before_its_requirements_takes_no_more_until_they_come() -> None:
    """Older releases took a document before the requirements: such a dossier still folds, and waits."""
    state = given(uploaded("identity"), accepted("identity"))
    assert state.requirements is None and set(state.documents) == {doc_id("identity")}
    assert violation(state, upload("signed_summary")).rule == "R-18"


# -- which kinds a dossier takes ------------------------------------------------------


def test_r19_a_kind_the_dossier_does_not_require_is_refused_on_the_kind_field() -> None:
    error = invalid(given(recorded()), upload("rqth"))
    assert error.field == "kind"
    assert "'rqth'" in error.reason
    assert "identity, r408_attestation, signed_summary" in error.reason  # what the dossier does need


def test_r19_an_unknown_kind_is_refused() -> None:
    error = invalid(given(recorded()), upload("passport_photo"))
    assert error.field == "kind"
    assert "'passport_photo'" in error.reason


def test_r19_an_empty_requirement_list_leaves_no_kind_to_upload() -> None:
    assert invalid(given(recorded(())), upload("identity")).field == "kind"


# -- replacing documents ------------------------------------------------------------------------


def test_r24_a_pending_document_may_be_replaced_and_the_latest_counts() -> None:
    state = given(recorded(), uploaded("identity"))
    events = when(state, upload("identity", 2))
    assert events == [uploaded("identity", 2)]
    after = given(recorded(), uploaded("identity"), *events)
    assert after.latest["identity"] == doc_id("identity", 2)
    assert set(after.documents) == {doc_id("identity"), doc_id("identity", 2)}  # the old one is kept


def test_r24_a_rejected_document_may_be_replaced_and_the_latest_counts() -> None:
    history: list[DomainEvent] = [recorded(), uploaded("identity"), rejected("identity")]
    events = when(given(*history), upload("identity", 2))
    assert events == [uploaded("identity", 2)]
    after = given(*history, *events)
    assert after.latest["identity"] == doc_id("identity", 2)
    assert after.documents[doc_id("identity", 2)].review is Review.PENDING
    assert after.documents[doc_id("identity")].review is Review.REJECTED


def test_r24_an_accepted_document_cannot_be_replaced() -> None:
    error = violation(given(recorded(), uploaded("identity"), accepted("identity")), upload("identity", 2))
    assert error.rule == "R-24"
    assert "already accepted" in error.message


def test_r24_an_accepted_document_uploaded_before_requirements_cannot_be_replaced_either() -> None:
    state = given(uploaded("identity"), accepted("identity"), recorded())
    assert violation(state, upload("identity", 2)).rule == "R-24"


def test_r24_a_rejected_dossier_takes_no_more_uploads() -> None:
    state = given(recorded(), DossierRejected(candidate_id=CANDIDATE, reason="fraude"))
    error = violation(state, upload("identity"))
    assert error.rule == "R-24"
    assert "rejected" in error.message


# -- check_upload agrees with decide ------------------------------------------------------------------


def test_check_upload_refuses_exactly_what_decide_refuses() -> None:
    cases: list[tuple[DossierState, RegisterUpload, Facts]] = [
        (given(recorded()), upload("identity", 7), facts()),
        (given(recorded()), upload("identity", 7), facts(now=DEADLINE)),
        (given(recorded()), upload("rqth", 7), facts()),
        (given(recorded()), upload_to("XYZ"), facts()),
        (INITIAL, upload("identity", 7), facts()),
        (INITIAL, upload_to(session=SESSION + 1), facts()),
        (INITIAL, upload("identity", 7), facts(deadline=None)),
        (given(recorded(), uploaded("identity"), accepted("identity")), upload("identity", 7), facts()),
    ]
    outcomes: set[type[ArchipelError] | None] = set()
    for state, command, at in cases:
        expected: type[ArchipelError] | None = None
        try:
            decide(command, state, at)
        except ArchipelError as error:
            expected = type(error)
        outcomes.add(expected)
        if expected is None:
            check_upload(state, command.specialty, command.session, command.kind, at)
        else:
            with pytest.raises(expected):
                check_upload(state, command.specialty, command.session, command.kind, at)
    assert outcomes == {None, RuleViolation, InvalidInput}


# -- reviews ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        accept("identity"),
        reject("identity"),
        DeclareIncomplete(**KEY, missing=("identity",), note="n"),
        RejectDossier(**KEY, reason="r"),
    ],
)
def test_r24_only_staff_review_documents_and_dossiers(command: Command) -> None:
    with pytest.raises(PermissionDenied):
        when(given(recorded(), uploaded("identity")), command, facts(staff=False))


def test_r24_staff_commands_on_a_dossier_that_does_not_exist_are_not_found() -> None:
    with pytest.raises(NotFound):
        when(INITIAL, RejectDossier(**KEY, reason="r"), STAFF)


def test_r24_reviewing_an_unknown_document_is_not_found() -> None:
    with pytest.raises(NotFound):
        when(given(recorded()), accept("identity"), STAFF)


def test_r24_accepting_a_document_records_document_accepted() -> None:
    events = when(given(recorded(), uploaded("identity")), accept("identity"), STAFF)
    assert events == [accepted("identity")]


def test_r24_rejecting_a_document_records_its_reason_stripped() -> None:
    events = when(given(recorded(), uploaded("identity")), reject("identity", reason="  photo floue  "), STAFF)
    assert events == [rejected("identity", reason="photo floue")]
    state = given(recorded(), uploaded("identity"), *events)
    document = state.documents[doc_id("identity")]
    assert (document.review, document.reason) == (Review.REJECTED, "photo floue")


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_r24_a_rejection_needs_a_reason(reason: str) -> None:
    error = invalid(given(recorded(), uploaded("identity")), reject("identity", reason=reason), STAFF)
    assert error.field == "reason"


def test_r24_a_superseded_document_cannot_be_reviewed() -> None:
    state = given(recorded(), uploaded("identity"), uploaded("identity", 2))
    for command in (accept("identity"), reject("identity")):
        error = violation(state, command, STAFF)
        assert error.rule == "R-24"
        assert "replaced" in error.message
    assert when(state, accept("identity", 2), STAFF) == [accepted("identity", 2)]


@pytest.mark.parametrize(
    ("first", "second", "status"),
    [
        (accepted("identity"), accept("identity"), "accepted"),
        (accepted("identity"), reject("identity"), "accepted"),
        (rejected("identity"), accept("identity"), "rejected"),
        (rejected("identity"), reject("identity"), "rejected"),
    ],
)
def test_r24_a_document_is_reviewed_once(first: DomainEvent, second: ReviewDocument, status: str) -> None:
    error = violation(given(recorded(), uploaded("identity"), first), second, STAFF)
    assert error.rule == "R-24"
    assert f"already {status}" in error.message


# -- completeness ------------------------------------------------------------------------------


def test_r24_accepting_a_document_that_is_not_the_last_missing_one_completes_nothing() -> None:
    state = given(recorded(), uploaded("identity"), uploaded("signed_summary"))
    assert when(state, accept("identity"), STAFF) == [accepted("identity")]
    assert given(recorded(), uploaded("identity"), accepted("identity")).missing() == (
        "signed_summary",
        "r408_attestation",
    )


def test_r24_accepting_the_last_missing_document_completes_the_dossier() -> None:
    history = [recorded(), *all_accepted(REQUIRED[:-1]), uploaded(REQUIRED[-1])]
    events = when(given(*history), accept(REQUIRED[-1]), STAFF)
    assert events == [accepted(REQUIRED[-1]), complete()]
    state = given(*history, *events)
    assert state.complete
    assert state.is_complete()
    assert state.missing() == ()


def test_r24_accepting_documents_before_requirements_never_completes() -> None:
    state = given(*all_accepted(REQUIRED[:-1]), uploaded(REQUIRED[-1]))
    assert when(state, accept(REQUIRED[-1]), STAFF) == [accepted(REQUIRED[-1])]
    assert not given(*all_accepted()).is_complete()


def test_r19_r24_requirements_recorded_after_every_document_was_accepted_complete_the_dossier() -> None:
    events = when(given(*all_accepted()), record())
    assert events == [recorded(), complete()]
    assert given(*all_accepted(), *events).complete


def test_r19_requirements_recorded_with_documents_missing_only_record_them() -> None:
    assert when(given(*all_accepted(REQUIRED[:1])), record()) == [recorded()]
    assert when(INITIAL, record()) == [recorded()]


def test_r19_requirements_record_the_dossier_and_its_academy() -> None:
    state = given(recorded())
    assert (state.candidate_id, state.academy, state.session, state.specialty) == (
        CANDIDATE,
        ACADEMY,
        SESSION,
        SPECIALTY,
    )
    assert state.deadline == DEADLINE
    assert state.applied_sources == frozenset({SOURCE_1})
    assert state.missing() == REQUIRED


def test_r19_a_redelivered_requirements_event_changes_nothing() -> None:
    assert when(given(recorded()), record()) == []
    assert when(given(recorded(), *all_accepted(), complete()), record(("identity",))) == []


def test_r19_r24_new_requirements_with_one_more_kind_make_a_complete_dossier_incomplete() -> None:
    history = [recorded(), *all_accepted(), complete()]
    more = (*REQUIRED, "score_sheets")
    events = when(given(*history), record(more, source=SOURCE_2))
    assert events == [
        recorded(more, source=SOURCE_2),
        DossierIncomplete(
            candidate_id=CANDIDATE, missing=("score_sheets",), wrong=(), note="the documents required changed"
        ),
    ]
    state = given(*history, *events)
    assert not state.complete
    assert state.missing() == ("score_sheets",)
    assert state.applied_sources == frozenset({SOURCE_1, SOURCE_2})


def test_r19_new_requirements_that_stay_satisfied_keep_the_dossier_complete() -> None:
    history = [recorded(), *all_accepted(), complete()]
    assert when(given(*history), record(REQUIRED[:2], source=SOURCE_2)) == [recorded(REQUIRED[:2], source=SOURCE_2)]


# -- staff decisions on the dossier -------------------------------------------------------------


def test_r24_declaring_a_dossier_incomplete_records_missing_wrong_and_note() -> None:
    history = [recorded(), *all_accepted(), complete()]
    command = DeclareIncomplete(**KEY, missing=("r408_attestation",), wrong=("identity",), note="  CNI expirée  ")
    events = when(given(*history), command, STAFF)
    assert events == [
        DossierIncomplete(
            candidate_id=CANDIDATE, missing=("r408_attestation",), wrong=("identity",), note="CNI expirée"
        )
    ]
    assert not given(*history, *events).complete


@pytest.mark.parametrize(
    "command",
    [
        DeclareIncomplete(**KEY, missing=("passport_photo",), note="n"),
        DeclareIncomplete(**KEY, wrong=("identity", "selfie"), note="n"),
    ],
)
def test_r24_declaring_unknown_kinds_missing_or_wrong_is_refused(command: DeclareIncomplete) -> None:
    error = invalid(given(recorded()), command, STAFF)
    assert error.field == "missing"
    assert "unknown document kinds" in error.reason


def test_r24_rejecting_a_dossier_records_dossier_rejected_once() -> None:
    events = when(given(recorded()), RejectDossier(**KEY, reason="  pièces falsifiées "), STAFF)
    assert events == [DossierRejected(candidate_id=CANDIDATE, reason="pièces falsifiées")]
    state = given(recorded(), *events)
    assert state.rejected
    assert when(state, RejectDossier(**KEY, reason="encore"), STAFF) == []


# -- evolve / replay -------------------------------------------------------------------------------


def test_evolve_ignores_events_of_other_services() -> None:
    class Foreign(DomainEvent):
        pass

    state = given(recorded())
    assert evolve(state, Foreign()) == state


def test_replay_continues_from_a_given_state() -> None:
    head: list[DomainEvent] = [recorded(), uploaded("identity")]
    tail: list[DomainEvent] = [accepted("identity"), uploaded("signed_summary")]
    assert replay(tail, replay(head)) == replay(head + tail)


def test_an_unknown_command_is_a_programming_error() -> None:
    class Other(BaseModel):
        pass

    with pytest.raises(AssertionError, match="Other"):
        decide(Other(), given(recorded()), STAFF)  # type: ignore[arg-type]


# -- properties ------------------------------------------------------------------------------------

OPTIONAL = "rqth"  # a known kind the dossier does not require: only uploadable before requirements


@dataclass(frozen=True)
class Step:
    name: str  # "record", "upload", "accept" or "reject"
    kind: str = ""
    attempt: int = 1

    def command(self) -> tuple[Command, Facts]:
        if self.name == "record":
            return record(), facts()
        if self.name == "upload":
            return upload(self.kind, self.attempt), facts()
        if self.name == "accept":
            return accept(self.kind, self.attempt), STAFF
        return reject(self.kind, self.attempt), STAFF


def chain(kind: str, rejections: int) -> list[Step]:
    """The life of one kind: rejected uploads, each replaced, then the accepted one."""
    steps: list[Step] = []
    for attempt in range(1, rejections + 1):
        steps += [Step("upload", kind, attempt), Step("reject", kind, attempt)]
    return [*steps, Step("upload", kind, rejections + 1), Step("accept", kind, rejections + 1)]


@st.composite
def interleavings(draw: st.DrawFn) -> list[Step]:
    """Every step of a realistic dossier, in any order that keeps each kind's own steps in order,
    after the requirements that open it (R-18: no upload before them).

    A shuffled list of chain labels picks which chain moves next: the i-th occurrence of a kind is
    its i-th step, so any permutation of the labels is a valid interleaving."""
    chains: dict[str, list[Step]] = {}
    for kind in REQUIRED:
        chains[kind] = chain(kind, draw(st.integers(min_value=0, max_value=2)))
    if draw(st.booleans()):
        chains[OPTIONAL] = [Step("upload", OPTIONAL), Step("accept", OPTIONAL)]
    labels = draw(st.permutations([label for label, steps in chains.items() for _ in steps]))
    cursor = dict.fromkeys(chains, 0)
    order: list[Step] = [Step("record")]
    for label in labels:
        order.append(chains[label][cursor[label]])
        cursor[label] += 1
    return order


def run(steps: list[Step]) -> tuple[DossierState, list[list[DomainEvent]]]:
    """Applies each step when it is valid at that point; returns the final state and each step's events."""
    state = INITIAL
    produced: list[list[DomainEvent]] = []
    uploaded_kinds: set[tuple[str, int]] = set()
    for step in steps:
        command, at = step.command()
        if step.kind == OPTIONAL and step.name == "upload" and state.requirements is not None:
            with pytest.raises(InvalidInput):  # no longer a kind this dossier takes
                decide(command, state, at)
            continue
        if step.name in ("accept", "reject") and (step.kind, step.attempt) not in uploaded_kinds:
            continue  # its upload was refused: nothing to review
        events = decide(command, state, at)
        if step.name == "upload":
            uploaded_kinds.add((step.kind, step.attempt))
        produced.append(events)
        for event in events:
            state = evolve(state, event)
    return state, produced


@settings(max_examples=300, deadline=None)
@hypothesis_given(steps=interleavings())
def test_property_r24_any_valid_order_ends_complete_with_exactly_one_dossier_complete(steps: list[Step]) -> None:
    state, produced = run(steps)
    events = [event for batch in produced for event in batch]
    assert state.is_complete()
    assert state.complete
    assert state.missing() == ()
    assert {kind: state.documents[state.latest[kind]].review for kind in REQUIRED} == dict.fromkeys(
        REQUIRED, Review.ACCEPTED
    )
    assert events.count(complete()) == 1
    assert not any(isinstance(event, DossierIncomplete) for event in events)
    # DossierComplete comes with the step that made the dossier complete, and nothing follows it
    # that changes completeness: it is the last step of the requirements or of a required kind.
    batch = next(index for index, b in enumerate(produced) if complete() in b)
    assert produced[batch][-1] == complete()
    assert isinstance(produced[batch][0], RequirementsRecorded | DocumentAccepted)
    assert not any(
        isinstance(event, RequirementsRecorded) or (isinstance(event, DocumentAccepted) and event.kind in REQUIRED)
        for later in produced[batch + 1 :]
        for event in later
    )


KINDS = st.sampled_from([*REQUIRED, "score_sheets", OPTIONAL])
ACTIONS = st.sampled_from(["record", "upload", "upload", "upload", "review", "review", "review", "declare", "reject"])


def draw_command(data: st.DataObject, state: DossierState, number: int) -> tuple[Command, Facts]:
    """Any command, valid or not, from candidates and staff, before or after the deadline; reviews
    mostly aim at documents of the dossier (any of them, superseded or already reviewed too)."""
    action = data.draw(ACTIONS)
    if action == "record":
        kinds = tuple(data.draw(st.lists(KINDS, unique=True, max_size=4)))
        return record(kinds, source=data.draw(st.sampled_from([SOURCE_1, SOURCE_2]))), facts()
    if action == "upload":
        now = data.draw(st.sampled_from([BEFORE, BEFORE, BEFORE, DEADLINE, DEADLINE + timedelta(days=1)]))
        return upload(data.draw(KINDS), number), facts(now=now)  # a fresh document id, as in service
    if action == "review":
        targets = sorted(state.documents) or [doc_id("identity")]
        command = ReviewDocument(
            **KEY,
            document_id=data.draw(st.sampled_from(targets)),
            accept=data.draw(st.booleans()),
            reason=data.draw(st.sampled_from(["", "illisible"])),
        )
        return command, facts(staff=data.draw(st.sampled_from([True, True, True, False])))
    if action == "declare":
        missing = tuple(data.draw(st.lists(KINDS, unique=True, max_size=2)))
        wrong = tuple(data.draw(st.lists(st.sampled_from(["identity", "selfie"]), unique=True, max_size=1)))
        return DeclareIncomplete(**KEY, missing=missing, wrong=wrong, note="à revoir"), STAFF
    return RejectDossier(**KEY, reason="fraude"), STAFF


@settings(max_examples=300, deadline=None)
@hypothesis_given(data=st.data(), length=st.integers(min_value=0, max_value=30))
def test_property_replaying_the_produced_events_equals_the_incremental_fold(data: st.DataObject, length: int) -> None:
    state = INITIAL
    history: list[DomainEvent] = []
    for number in range(1, length + 1):
        command, at = draw_command(data, state, number)
        try:
            events = decide(command, state, at)
        except ArchipelError:
            continue  # a refused command changes nothing
        for event in events:
            state = evolve(state, event)
        history += events
        assert replay(history) == state
        # completeness events agree with the state they leave behind
        if any(isinstance(event, DossierComplete) for event in events):
            assert state.is_complete() and state.complete
    assert replay(history) == state
    half = len(history) // 2
    assert replay(history[half:], replay(history[:half])) == state
