"""The reference data (shared.reference): regulations per specialty and session (R-32), calendars per académie
(R-07, R-18), rare languages (R-12), and the loader's error messages."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.reference import (
    DATA_DIR,
    Calendar,
    CalendarFieldError,
    Domain,
    Provenance,
    ReferenceData,
    ReferenceDataError,
    Regulation,
    Unit,
    calendar_from_local,
    load_reference,
    paris_to_utc,
)
from shared.reference.labels import window_label


@pytest.fixture(scope="module")
def catalogue() -> ReferenceData:
    return load_reference()


def aix_2026(catalogue: ReferenceData) -> Calendar:
    calendar = catalogue.calendar("aix-marseille", 2026)
    assert calendar is not None
    return calendar


# --- the real data files ----------------------------------------------------------------------


def test_the_loader_reads_the_real_data_files(catalogue: ReferenceData) -> None:
    assert catalogue.specialties() == ["MCO", "NDRC", "SIO-SISR", "SIO-SLAM"]
    assert {(r.specialty, r.first_session) for r in catalogue.regulations} == {
        ("SIO-SISR", 2025),
        ("SIO-SLAM", 2025),
        ("MCO", 2025),
        ("NDRC", 2025),
    }
    assert {(c.academy, c.session) for c in catalogue.calendars} == {
        ("aix-marseille", 2026),
        ("lille", 2024),
        ("nancy-metz", 2024),
        ("martinique", 2025),
    }
    assert load_reference(DATA_DIR) == catalogue


def test_sio_slam_is_sio_sisr_with_u6_overridden(catalogue: ReferenceData) -> None:
    sisr = catalogue.regulation("SIO-SISR", 2026)
    slam = catalogue.regulation("SIO-SLAM", 2026)
    u6 = slam.unit("U6")
    assert u6 == Unit(
        code="U6",
        test="E6",
        title="Conception et développement d'applications",
        coefficient=Decimal(4),
        domain=Domain.PROFESSIONAL,
        form="oral",
        source=Provenance.SECONDARY,
    )
    sisr_u6 = sisr.unit("U6")
    assert sisr_u6 is not None
    assert sisr_u6.title == "Administration des systèmes et des réseaux"
    assert sisr_u6.source is Provenance.OFFICIAL
    assert [u.code for u in slam.units] == [u.code for u in sisr.units]  # order kept
    assert [u for u in slam.units if u.code != "U6"] == [u for u in sisr.units if u.code != "U6"]
    assert slam.optional_units == sisr.optional_units
    assert (slam.languages, slam.languages_source) == (sisr.languages, sisr.languages_source)
    assert slam.title.startswith("Services informatiques aux organisations, option B")
    assert slam.specialty == "SIO-SLAM"


def test_coefficients_are_decimals(catalogue: ReferenceData) -> None:
    mco = catalogue.regulation("MCO", 2026)
    u2 = mco.unit("U2")
    assert u2 is not None
    assert isinstance(u2.coefficient, Decimal)
    assert u2.coefficient == Decimal("1.5")
    assert str(u2.coefficient) == "1.5"
    for regulation in catalogue.regulations:
        coefficients = [u.coefficient for u in regulation.units]
        coefficients += [u.coefficient for u in regulation.optional_units]
        for coefficient in coefficients:
            assert isinstance(coefficient, Decimal)
            assert coefficient > 0
    assert sum(u.coefficient for u in mco.units) == Decimal(21)


def test_provenance_tags_survive(catalogue: ReferenceData) -> None:
    sisr = catalogue.regulation("SIO-SISR", 2025)
    mco = catalogue.regulation("MCO", 2025)
    ndrc = catalogue.regulation("NDRC", 2025)
    assert sisr.unit("U1").source is Provenance.OFFICIAL  # type: ignore[union-attr]
    assert sisr.unit("U7").source is Provenance.UNVERIFIED  # type: ignore[union-attr]
    assert sisr.optional_unit("UF2").source is Provenance.UNVERIFIED  # type: ignore[union-attr]
    assert mco.unit("U8").source is Provenance.SECONDARY  # type: ignore[union-attr]
    assert mco.optional_unit("UF1").source is Provenance.SECONDARY  # type: ignore[union-attr]
    assert ndrc.unit("U4").source is Provenance.SECONDARY  # type: ignore[union-attr]
    assert mco.languages_source is Provenance.OFFICIAL
    assert ndrc.languages_source is Provenance.UNVERIFIED
    assert sisr.languages_source is Provenance.UNVERIFIED
    assert catalogue.rare_languages_source is Provenance.UNVERIFIED
    assert aix_2026(catalogue).source == "guide-inscription-bts-2026.md"
    lille = catalogue.calendar("lille", 2024)
    assert lille is not None
    assert lille.source == "secondary"


def test_regulation_fields(catalogue: ReferenceData) -> None:
    mco = catalogue.regulation("MCO", 2026)
    assert mco.text.startswith("arrêté du 15 octobre 2018")
    assert mco.first_session == 2025
    assert mco.requires_r408 is False
    assert all(not r.requires_r408 for r in catalogue.regulations)
    assert mco.unit_codes() == frozenset({"U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8"})
    assert mco.unit("UF1") is None  # optional units are looked up with optional_unit
    assert mco.optional_unit("UF2") is not None
    assert mco.unit("U9") is None
    assert [u.domain for u in mco.units].count(Domain.PROFESSIONAL) == 4
    assert catalogue.regulation("NDRC", 2026).optional_units == ()


def test_languages_and_rare_languages(catalogue: ReferenceData) -> None:
    mco = catalogue.regulation("MCO", 2026)
    assert "anglais" in mco.languages
    assert "hébreu" in mco.languages
    assert catalogue.regulation("SIO-SISR", 2026).languages == ("anglais",)
    assert {"arabe", "chinois", "hébreu", "japonais", "russe", "portugais"} <= catalogue.rare_languages
    assert not {"anglais", "allemand", "espagnol", "italien"} & catalogue.rare_languages
    for language in (*catalogue.rare_languages, *(x for r in catalogue.regulations for x in r.languages)):
        assert language == language.lower()
    assert "Bâtiment" in catalogue.r408_specialties_unverified


# --- calendars, windows and Paris time ----------------------------------------------------------


def test_aix_marseille_2026_window_crosses_the_dst_change(catalogue: ReferenceData) -> None:
    calendar = aix_2026(catalogue)
    assert calendar.registration_opens == datetime(2025, 10, 10, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert calendar.registration_closes == datetime(2025, 11, 12, 16, 0, tzinfo=UTC)  # 17:00 CET
    assert calendar.registration_opens.tzinfo is UTC
    assert calendar.documents_deadline == datetime(2025, 11, 28, 16, 0, tzinfo=UTC)
    assert calendar.amex_deadline == calendar.registration_closes
    assert calendar.convocations_from == date(2026, 4, 15)
    assert catalogue.calendar("aix-marseille", 2027) is None
    assert catalogue.calendar("lyon", 2026) is None


def test_registration_open_includes_the_opening_and_excludes_the_closing(catalogue: ReferenceData) -> None:
    calendar = aix_2026(catalogue)
    opens, closes = calendar.registration_opens, calendar.registration_closes
    assert calendar.registration_open(opens) is True
    assert calendar.registration_open(opens - timedelta(seconds=1)) is False
    assert calendar.registration_open(closes - timedelta(seconds=1)) is True
    assert calendar.registration_open(closes) is False
    assert calendar.registration_open(closes + timedelta(days=1)) is False
    assert calendar.registration_open(paris_to_utc("2025-11-12T16:59:59")) is True
    assert calendar.registration_open(paris_to_utc("2025-11-12T17:00")) is False
    with pytest.raises(ValueError, match="aware"):
        calendar.registration_open(datetime(2025, 10, 20, 12, 0))  # noqa: DTZ001


def test_describe_window_in_french(catalogue: ReferenceData) -> None:
    assert window_label(aix_2026(catalogue)) == (
        "du vendredi 10 octobre 2025 à 08:00 au mercredi 12 novembre 2025 à 17:00 (heure de Paris)"
    )
    staff = calendar_from_local("lille", 2027, "2026-08-01T09:05", "2026-12-31T23:30")
    assert window_label(staff) == ("du samedi 1er août 2026 à 09:05 au jeudi 31 décembre 2026 à 23:30 (heure de Paris)")


def test_paris_to_utc() -> None:
    assert paris_to_utc("2025-10-10T08:00") == datetime(2025, 10, 10, 6, 0, tzinfo=UTC)
    assert paris_to_utc("2025-11-12T17:00") == datetime(2025, 11, 12, 16, 0, tzinfo=UTC)
    assert paris_to_utc(datetime(2026, 1, 5, 9, 0)) == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # noqa: DTZ001
    assert paris_to_utc("2025-10-10T08:00+00:00") == datetime(2025, 10, 10, 8, 0, tzinfo=UTC)  # aware: kept


def test_paris_to_utc_takes_the_first_occurrence_of_an_ambiguous_time() -> None:
    # 26 October 2025: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice; the first is CEST (UTC+2).
    assert paris_to_utc("2025-10-26T02:30") == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert paris_to_utc("2025-10-26T03:30") == datetime(2025, 10, 26, 2, 30, tzinfo=UTC)


def test_paris_to_utc_refuses_a_nonexistent_time() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST, so 02:30 does not exist.
    with pytest.raises(ValueError, match="2026-03-29 02:30 does not exist"):
        paris_to_utc("2026-03-29T02:30")
    assert paris_to_utc("2026-03-29T03:00") == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["10/10/2025 08:00", "2025-10-10", "", "2025-13-01T08:00"])
def test_paris_to_utc_refuses_what_is_not_a_date_and_time(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date and time"):
        paris_to_utc(text)


def test_calendar_from_local_for_staff() -> None:
    calendar = calendar_from_local(
        "lille",
        2027,
        opens="2026-10-09T08:00",
        closes="2026-11-10T17:00",
        documents_deadline="2026-11-27T17:00",
        convocations_from="2027-04-14",
    )
    assert calendar.source == "staff"
    assert calendar.registration_opens == datetime(2026, 10, 9, 6, 0, tzinfo=UTC)
    assert calendar.registration_closes == datetime(2026, 11, 10, 16, 0, tzinfo=UTC)
    assert calendar.amex_deadline is None
    assert calendar.convocations_from == date(2027, 4, 14)


def test_calendar_rules() -> None:
    with pytest.raises(CalendarFieldError) as raised:
        calendar_from_local("lille", 2027, "2026-10-09T08:00", "2026-10-09T08:00")
    assert raised.value.field == "registration_closes"
    assert str(raised.value) == (
        "registration_closes: the window must close after it opens (vendredi 9 octobre 2026 à 08:00, "
        "heure de Paris) (got '2026-10-09T08:00 heure de Paris')"
    )
    with pytest.raises(CalendarFieldError, match=r"^documents_deadline: the documents deadline cannot be"):
        calendar_from_local("lille", 2027, "2026-10-09T08:00", "2026-11-10T17:00", "2026-11-10T16:59")
    with pytest.raises(CalendarFieldError, match=r"^academy: String should have at least 1 character"):
        calendar_from_local("", 2027, "2026-10-09T08:00", "2026-11-10T17:00")
    with pytest.raises(CalendarFieldError, match=r"^registration_opens: 2026-03-29 02:30 does not exist"):
        calendar_from_local("lille", 2026, "2026-03-29T02:30", "2026-11-10T17:00")
    with pytest.raises(CalendarFieldError, match=r"^convocations_from: 'mi-avril' is not a date"):
        calendar_from_local("lille", 2027, "2026-10-09T08:00", "2026-11-10T17:00", convocations_from="mi-avril")
    with pytest.raises(ValidationError, match="timezone"):
        Calendar(
            academy="lille",
            session=2027,
            registration_opens=datetime(2026, 10, 9, 8, 0),  # noqa: DTZ001
            registration_closes=datetime(2026, 11, 10, 17, 0, tzinfo=UTC),
            documents_deadline=None,
            amex_deadline=None,
            convocations_from=None,
            source="staff",
        )
    calendar = calendar_from_local("lille", 2027, "2026-10-09T08:00", "2026-11-10T17:00")
    with pytest.raises(ValidationError, match="frozen"):
        calendar.session = 2028  # type: ignore[misc]


# --- regulations per session (R-32) -------------------------------------------------------------


def two_mco_regulations(catalogue: ReferenceData) -> ReferenceData:
    current = catalogue.regulation("MCO", 2025)
    before = current.model_copy(
        update={
            "first_session": 2020,
            "text": "arrêté du 15 octobre 2018",
            "units": tuple(u.model_copy(update={"coefficient": Decimal(3)}) for u in current.units),
        }
    )
    return ReferenceData(regulations=(current, before), calendars=(), rare_languages=frozenset())


def test_regulation_is_the_latest_whose_first_session_is_not_after_the_session(catalogue: ReferenceData) -> None:
    two = two_mco_regulations(catalogue)
    assert two.regulation("MCO", 2020).first_session == 2020
    assert two.regulation("MCO", 2024).first_session == 2020
    assert two.regulation("MCO", 2024).unit("U2").coefficient == Decimal(3)  # type: ignore[union-attr]
    assert two.regulation("MCO", 2025).first_session == 2025
    assert two.regulation("MCO", 2030).unit("U2").coefficient == Decimal("1.5")  # type: ignore[union-attr]
    assert two.specialties() == ["MCO"]


def test_no_regulation_before_the_first_session_or_for_an_unknown_specialty(catalogue: ReferenceData) -> None:
    two = two_mco_regulations(catalogue)
    with pytest.raises(LookupError, match=r"no regulation for MCO in session 2019: .*from session 2020"):
        two.regulation("MCO", 2019)
    with pytest.raises(LookupError, match=r"no regulation for MCO in session 2024: .*from session 2025"):
        catalogue.regulation("MCO", 2024)
    with pytest.raises(LookupError, match="no regulation for BTS-XYZ in session 2026: unknown specialty"):
        catalogue.regulation("BTS-XYZ", 2026)


def test_a_catalogue_refuses_two_regulations_from_the_same_session(catalogue: ReferenceData) -> None:
    mco = catalogue.regulation("MCO", 2025)
    with pytest.raises(ValidationError, match="two regulations of MCO apply from session 2025"):
        ReferenceData(regulations=(mco, mco), calendars=(), rare_languages=frozenset())


def test_regulation_rules(catalogue: ReferenceData) -> None:
    mco = catalogue.regulation("MCO", 2025)
    fields = mco.model_dump()
    with pytest.raises(ValidationError, match="unit codes must be unique"):
        Regulation.model_validate({**fields, "units": (*fields["units"], fields["units"][0])})
    with pytest.raises(ValidationError, match="unit codes must be unique"):
        Regulation.model_validate({**fields, "optional_units": ({**fields["optional_units"][0], "code": "U1"},)})
    with pytest.raises(ValidationError, match="lower-case"):
        Regulation.model_validate({**fields, "languages": ("Anglais",)})
    with pytest.raises(ValidationError, match="greater than 0"):
        Unit.model_validate({**fields["units"][0], "coefficient": 0})


# --- the regulation list form (several regulations of one specialty) ---------------------------

LIST_FORM = """
specialties:
  MCO:
    - title: "Management commercial opérationnel"
      text: "arrêté du 15 octobre 2018"
      first_session: 2020
      requires_r408: false
      languages: [anglais]
      languages_source: official
      units:
        - {code: U1, test: E1, title: "Culture", coefficient: 3, domain: general, form: "écrit",
           source: official}
        - {code: U2, test: E2, title: "Langue", coefficient: 3, domain: general, form: "écrit",
           source: official}
      optional_units: []
    - title: "Management commercial opérationnel"
      text: "arrêté du 15 octobre 2018 modifié"
      first_session: 2025
      requires_r408: false
      languages: [anglais, espagnol]
      languages_source: official
      units:
        - {code: U1, test: E1, title: "Culture", coefficient: 3, domain: general, form: "écrit",
           source: official}
        - {code: U2, test: E2, title: "Langue", coefficient: 1.5, domain: general, form: "écrit",
           source: official}
      optional_units: []
  MCO-BIS:
    - {title: "Variante", text: "t", first_session: 2020, requires_r408: true, same_as: MCO}
    - title: "Variante"
      text: "t"
      first_session: 2025
      requires_r408: true
      same_as: MCO
      override_units:
        - {code: U2, test: E2, title: "Langue", coefficient: 2, domain: general, form: "oral",
           source: unverified}
