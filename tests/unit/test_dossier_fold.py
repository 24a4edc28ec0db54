"""The dossier fold, pure: a candidate's dossier gathers the events of four topics, which Kafka
delivers each in order per candidate but interleaved arbitrarily with one another (DESIGN rule 6),
and at least once (rule 5). Whatever the interleaving, and whatever was redelivered, the view is the
same; each state label, and "documents incomplete after the deadline", follow from the events.

The events are the producers' own (services.*.events), serialised as the relay publishes them and
read back through the dossier's inbound registry, as its consumer does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from services.dossier.fold import COMPLETE, INCOMPLETE, PUBLISHED, REJECTED, DossierSummary, dossier_state, fold
from services.dossier.keys import Source, StreamKey, key_of
from shared.contracts import documents, registration
from shared.events import Envelope
from tests.unit.dossier_samples import (
    ACADEMY,
    DEADLINE,
    Streams,
    account_events,
    documents_events,
    realistic,
    registration_events,
    results_events,
)


def merges(sequences: Sequence[Sequence[Envelope]]) -> Iterator[list[Envelope]]:
    """Every interleaving of `sequences` that keeps each one's own order."""
    live = [seq for seq in sequences if seq]
    if not live:
        yield []
        return
    for i, seq in enumerate(live):
        rest = [*live[:i], seq[1:], *live[i + 1 :]]
        for tail in merges(rest):
            yield [seq[0], *tail]


def only(envelopes: Sequence[Envelope]) -> DossierSummary:
    views = fold(envelopes)
    assert len(views) == 1, views
    return next(iter(views.values()))


def test_every_merge_of_a_small_dossier_gives_the_same_view() -> None:
    topics = realistic()
    small = [
        topics["accounts"][::2],  # created, activated
        [topics["registration"][i] for i in (0, 2, 4)],  # started, confirmed, documents required
        topics["documents"][:2],  # requirements, upload
        topics["results"][:3],  # the registration noted, a grade, an absence
    ]
    views = {only(merged).model_dump_json() for merged in merges(small)}
    assert len(views) == 1  # 10! / (2! 3! 2! 3!) = 25200 interleavings
    view = DossierSummary.model_validate_json(views.pop())
    assert (view.state, view.account_status, view.specialties[0].missing) == (INCOMPLETE, "active", ("identity",))
    assert view.specialties[0].marks == (("U1", "12.50"), ("U2", "absent (justified)"))


def test_the_number_of_merges() -> None:
    topics = realistic()
    assert sum(1 for _ in merges([topics["accounts"][:2], topics["results"][:3]])) == 10


def _redelivered(sequence: list[Envelope], start: int, stop: int) -> list[Envelope]:
    """The consumer restarts after `stop` events and rereads from offset `start` (start <= stop)."""
    return [*sequence[:stop], *sequence[start:stop], *sequence[stop:]]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_interleaving_with_redeliveries_gives_the_view_of_the_canonical_order(data: st.DataObject) -> None:
    topics = realistic(UUID(int=7))
    expected = only([e for seq in topics.values() for e in seq])
    sequences = []
    for sequence in topics.values():
        stop = data.draw(st.integers(0, len(sequence)))
        sequences.append(_redelivered(sequence, data.draw(st.integers(0, stop)), stop))
    order = data.draw(st.permutations([i for i, seq in enumerate(sequences) for _ in seq]))
    cursors = [0] * len(sequences)
    merged = []
    for i in order:
        merged.append(sequences[i][cursors[i]])
        cursors[i] += 1
    assert only(merged) == expected
    assert expected.state == PUBLISHED and expected.account_status == "active"


def test_a_redelivered_duplicate_changes_nothing() -> None:
    topics = realistic()
    events = [e for seq in topics.values() for e in seq]
    assert only(events + events) == only(events)
    assert only([e for e in events for _ in range(2)]) == only(events)


def test_the_view_gathers_every_part() -> None:
    view = only([e for seq in realistic().values() for e in seq])
    part = view.specialties[0]
    assert (part.form, part.confirmed, part.summary_versions, part.language) == ("globale", True, (1,), "anglais")
    assert (part.required, part.uploaded, part.accepted, part.missing, part.complete) == (
        ("identity",),
        ("identity",),
        ("identity",),
        (),
        True,
    )
    assert (part.outcome, part.average, part.final, part.final_average) == ("ADMIS", "12.50", True, "12.50")
    assert [n.kind for n in view.notifications] == ["dossier_complete"]
    assert view.documents_deadline is None  # complete: no deadline to chase
    assert view.academy == ACADEMY


