"""The convocation feed as a pure fold: every interleaving converges; exempted and carried units are
not sat (R-17, R-14); earlier tests make a partial convocation (R-26); only confirmed candidates with
a complete, not rejected dossier are convoked; handicap arrangements are flagged (R-25)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.dossier.convocations import CandidateKey, Convocation, current, fold
from shared.reference import ExamForm
from tests.unit.convocation_samples import SCHEDULE, SESSION, SPECIALTY, Publisher, paris, sitting


def _key(candidate: UUID) -> CandidateKey:
    return CandidateKey(candidate, SESSION, SPECIALTY)


def _units(convocation: Convocation) -> list[str]:
    return [t.unit for t in convocation.tests]


def _campaign() -> tuple[Publisher, dict[str, UUID]]:
    p = Publisher()
    who = {
        "full": p.candidate(),
        "exempted": p.candidate(exempted=("U3",), benefits=("U4",), language="arabe", handicap=True),
        "progressive": p.candidate(form=ExamForm.PROGRESSIVE, units=("U5", "U6")),
        "incomplete": p.candidate(dossier="incomplete"),
        "rejected": p.candidate(dossier="rejected"),
        "no_dossier": p.candidate(dossier="none"),
        "unconfirmed": p.candidate(confirmed=False),
        "non_inscrit": p.candidate(not_registered=True),
    }
    p.schedule()
    return p, who


def test_every_interleaving_gives_the_same_feed() -> None:
    p, _ = _campaign()
    in_order = fold(e for events in p.streams.values() for e in events)
    assert len(in_order) == 3
    for seed in range(25):
        assert fold(p.interleaved(seed)) == in_order, seed


def test_globale_partial_then_full_and_language_sittings() -> None:
    p, who = _campaign()
    feed = fold(p.interleaved(1))
    partial, full = feed[_key(who["full"])]
    assert (partial.partial, _units(partial), partial.publish_from) == (True, ["U2"], None)
    assert partial.tests[0].place == "Lycée Périer, Marseille"
    assert not full.partial and full.publish_from == date(SESSION, 4, 15)  # mid-April by default
    assert _units(full) == ["U2", "U1", "U3", "U4", "U5", "U6"] and full.unscheduled == ("U7",)
    assert (full.last_name, full.first_names, full.academy, full.handicap) == ("Martin", "Léa", "aix-marseille", False)
    assert partial.version != full.version and len(full.version) == 16
    assert current((partial, full), date(SESSION, 4, 14)) == partial
    assert current((partial, full), date(SESSION, 4, 15)) == full


def test_exempted_and_carried_units_are_not_sat_and_handicap_is_flagged() -> None:
    p, who = _campaign()
    partial, full = fold(p.interleaved(2))[_key(who["exempted"])]
    assert "U3" not in _units(full) and "U4" not in _units(full)
    assert _units(full) == ["U2", "U1", "U5", "U6"]
    assert full.tests[0].place == "Rectorat, Aix-en-Provence"  # the arabe sitting, 10 February
    assert partial.handicap and full.handicap


def test_progressive_without_earlier_test_has_only_the_full_convocation() -> None:
    p, who = _campaign()
    (only,) = fold(p.interleaved(3))[_key(who["progressive"])]
    assert not only.partial and _units(only) == ["U5", "U6"] and only.unscheduled == ()


def test_not_convoked_unless_confirmed_with_a_complete_dossier() -> None:
    p, who = _campaign()
    feed = fold(p.interleaved(4))
    for name in ("incomplete", "rejected", "no_dossier", "unconfirmed", "non_inscrit"):
        assert _key(who[name]) not in feed, name


def test_no_schedule_no_convocation_and_republishing_replaces() -> None:
    p = Publisher()
    c = p.candidate()
    assert fold(p.interleaved(5)) == {}
    p.schedule()
    before = fold(p.interleaved(5))[_key(c)]
    p.schedule((*SCHEDULE, sitting("U7", paris("2026-05-20", 9))))
    after = fold(p.interleaved(5))[_key(c)]
    assert after[0] == before[0]  # the partial one did not change: same version
    assert after[1].version != before[1].version and after[1].unscheduled == ()


def test_convocations_from_of_the_calendar_moves_the_partial_boundary() -> None:
    p = Publisher()
    c = p.candidate()
    p.schedule()
    p.calendar(date(2026, 3, 25))
    partial, full = fold(p.interleaved(6))[_key(c)]
    assert full.publish_from == date(2026, 3, 25) and [t.unit for t in partial.tests] == ["U2"]
    p.calendar(date(2026, 2, 1))  # the U2 oral of 20 March is no longer earlier
    (only,) = fold(p.interleaved(6))[_key(c)]
    assert not only.partial and only.publish_from == date(2026, 2, 1)
    assert partial.partial


def test_every_test_earlier_gives_only_the_full_convocation_at_once() -> None:
    p = Publisher()
    c = p.candidate(form=ExamForm.PROGRESSIVE, units=("U2",))
    p.schedule()
    (only,) = fold(p.interleaved(7))[_key(c)]
    assert not only.partial and only.publish_from is None and _units(only) == ["U2"]