rare_languages: [arabe]
rare_languages_source: unverified
"""


def test_several_regulations_of_one_specialty_in_the_data_file(tmp_path: Path) -> None:
    (tmp_path / "regulations.yaml").write_text(LIST_FORM, encoding="utf-8")
    shutil.copy(DATA_DIR / "calendars.yaml", tmp_path / "calendars.yaml")
    catalogue = load_reference(tmp_path)
    assert catalogue.regulation("MCO", 2024).unit("U2").coefficient == Decimal(3)  # type: ignore[union-attr]
    assert catalogue.regulation("MCO", 2025).unit("U2").coefficient == Decimal("1.5")  # type: ignore[union-attr]
    bis_2024 = catalogue.regulation("MCO-BIS", 2024)
    bis_2025 = catalogue.regulation("MCO-BIS", 2025)
    assert bis_2024.requires_r408 is True
    assert bis_2024.languages == ("anglais",)  # from MCO 2020, not 2025
    assert bis_2024.unit("U2").coefficient == Decimal(3)  # type: ignore[union-attr]
    assert bis_2025.unit("U2").coefficient == Decimal(2)  # type: ignore[union-attr]
    assert bis_2025.unit("U2").source is Provenance.UNVERIFIED  # type: ignore[union-attr]
    assert catalogue.r408_specialties_unverified == ()


# --- broken data files ----------------------------------------------------------------------------


def broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    for file in ("regulations.yaml", "calendars.yaml"):
        shutil.copy(DATA_DIR / file, tmp_path / file)
    path = tmp_path / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should appear once in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


MCO_U2 = 'coefficient: 1.5, domain: general, form: "écrit 2 h"'
AIX = 'registration_closes: "2025-11-12T17:00"'


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        (
            "regulations.yaml",
            MCO_U2,
            'coefficient: 0, domain: general, form: "écrit 2 h"',
            "specialties.MCO.units[1].coefficient: Input should be greater than 0",
        ),
        (
            "regulations.yaml",
            MCO_U2,
            'coeficient: 1.5, domain: general, form: "écrit 2 h"',
            "specialties.MCO.units[1].coefficient: Field required",
        ),
        (
            "regulations.yaml",
            MCO_U2,
            'coefficient: 1.5, domain: generale, form: "écrit 2 h"',
            "specialties.MCO.units[1].domain: Input should be 'general' or 'professional'",
        ),
        (
            "regulations.yaml",
            "{code: U8, test: E8",
            "{code: U7, test: E8",
            "specialties.MCO.units: unit codes must be unique within a regulation: U7",
        ),
        (
            "regulations.yaml",
            "russe]  # 2018 text, official",
            "russe, Klingon]  # 2018 text, official",
            "specialties.MCO.languages: language 'Klingon' must be a non-empty lower-case",
        ),
        (
            "regulations.yaml",
            "  - grec moderne\n",
            "  - Grec moderne\n",
            "rare_languages: language 'Grec moderne'",
        ),
        (
            "regulations.yaml",
            '{code: U6, test: E6, title: "Conception',
            '{code: U9, test: E6, title: "Conception',
            "specialties.SIO-SLAM.override_units[0].code: U9 is not a unit of SIO-SISR",
        ),
        (
            "regulations.yaml",
            "same_as: SIO-SISR",
            "same_as: SIO-SISX",
            "specialties.SIO-SLAM.same_as: no regulation of SIO-SISX applies from session 2025",
        ),
        (
            "regulations.yaml",
            "  NDRC:\n",
            "  MCO:\n",
            "duplicate key 'MCO'\n  in \"",
        ),
        (
            "regulations.yaml",
            "rare_languages_source: unverified",
            "rare_languages_source: [unverified",
            "invalid YAML",
        ),
        (
            "calendars.yaml",
            AIX,
            'registration_closes: "2025-10-10T07:00"',
            "calendars[0].registration_closes: the window must close after it opens (vendredi 10"
            " octobre 2025 à 08:00, heure de Paris) (got '2025-10-10T07:00 heure de Paris')",
        ),
        (
            "calendars.yaml",
            'documents_deadline: "2025-11-28T17:00"',
            'documents_deadline: "2025-11-12T16:00"',
            "calendars[0].documents_deadline: the documents deadline cannot be before",
        ),
        (
            "calendars.yaml",
            'registration_opens: "2023-10-12T14:00"',
            'registration_opens: "2023-03-26T02:15"',
            "calendars[1].registration_opens: 2023-03-26 02:15 does not exist in Europe/Paris",
        ),
        (
            "calendars.yaml",
            'convocations_from: "2026-04-15"',
            'convocations_from: "mi-avril"',
            "calendars[0].convocations_from: 'mi-avril' is not a date",
        ),
        (
            "calendars.yaml",
            "academy: lille\n    session: 2024",
            "academy: nancy-metz\n    session: 2024",
            "calendars[2]: nancy-metz already has a calendar for session 2024",
        ),
    ],
)
def test_a_broken_data_file_fails_naming_the_file_and_the_field(
    tmp_path: Path, name: str, old: str, new: str, expected: str
) -> None:
    path = broken_copy(tmp_path, name, old, new)
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(tmp_path)
    message = str(raised.value)
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_a_missing_data_file_is_named(tmp_path: Path) -> None:
    shutil.copy(DATA_DIR / "regulations.yaml", tmp_path / "regulations.yaml")
    with pytest.raises(ReferenceDataError, match=r"calendars\.yaml: cannot read the file"):
        load_reference(tmp_path)