def _view(*parts: str, complete: bool = True, deadline: datetime | None = DEADLINE) -> DossierSummary:
    s = Streams(uuid.uuid4())
    topics = {
        "account": account_events(s),
        "registration": registration_events(s, deadline=deadline),
        "documents": documents_events(s, complete=complete),
        "results": results_events(s),
    }
    chosen = [e for name in parts for e in topics.get(name, [])]
    cut = {"started": 1, "confirmed": 3}
    for name, n in cut.items():
        if name in parts:
            chosen += topics["registration"][:n]
    return only(chosen)


def test_each_state_label() -> None:
    assert _view("documents").state == "waiting_registration"  # a document before the registration
    assert _view("results", "account").state == "results_published"
    assert _view("started").state == "registered"
    assert _view("confirmed").state == "confirmed"
    assert _view("registration").state == INCOMPLETE  # required, nothing uploaded yet
    assert _view("registration", "documents", complete=False).state == INCOMPLETE
    assert _view("registration", "documents").state == COMPLETE
    assert _view("registration", "documents", "results").state == PUBLISHED


def test_rejected_and_not_registered() -> None:
    s = Streams(uuid.uuid4())
    reg = registration_events(s)
    named = documents_events(s)[:1]  # the documents stream's first event says whose it is
    rejected = [*named, s.envelope("dossier", documents.DossierRejected(candidate_id=s.candidate, reason="faux"))]
    assert only([*reg, *rejected]).state == REJECTED
    assert [n.kind for n in only([*rejected, *reg]).notifications] == ["dossier_rejected"]
    dropped = s.envelope("registration", registration.RegistrationSetNotRegistered(reason="désistement"))
    assert only([*reg, dropped]).state == "not_registered"
    assert dossier_state(["not_registered", "confirmed"]) == "confirmed"
    assert dossier_state(["documents_complete", "registered"]) == "registered"
    assert dossier_state(["rejected", "documents_complete"]) == REJECTED


def test_incomplete_after_the_deadline() -> None:
    view = _view("registration", "documents", complete=False)
    assert view.documents_deadline == DEADLINE
    assert not view.incomplete_after(DEADLINE - timedelta(seconds=1))
    assert view.incomplete_after(DEADLINE + timedelta(seconds=1))
    assert not _view("registration", "documents").incomplete_after(DEADLINE + timedelta(days=1))
    assert not _view("registration", deadline=None).incomplete_after(DEADLINE + timedelta(days=1))


def test_an_account_alone_makes_no_dossier_and_joins_it_later() -> None:
    s = Streams(uuid.uuid4())
    acc, reg = account_events(s), registration_events(s)
    assert fold(acc) == {}
    assert only(reg).account_status == "unknown"
    assert only([*reg, *acc[:2]]).account_status == "link_sent"
    assert only([*reg, *acc]) == only([*acc, *reg])


def test_stream_keys_come_from_the_events() -> None:
    """Whose stream an event is on is read from the event (its type, the envelope's candidate, the
    fields naming the session and specialty), and completed by the stream's earlier events; the
    stream id is never parsed."""
    s = Streams(uuid.uuid4())
    c = s.candidate
    created, sent, _ = account_events(s)
    noted, grade, *_ = results_events(s)
    required, uploaded, *_ = documents_events(s)
    assert key_of(created) == StreamKey(Source.ACCOUNT, c, None, None)
    assert key_of(required) == StreamKey(Source.DOCUMENTS, c, 2026, "SIO-SISR")
    assert key_of(noted) == StreamKey(Source.RESULTS, c, 2026, "SIO-SISR")
    partial = key_of(grade)
    assert partial == StreamKey(Source.RESULTS, c, None, None) and not partial.complete
    assert partial.learned(key_of(noted)) == key_of(noted)
    assert key_of(uploaded) == StreamKey(Source.DOCUMENTS, c, None, None)
    calendar = s.envelope(
        "calendar",
        registration.CalendarSet(
            academy=ACADEMY,
            session=2026,
            registration_opens=DEADLINE,
            registration_closes=DEADLINE,
            documents_deadline=None,
            amex_deadline=None,
            convocations_from=None,
            reason="test",
        ),
    )
    assert key_of(calendar) is None
    anonymous = sent.model_copy(update={"candidate_id": None})
    assert key_of(anonymous) == StreamKey(Source.ACCOUNT, None, None, None)


def test_a_stream_joins_its_dossier_once_its_events_name_it() -> None:
    """An upload before the documents stream's requirements says whose it is but not which session
    and specialty: the part waits, and shows once a later event of the stream names them."""
    s = Streams(uuid.uuid4())
    reg = registration_events(s)
    _, uploaded, accepted, complete = documents_events(s)
    assert only([*reg, uploaded, accepted]).specialties[0].uploaded == ()
    assert only([*reg, uploaded, accepted, complete]).specialties[0].uploaded == ("identity",)
