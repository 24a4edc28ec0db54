"""The deliberation of the results service (R-13 to R-17, R-27 to R-32), a pure function: a table of
worked cases (the arithmetic in each comment), the invalid inputs of the `archipel deliberate` contract,
half-up rounding, property tests (order of the input, monotony, determinism) and the service's own
copy of the regulations."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.results.deliberation import (
    Absence,
    Deliberation,
    DeliberationRequest,
    Outcome,
    UnitResult,
    deliberate,
    deliberate_request,
    parse_request,
    two_decimals,
)
from shared.errors import InvalidInput
from shared.reference import Domain, ExamForm, Regulation, load_reference, regulation_for

ROOT = Path(__file__).resolve().parents[2]
SESSION = 2026

# A small regulation with easy arithmetic: the compulsory coefficients sum to 8, the professional ones to 4.
REGULATION = Regulation.model_validate(
    {
        "units": [
            {"code": "G1", "title": "Culture générale", "coefficient": 2, "domain": "general"},
            {"code": "G2", "title": "Langue", "coefficient": 1, "domain": "general"},
            {"code": "G3", "title": "Mathématiques", "coefficient": 1, "domain": "general"},
            {"code": "P1", "title": "Professionnelle 1", "coefficient": 2, "domain": "professional"},
            {"code": "P2", "title": "Professionnelle 2", "coefficient": 2, "domain": "professional"},
        ],
        "optional_units": [
            {"code": "O1", "title": "Langue facultative", "coefficient": 1},
            {"code": "O2", "title": "Mathématiques approfondies", "coefficient": 1},
            {"code": "O3", "title": "Engagement étudiant", "coefficient": 1},
        ],
    }
)
COMPULSORY = ("G1", "G2", "G3", "P1", "P2")


def g(grade: str) -> dict[str, Any]:
    return {"grade": Decimal(grade)}


def carried(grade: str, session: int) -> dict[str, Any]:
    return {"benefit": {"grade": Decimal(grade), "session": session}}


JUSTIFIED: dict[str, Any] = {"absent": "justified"}
UNJUSTIFIED: dict[str, Any] = {"absent": "unjustified"}
DISPENSED: dict[str, Any] = {"dispensed": True}


def every(grade: str, **others: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Every compulsory unit graded `grade`, then `others` (a unit set to None is left out)."""
    results: dict[str, dict[str, Any] | None] = {code: g(grade) for code in COMPULSORY}
    results.update(others)
    return {code: value for code, value in results.items() if value is not None}


def request(
    results: dict[str, Any], form: str = "globale", controle: dict[str, str] | None = None, **more: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"specialty": "TEST", "session": SESSION, "form": form, "results": results, **more}
    if controle is not None:
        data["controle"] = {code: Decimal(grade) for code, grade in controle.items()}
    return data


def run(data: dict[str, Any]) -> Deliberation:
    parsed = parse_request(data)
    return deliberate_request(parsed, parsed.regulation or REGULATION)


def output(data: dict[str, Any]) -> dict[str, Any]:
    return run(data).as_json()


# --- the table of worked cases ---------------------------------------------------------------------
# Each case: the input, then outcome, average, professional average, final average (None: not given)
# and the benefits granted as {unit: grade}. Weights: G1 2, G2 1, G3 1, P1 2, P2 2 (sum 8); pro P1+P2 = 4.

CASES = [
    pytest.param(
        # 10 everywhere: 80/8 = 10 exactly -> admitted (R-28: "at least 10"); pro 40/4 = 10.
        request(every("10")),
        "ADMIS", "10.00", "10.00", None, {},
        id="admis-average-exactly-10",
    ),
    pytest.param(
        # G3 9.92: (20 + 10 + 9.92 + 20 + 20)/8 = 79.92/8 = 9.99 < 10; pro exactly 40/4 = 10 >= 10 -> contrôle.
        request(every("10", G3=g("9.92"))),
        "CONTROLE", "9.99", "10.00", None, {},
        id="controle-average-9.99-pro-exactly-10",
    ),
    pytest.param(
        # G3 9.96: 79.96/8 = 9.995 exactly: REPORTED "10.00" (half-up) but 9.995 < 10 on the exact value.
        request(every("10", G3=g("9.96"))),
        "CONTROLE", "10.00", "10.00", None, {},
        id="controle-average-9.995-shown-10.00-compared-exactly",
    ),
    pytest.param(
        # Generals 9, P1 9.98, P2 10: (18 + 9 + 9 + 19.96 + 20)/8 = 75.96/8 = 9.495 -> "9.50" (half-up);
        # pro (19.96 + 20)/4 = 9.99 < 10 -> no contrôle (R-29) -> refused. Globale: only P2 (10) is carried.
        request(every("9", P1=g("9.98"), P2=g("10"))),
        "AJOURNE", "9.50", "9.99", None, {"P2": "10.00"},
        id="ajourne-pro-average-9.99",
    ),
    pytest.param(
        # Generals 6, pros 10: (12 + 6 + 6 + 20 + 20)/8 = 64/8 = 8 exactly -> contrôle (R-29: "at least 8").
        request(every("10", G1=g("6"), G2=g("6"), G3=g("6"))),
        "CONTROLE", "8.00", "10.00", None, {},
        id="controle-average-exactly-8",
    ),
    pytest.param(
        # G3 5.92: (12 + 6 + 5.92 + 20 + 20)/8 = 63.92/8 = 7.99 < 8 -> refused; P1, P2 (10) carried.
        request(every("10", G1=g("6"), G2=g("6"), G3=g("5.92"))),
        "AJOURNE", "7.99", "10.00", None, {"P1": "10.00", "P2": "10.00"},
        id="ajourne-average-7.99",
    ),
    pytest.param(
        # 9.5 everywhere: 76/8 = 9.5; O1 14 adds 1 x (14 - 10) = 4: 80/8 = 10 -> admitted.
        # The bonus is not in the professional average: 38/4 = 9.5.
        request(every("9.5", O1=g("14"))),
        "ADMIS", "10.00", "9.50", None, {},
        id="optional-bonus-lifts-to-10",
    ),
    pytest.param(
        # 9 everywhere: 72; O1 12 -> +2, O2 13 -> +3: 77/8 = 9.625 -> "9.63"; pro 9 -> refused.
        # Globale: O1 and O2 (>= 10) are carried, no compulsory unit is.
        request(every("9", O1=g("12"), O2=g("13"))),
        "AJOURNE", "9.63", "9.00", None, {"O1": "12.00", "O2": "13.00"},
        id="two-optional-bonuses",
    ),
    pytest.param(
        # 9.5 everywhere: 76/8 = 9.5; O1 8 counts nothing (8 - 10 < 0), O2 exactly 10 counts 0.
        # Pro 9.5 < 10 -> refused; globale carries O2 (10) only.
        request(every("9.5", O1=g("8"), O2=g("10"))),
        "AJOURNE", "9.50", "9.50", None, {"O2": "10.00"},
        id="optional-below-or-at-10-counts-nothing",
    ),
    pytest.param(
        # An absence from an optional unit neither eliminates nor counts: 80/8 = 10 -> admitted.
        request(every("10", O1=UNJUSTIFIED)),
        "ADMIS", "10.00", "10.00", None, {},
        id="optional-absence-does-not-eliminate",
    ),
    pytest.param(
        # G2 justified absence counts 0: (22 + 0 + 11 + 22 + 22)/8 = 77/8 = 9.625 -> "9.63"; pro 11.
        request(every("11", G2=JUSTIFIED)),
        "CONTROLE", "9.63", "11.00", None, {},
        id="justified-absence-counts-0",
    ),
    pytest.param(
        # G2 unjustified absence eliminates; the average is still reported, the absence counting 0:
        # 77/8 = 9.625 -> "9.63". An eliminated candidate keeps the grades >= 10 (decision 4).
        request(every("11", G2=UNJUSTIFIED)),
        "ELIMINE", "9.63", "11.00", None, {"G1": "11.00", "G3": "11.00", "P1": "11.00", "P2": "11.00"},
        id="unjustified-absence-eliminates",
    ),
    pytest.param(
        # ELIMINE wins even over an average >= 10: (40 + 0 + 20 + 40 + 40)/8 = 140/8 = 17.5.
        request(every("20", G2=UNJUSTIFIED)),
        "ELIMINE", "17.50", "20.00", None, {"G1": "20.00", "G3": "20.00", "P1": "20.00", "P2": "20.00"},
        id="elimine-wins-over-admis",
    ),
    pytest.param(
        # G1 dispensed leaves the denominator: (8 + 8 + 20 + 20)/(8 - 2) = 56/6 = 9.333.. -> "9.33".
        request(every("10", G1=DISPENSED, G2=g("8"), G3=g("8"))),
        "CONTROLE", "9.33", "10.00", None, {},
        id="dispensed-leaves-denominator",
    ),
    pytest.param(
        # G1 dispensed, the rest 10: 60/6 = 10 -> admitted (with G1 in the denominator it would be 60/8).
        request(every("10", G1=DISPENSED)),
        "ADMIS", "10.00", "10.00", None, {},
        id="dispensed-admis-at-exactly-10",
    ),
    pytest.param(
        # P1, P2 dispensed (VAE): generals 9 -> 36/4 = 9; no professional average (null), so the contrôle
        # condition "pro >= 10" is not met (decision 6) -> refused; nothing >= 10 to carry.
        request(every("9", P1=DISPENSED, P2=DISPENSED)),
        "AJOURNE", "9.00", None, None, {},
        id="no-professional-unit-no-controle",
    ),
    pytest.param(
        # G1 carried 12 (2023) counts as a grade: (24 + 10 + 10 + 20 + 20)/8 = 84/8 = 10.5.
        request(every("10", G1=carried("12", 2023))),
        "ADMIS", "10.50", "10.00", None, {},
        id="carried-grade-counts",
    ),
    pytest.param(
        # Carried from 2021 = five sessions before 2026: still valid. (24+9+9+18+18)/8 = 78/8 = 9.75,
        # pro 9 -> refused; the carried G1 is not granted again, nothing else reaches 10.
        request(every("9", G1=carried("12", 2021))),
        "AJOURNE", "9.75", "9.00", None, {},
        id="carried-grade-five-sessions-old-valid",
    ),
    pytest.param(
        # G1 12, G2 10, G3 9.99, P1 4, P2 6, O1 11: (24 + 10 + 9.99 + 8 + 12 + 1)/8 = 64.99/8 = 8.12375 -> "8.12";
        # pro (8 + 12)/4 = 5 -> refused. Globale carries the grades >= 10: G1, G2 (exactly 10), O1; not G3.
        request(every("10", G1=g("12"), G3=g("9.99"), P1=g("4"), P2=g("6"), O1=g("11"))),
        "AJOURNE", "8.12", "5.00", None, {"G1": "12.00", "G2": "10.00", "O1": "11.00"},
        id="benefits-globale-10-or-more",
    ),
    pytest.param(
        # G1 carried 15 (2024), G2 12, the rest 5: (30 + 12 + 5 + 10 + 10)/8 = 67/8 = 8.375 -> "8.38"; pro 5.
        # Only G2, graded at this session, is granted: a carried grade keeps its own validity.
        request(every("5", G1=carried("15", 2024), G2=g("12"))),
        "AJOURNE", "8.38", "5.00", None, {"G2": "12.00"},
        id="benefits-carried-not-granted-again",
    ),
    # --- forme progressive (R-10, R-15) ---
    pytest.param(
        # G2, G3, P2 have no result yet -> INCOMPLET, no average, nothing granted (decision 5).
        request({"G1": g("12"), "P1": g("8")}, form="progressive"),
        "INCOMPLET", None, None, None, {},
        id="progressive-incomplet",
    ),
    pytest.param(
        # Progressive: carried G1 6 (2022) counts although < 10: (12 + 11 + 11 + 22 + 22)/8 = 78/8
        # = 9.75; pro 11 -> contrôle.
        request(every("11", G1=carried("6", 2022)), form="progressive"),
        "CONTROLE", "9.75", "11.00", None, {},
        id="progressive-carried-below-10-counts",
    ),
    pytest.param(
        # Progressive, all results in: G1 4, G2 justified absence, G3 carried 6 (2023), P1 7, P2 8:
        # (8 + 0 + 6 + 14 + 16)/8 = 44/8 = 5.5 -> refused. R-15 carries every grade obtained now, below 10
        # too: G1, P1, P2 (not the absence, not the carried G3).
        request(every("0", G1=g("4"), G2=JUSTIFIED, G3=carried("6", 2023), P1=g("7"), P2=g("8")), form="progressive"),
        "AJOURNE", "5.50", "7.50", None, {"G1": "4.00", "P1": "7.00", "P2": "8.00"},
        id="progressive-benefits-every-graded-unit",
    ),
    pytest.param(
        # Progressive, units missing AND an unjustified absence: ELIMINE wins over INCOMPLET; no average
        # (units missing); the graded P1 is carried.
        request({"G1": UNJUSTIFIED, "P1": g("12")}, form="progressive"),
        "ELIMINE", None, None, None, {"P1": "12.00"},
        id="progressive-elimine-wins-over-incomplet",
    ),
    pytest.param(
        # Progressive 10 everywhere: 80/8 = 10 -> admitted, same rules as globale.
        request(every("10"), form="progressive"),
        "ADMIS", "10.00", "10.00", None, {},
        id="progressive-admis",
    ),
    # --- épreuves de contrôle (R-29 to R-31) ---
    pytest.param(
        # Generals 9, pros 10: (18 + 9 + 9 + 20 + 20)/8 = 76/8 = 9.5, pro 10 -> contrôle. G1 11 (better than 9)
        # and G2 7 (worse: 9 stays): (22 + 9 + 9 + 40)/8 = 80/8 = 10 -> admitted.
        request(every("10", G1=g("9"), G2=g("9"), G3=g("9")), controle={"G1": "11", "G2": "7"}),
        "ADMIS", "9.50", "10.00", "10.00", {},
        id="controle-better-of-admis-at-exactly-10",
    ),
    pytest.param(
        # Same 9.5; G1 9.5 and G3 8: G1 -> 9.5, G3 stays 9: (19 + 9 + 9 + 40)/8 = 77/8 = 9.625 -> refused
        # (AJOURNE). Globale carries P1, P2 (10); G1 9.5 is below 10.
        request(every("10", G1=g("9"), G2=g("9"), G3=g("9")), controle={"G1": "9.5", "G3": "8"}),
        "AJOURNE", "9.50", "10.00", "9.63", {"P1": "10.00", "P2": "10.00"},
        id="controle-refused-ajourne",
    ),
    pytest.param(
        # One unit retaken: G2 12: (18 + 12 + 9 + 40)/8 = 79/8 = 9.875 -> "9.88" refused; the contrôle grade
        # 12 (>= 10) is granted with P1, P2.
        request(every("10", G1=g("9"), G2=g("9"), G3=g("9")), controle={"G2": "12"}),
        "AJOURNE", "9.50", "10.00", "9.88", {"G2": "12.00", "P1": "10.00", "P2": "10.00"},
        id="controle-one-unit-grade-granted",
    ),
    pytest.param(
        # G3 justified absence (0): (22 + 11 + 0 + 22 + 22)/8 = 77/8 = 9.625, pro 11 -> contrôle; G3 10:
        # (77 + 10)/8 = 87/8 = 10.875 -> "10.88" admitted.
        request(every("11", G3=JUSTIFIED), controle={"G3": "10"}),
        "ADMIS", "9.63", "11.00", "10.88", {},
        id="controle-after-justified-absence",
    ),
    pytest.param(
        # A carried grade may be retaken: G1 carried 10 (2025), G2 9.5, G3 9.5, pros 10:
        # (20 + 9.5 + 9.5 + 20 + 20)/8 = 79/8 = 9.875 -> "9.88", pro 10 -> contrôle; G1 13:
        # (26 + 9.5 + 9.5 + 40)/8 = 85/8 = 10.625 -> "10.63" admitted.
        request(every("10", G1=carried("10", 2025), G2=g("9.5"), G3=g("9.5")), controle={"G1": "13"}),
        "ADMIS", "9.88", "10.00", "10.63", {},
        id="controle-on-carried-grade",
    ),
    pytest.param(
        # Optional bonus counts in the final average too: generals 9, pros 10, O1 11: 77/8 = 9.625;
        # G2 10: 78/8 = 9.75 -> refused; carried: P1, P2, O1 (>= 10) and G2 (10, the contrôle grade).
        request(every("10", G1=g("9"), G2=g("9"), G3=g("9"), O1=g("11")), controle={"G2": "10"}),
        "AJOURNE", "9.63", "10.00", "9.75", {"G2": "10.00", "P1": "10.00", "P2": "10.00", "O1": "11.00"},
        id="controle-final-average-with-bonus",
    ),
    # --- rounding half-up of the reported averages ---
    pytest.param(
        # 10.005 everywhere: 80.04/8 = 10.005 exactly -> "10.01" (half-up).
        request(every("10.005")),
        "ADMIS", "10.01", "10.01", None, {},
        id="rounding-10.005-half-up",
    ),
    pytest.param(
        # 10.004999 everywhere -> 10.004999 -> "10.00".
        request(every("10.004999")),
        "ADMIS", "10.00", "10.00", None, {},
        id="rounding-10.004999-down",
    ),
    pytest.param(
        # G3 10.01, the rest 10: 80.01; O1 10.03 adds 0.03: 80.04/8 = 10.005 exactly -> "10.01".
        request(every("10", G3=g("10.01"), O1=g("10.03"))),
        "ADMIS", "10.01", "10.00", None, {},
        id="rounding-with-bonus",
    ),
    pytest.param(
        # G1 dispensed, G2 10.01, the rest 10: 60.01/6 = 10.001666.. -> "10.00" (exact fraction, not a float).
        request(every("10", G1=DISPENSED, G2=g("10.01"))),
        "ADMIS", "10.00", "10.00", None, {},
        id="rounding-repeating-fraction",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("data", "outcome", "average", "professional", "final", "benefits"), CASES)
def test_worked_cases(
    data: dict[str, Any],
    outcome: str,
    *,  # pytest passes the parameters by name
    average: str | None,
    professional: str | None,
    final: str | None,
    benefits: dict[str, str],
) -> None:
    result = output(data)
    assert result["outcome"] == outcome
    assert result["average"] == average
    assert result["professional_average"] == professional
    if "controle" in data:
        assert result["final_average"] == final
    else:
        assert "final_average" not in result
    assert {b["unit"]: b["grade"] for b in result["benefits"]} == benefits
    assert all(b["valid_through_session"] == SESSION + 5 for b in result["benefits"])
    assert list(result) == [
        "outcome",
        "average",
        "professional_average",
        *(["final_average"] if "controle" in data else []),
        "units",
        "benefits",
    ]


def test_units_entries_sources_and_order() -> None:
    """Decision 7: one entry per unit present, in the regulation's order, whatever the input's order."""
    results = {
        "O1": g("12"),
        "P2": carried("14", 2024),
        "G3": JUSTIFIED,
        "G2": UNJUSTIFIED,
        "G1": g("12.345"),
        "P1": DISPENSED,
    }
    result = output(request(results))
    assert result["units"] == {
        "G1": {"retained": "12.35", "source": "grade"},
        "G2": {"retained": "0.00", "source": "absent"},
        "G3": {"retained": "0.00", "source": "absent"},
        "P1": {"retained": None, "source": "dispensed"},
        "P2": {"retained": "14.00", "source": "benefit"},
        "O1": {"retained": "12.00", "source": "grade"},
    }
    assert list(result["units"]) == ["G1", "G2", "G3", "P1", "P2", "O1"]


def test_controle_sources_better_of_and_tie() -> None:
    """R-31: the better grade stays; on a tie the first-group grade (and its source) stays."""
    result = output(request(every("10", G1=g("9"), G2=g("9"), G3=g("9")), controle={"G1": "9", "G2": "9.01"}))
    assert result["units"]["G1"] == {"retained": "9.00", "source": "grade"}
    assert result["units"]["G2"] == {"retained": "9.01", "source": "controle"}
    # (18 + 9.01 + 9 + 40)/8 = 76.01/8 = 9.50125
    assert (result["average"], result["final_average"], result["outcome"]) == ("9.50", "9.50", "AJOURNE")


def test_exact_averages_are_fractions() -> None:
    deliberation = run(request(every("10", G1=DISPENSED, G2=g("10.01"))))
    assert deliberation.average == Fraction(6001, 600)
    assert deliberation.professional_average == Fraction(10)


def test_empty_controle_is_no_controle() -> None:
    result = output(request(every("10"), controle={}))
    assert result["outcome"] == "ADMIS"
    assert "final_average" not in result


def test_the_catalogue_regulation_with_decimal_coefficients() -> None:
    """MCO has coefficients 1.5 (U2, U3): 12 on U1..U4 and 8 on U5..U8: (3x12 + 1.5x12 + 1.5x12 + 3x12
    + 4x3x8)/(9 + 12) = (108 + 96)/21 = 204/21 = 9.714.. -> "9.71"; pro 8 -> refused; U1..U4 carried."""
    regulation = regulation_for("MCO", SESSION)
    results = {f"U{i}": g("12" if i <= 4 else "8") for i in range(1, 9)}
    result = output(request(results, regulation=regulation.model_dump(include={"units", "optional_units"})))
    assert (result["outcome"], result["average"], result["professional_average"]) == ("AJOURNE", "9.71", "8.00")
    assert [b["unit"] for b in result["benefits"]] == ["U1", "U2", "U3", "U4"]


# --- invalid input -----------------------------------------------------------------------------------

CONTROLE_CANDIDATE = every("10", G1=g("9"), G2=g("9"), G3=g("9"))  # 9.5, pro 10

INVALID = [
    pytest.param(request(every("10"), form="modulaire"), "form", "globale", id="unknown-form"),
    pytest.param(request(every("10", X9=g("12"))), "results.X9", "unknown unit", id="unknown-unit"),
    pytest.param(request(every("10", G2=g("20.01"))), "results.G2.grade", "between 0 and 20", id="grade-above-20"),
    pytest.param(request(every("10", G2=g("-0.5"))), "results.G2.grade", "between 0 and 20", id="grade-below-0"),
    pytest.param(
        request(every("10", G2=carried("21", 2024))), "results.G2.benefit.grade", "between 0 and 20",
        id="carried-grade-above-20",
    ),
    pytest.param(
        request(every("10", G2=carried("9.99", 2024))), "results.G2.benefit.grade", "10 or more",
        id="globale-carried-grade-below-10",
    ),
    pytest.param(
        request(every("10", G2=carried("12", 2020))), "results.G2.benefit.session", "five sessions",
        id="carried-grade-six-sessions-old",
    ),
    pytest.param(
        request(every("10", G2=carried("4", 2020)), form="progressive"), "results.G2.benefit.session",
        "five sessions", id="progressive-carried-grade-six-sessions-old",
    ),
    pytest.param(
        request(every("10", G2=carried("12", 2026))), "results.G2.benefit.session", "before 2026",
        id="carried-grade-from-this-session",
    ),
    pytest.param(request(every("10", G3=None)), "results.G3", "missing", id="globale-unit-missing"),
    pytest.param(request(every("10"), controle={"G1": "12"}), "controle", "ADMIS", id="controle-when-admis"),
    pytest.param(
        request(every("5"), controle={"G1": "12"}), "controle", "AJOURNE", id="controle-when-ajourne"
    ),
    pytest.param(
        request(every("9", G2=UNJUSTIFIED, P1=g("12"), P2=g("12")), controle={"G1": "12"}), "controle", "ELIMINE",
        id="controle-when-elimine",
    ),
    pytest.param(
        request({"G1": g("9")}, form="progressive", controle={"G1": "12"}), "controle", "INCOMPLET",
        id="controle-when-incomplet",
    ),
    pytest.param(
        request(CONTROLE_CANDIDATE, controle={"G1": "12", "G2": "12", "G3": "12"}), "controle", "at most 2",
        id="controle-three-units",
    ),
    pytest.param(
        request(CONTROLE_CANDIDATE, controle={"P1": "12"}), "controle.P1", "general-domain",
        id="controle-professional-unit",
    ),
    pytest.param(
        request({**CONTROLE_CANDIDATE, "O1": g("11")}, controle={"O1": "12"}), "controle.O1", "optional unit",
        id="controle-optional-unit",
    ),
    pytest.param(request(CONTROLE_CANDIDATE, controle={"X9": "12"}), "controle.X9", "unknown", id="controle-unknown"),
    pytest.param(
        # G1 dispensed: (9 + 9 + 40)/6 = 9.67, pro 10 -> contrôle allowed, but not on the dispensed G1.
        request(every("10", G1=DISPENSED, G2=g("9"), G3=g("9")), controle={"G1": "12"}), "controle.G1", "dispensed",
        id="controle-dispensed-unit",
    ),
    pytest.param(
        request(CONTROLE_CANDIDATE, controle={"G1": "21"}), "controle.G1", "between 0 and 20", id="controle-grade-21"
    ),
    pytest.param(
        request(every("10", O1=g("11"), O2=g("11"), O3=g("11"))), "results", "at most 2 optional",
        id="three-optional-units",
    ),
    pytest.param(
        request({code: DISPENSED for code in COMPULSORY}), "results", "every compulsory unit is dispensed",
        id="everything-dispensed",
    ),
    pytest.param(
        request(every("10", G1={"grade": Decimal(12), "absent": "justified"})), "results.G1", "exactly one",
        id="two-results-for-one-unit",
    ),
    pytest.param(request(every("10", G1={})), "results.G1", "exactly one", id="no-result-for-a-unit"),
    pytest.param(request(every("10", G1={"absent": "maybe"})), "results.G1.absent", "justified", id="absent-value"),
    pytest.param(request(every("10", G1={"dispensed": False})), "results.G1.dispensed", "True", id="dispensed-false"),
    pytest.param(request(every("10", G1={"grade": "12"})), "results.G1.grade", "number", id="grade-as-string"),
    pytest.param(request(every("10", G1={"grade": True})), "results.G1.grade", "number", id="grade-as-boolean"),
    pytest.param(
        request(every("10"), session="2026"), "session", "integer", id="session-as-string"
    ),
    pytest.param({"form": "globale", "results": {}}, "session", "required", id="session-missing"),
    pytest.param(request(every("10"), académie="aix"), "académie", "Extra", id="unknown-field"),
    pytest.param(
        request(every("10"), regulation={"units": [{"code": "G1", "coefficient": 0, "domain": "general"}]}),
        "regulation.units[0].coefficient", "greater than 0", id="regulation-coefficient-0",
    ),
    pytest.param(
        request(every("10"), regulation={"units": [{"code": "G1", "coefficient": 1, "domain": "sport"}]}),
        "regulation.units[0].domain", "general", id="regulation-unknown-domain",
    ),
    pytest.param(
        request(
            every("10"),
            regulation={"units": [{"code": "G1", "coefficient": 1, "domain": "general"}] * 2},
        ),
        "regulation.units", "unique", id="regulation-duplicate-unit",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("data", "field", "reason"), INVALID)
def test_invalid_input_names_the_field(data: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as error:
        run(data)
    assert error.value.field == field
    assert reason in error.value.reason
    assert "\n" not in error.value.reason


def test_parse_request_needs_an_object() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_request([1, 2])
    assert error.value.field == "input"


# --- rounding --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(10005, 1000), "10.01"),
        (Fraction(10004999, 1000000), "10.00"),
        (Fraction(19, 2), "9.50"),
        (Fraction(9995, 1000), "10.00"),
        (Fraction(2, 3), "0.67"),
        (Fraction(1, 3), "0.33"),
        (Fraction(1, 200), "0.01"),
        (Fraction(0), "0.00"),
        (Fraction(20), "20.00"),
        (Decimal("12.345"), "12.35"),
        (Decimal("12.344999"), "12.34"),
        (Fraction(-1, 200), "-0.01"),
    ],
    ids=str,
)
def test_two_decimals_half_up(value: Fraction | Decimal, text: str) -> None:
    assert two_decimals(value) == text


# --- properties --------------------------------------------------------------------------------------

GRADES = st.decimals(min_value=0, max_value=20, places=2)


@st.composite
def unit_results(draw: st.DrawFn, form: ExamForm) -> dict[str, UnitResult]:
    """Results for every compulsory unit (never all dispensed) and at most two optional units."""
    low = 10 if form is ExamForm.GLOBALE else 0
    entry = st.one_of(
        GRADES.map(lambda grade: UnitResult(grade=grade)),
        st.sampled_from(
            [UnitResult(absent=Absence.JUSTIFIED), UnitResult(absent=Absence.UNJUSTIFIED), UnitResult(dispensed=True)]
        ),
        st.builds(
            lambda grade, session: UnitResult.model_validate({"benefit": {"grade": grade, "session": session}}),
            st.decimals(min_value=low, max_value=20, places=2),
            st.integers(min_value=SESSION - 5, max_value=SESSION - 1),
        ),
    )
    results = {code: draw(entry) for code in COMPULSORY}
    if all(result.dispensed for result in results.values()):
        results["G1"] = UnitResult(grade=draw(GRADES))
    options = draw(st.lists(st.sampled_from(["O1", "O2", "O3"]), max_size=2, unique=True))
    results.update({code: UnitResult(grade=draw(GRADES)) for code in options})
    return results


def _controle_for(deliberation: Deliberation, results: dict[str, UnitResult], seed: int) -> dict[str, Decimal]:
    if deliberation.outcome is not Outcome.CONTROLE:
        return {}
    chosen = [c for c in ("G1", "G2", "G3") if not results[c].dispensed][:2]
    return {code: Decimal(seed % 2001) / 100 for code in chosen}


@settings(max_examples=300, deadline=None)
@given(form=st.sampled_from(list(ExamForm)), data=st.data(), seed=st.integers(0, 10**6))
def test_the_order_of_the_input_never_matters(form: ExamForm, data: st.DataObject, seed: int) -> None:
    results = data.draw(unit_results(form))
    first = deliberate(REGULATION, form, SESSION, results)
    controle = _controle_for(first, results, seed)
    baseline = deliberate(REGULATION, form, SESSION, results, controle)
    codes = list(results)
    random.Random(seed).shuffle(codes)
    shuffled = {code: results[code] for code in codes}
    controle_shuffled = dict(reversed(list(controle.items())))
    again = deliberate(REGULATION, form, SESSION, shuffled, controle_shuffled)
    assert again == baseline
    assert again.as_json() == baseline.as_json()
    assert list(again.as_json()["units"]) == list(baseline.as_json()["units"])


@settings(max_examples=300, deadline=None)
@given(form=st.sampled_from(list(ExamForm)), data=st.data())
def test_raising_a_grade_never_lowers_the_average(form: ExamForm, data: st.DataObject) -> None:
    results = data.draw(unit_results(form))
    graded = [code for code, result in results.items() if result.grade is not None]
    if not graded:
        results["G2"] = UnitResult(grade=Decimal(0))
        graded = ["G2"]
    code = data.draw(st.sampled_from(sorted(graded)))
    old = results[code].grade
    assert old is not None
    new = data.draw(st.decimals(min_value=old, max_value=20, places=2))
    before = deliberate(REGULATION, form, SESSION, results)
    after = deliberate(REGULATION, form, SESSION, {**results, code: UnitResult(grade=new)})
    assert before.average is not None
    assert after.average is not None
    assert after.average >= before.average
    unit = REGULATION.unit(code)
    if unit is not None and unit.domain is Domain.PROFESSIONAL:
        assert before.professional_average is not None
        assert after.professional_average is not None
        assert after.professional_average >= before.professional_average


@settings(max_examples=200, deadline=None)
@given(form=st.sampled_from(list(ExamForm)), data=st.data(), seed=st.integers(0, 10**6))
def test_deliberating_twice_gives_identical_output(form: ExamForm, data: st.DataObject, seed: int) -> None:
    results = data.draw(unit_results(form))
    first = deliberate(REGULATION, form, SESSION, results)
    controle = _controle_for(first, results, seed)
    one = deliberate(REGULATION, form, SESSION, results, controle)
    two = deliberate(REGULATION, form, SESSION, results, controle)
    assert one == two
    assert one.as_json() == two.as_json()


# --- the service's own regulations (R-32) ---------------------------------------------------------


def test_load_regulations_resolves_same_as_and_overrides() -> None:
    regulations = {(r.specialty, r.first_session): r for r in load_reference().regulations}
    sisr, slam = regulations[("SIO-SISR", 2025)], regulations[("SIO-SLAM", 2025)]
    assert [u.code for u in slam.units] == [u.code for u in sisr.units]
    slam_u6, sisr_u6 = slam.unit("U6"), sisr.unit("U6")
    assert slam_u6 is not None and sisr_u6 is not None
    assert slam_u6.title == "Conception et développement d'applications" != sisr_u6.title
    assert slam.unit("U5") == sisr.unit("U5")
    assert slam.optional_units == sisr.optional_units
    mco = regulations[("MCO", 2025)]
    mco_u2 = mco.unit("U2")
    assert mco_u2 is not None and mco_u2.coefficient == Decimal("1.5")
    assert sum(u.coefficient for u in sisr.units if u.domain is Domain.PROFESSIONAL) == 12


def test_regulation_for_picks_the_latest_first_session() -> None:
    def version(first: int, coefficient: int) -> Regulation:
        return Regulation.model_validate(
            {
                "specialty": "X",
                "first_session": first,
                "units": [{"code": "U1", "coefficient": coefficient, "domain": "general"}],
            }
        )

    catalogue = (version(2020, 1), version(2025, 2))
    assert regulation_for("X", 2024, catalogue).first_session == 2020
    assert regulation_for("X", 2025, catalogue).first_session == 2025
    assert regulation_for("X", 2031, catalogue).first_session == 2025
    with pytest.raises(InvalidInput) as error:
        regulation_for("X", 2019, catalogue)
    assert error.value.field == "session"
    with pytest.raises(InvalidInput) as error:
        regulation_for("Y", 2026, catalogue)
    assert error.value.field == "specialty"


def test_the_deliberation_reads_the_one_reference_data() -> None:
    """There is one regulations file (shared/reference/data), read once: the deliberation's regulation is
    the very object the registration gets for the same specialty and session."""
    for specialty in load_reference().specialties():
        assert regulation_for(specialty, SESSION) is load_reference().regulation(specialty, SESSION)
    assert not (ROOT / "services" / "results" / "data").exists()
    assert not (ROOT / "services" / "registration" / "data").exists()


def test_request_model_is_frozen() -> None:
    parsed = parse_request(request(every("10")))
    assert isinstance(parsed, DeliberationRequest)
    with pytest.raises(ValueError, match="frozen"):
        parsed.session = 2027  # type: ignore[misc]
