"""`archipel deliberate [FILE]`: the JSON contract (the issue's example, stdin, the catalogue or an inline
regulation) and its failures: exit 2, one line "error: <field>: <reason>" on stderr, nothing on stdout."""

from __future__ import annotations

import io
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from archipel_cli.main import main

# The issue's example, verbatim (the inline regulation is left out: it was elided there with "...",
# so SIO-SISR 2026 comes from the catalogue).
EXAMPLE = """{"specialty": "SIO-SISR", "session": 2026, "form": "globale",
 "results": {"U1": {"grade": 12.5}, "U2": {"absent": "unjustified"}, "U3": {"absent": "justified"},
             "U4": {"dispensed": true}, "U5": {"benefit": {"grade": 14, "session": 2024}},
             "UF1": {"grade": 15}},
 "controle": {"U1": 13, "U3": 9}}"""


def example(**changes: Any) -> dict[str, Any]:
    """The example completed (U6, U7 graded) and changed: `results` entries merged, other keys replaced;
    None removes an entry."""
    data: dict[str, Any] = json.loads(EXAMPLE)
    results = data["results"] | {"U6": {"grade": 11}, "U7": {"grade": 10}} | changes.pop("results", {})
    data |= changes | {"results": {code: value for code, value in results.items() if value is not None}}
    return {key: value for key, value in data.items() if value is not None}


def deliberate(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, str, str]:
    path = tmp_path / "input.json"
    path.write_text(text, encoding="utf-8")
    code = main(["deliberate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def succeeds(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict[str, Any]) -> dict[str, Any]:
    code, out, err = deliberate(tmp_path, capsys, json.dumps(data))
    assert (code, err) == (0, "")
    assert out.endswith("\n") and out.count("\n") == 1
    result: dict[str, Any] = json.loads(out)
    return result


def fails(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    code, out, err = deliberate(tmp_path, capsys, text)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    return err.removeprefix("error: ").rstrip("\n")


def test_the_issue_example_as_given_lacks_u6(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In forme globale every compulsory unit of SIO-SISR (U1..U7) is needed: U6 is the first missing."""
    assert fails(tmp_path, capsys, EXAMPLE).startswith("results.U6: missing")


def test_the_example_completed_is_eliminated_so_controle_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # U2 unjustified absence eliminates: contrôle grades are not allowed.
    message = fails(tmp_path, capsys, json.dumps(example()))
    assert message.startswith("controle: the candidate may not sit the épreuves de contrôle")
    assert "ELIMINE" in message


def test_the_example_completed_without_controle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # U1 2x12.5 + U2 2x0 + U3 3x0 + U5 4x14 + U6 4x11 + U7 4x10 = 165 over 2+2+3+4+4+4 = 19 (U4 dispensed);
    # UF1 adds 1x(15 - 10) = 5: 170/19 = 8.947.. -> "8.95"; pro (56 + 44 + 40)/12 = 11.666.. -> "11.67".
    result = succeeds(tmp_path, capsys, example(controle=None))
    assert result == {
        "outcome": "ELIMINE",
        "average": "8.95",
        "professional_average": "11.67",
        "units": {
            "U1": {"retained": "12.50", "source": "grade"},
            "U2": {"retained": "0.00", "source": "absent"},
            "U3": {"retained": "0.00", "source": "absent"},
            "U4": {"retained": None, "source": "dispensed"},
            "U5": {"retained": "14.00", "source": "benefit"},
            "U6": {"retained": "11.00", "source": "grade"},
            "U7": {"retained": "10.00", "source": "grade"},
            "UF1": {"retained": "15.00", "source": "grade"},
        },
        "benefits": [
            {"unit": "U1", "grade": "12.50", "valid_through_session": 2031},
            {"unit": "U6", "grade": "11.00", "valid_through_session": 2031},
            {"unit": "U7", "grade": "10.00", "valid_through_session": 2031},
            {"unit": "UF1", "grade": "15.00", "valid_through_session": 2031},
        ],
    }


def test_the_example_with_u2_graded_passes_the_controle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # U2 8: 165 + 16 = 181, + 5 = 186/19 = 9.789.. -> "9.79", pro 11.67 -> contrôle.
    # U1 13 (> 12.5): +1; U3 9 (> 0, the justified absence): +27 -> 214/19 = 11.263.. -> "11.26" ADMIS.
    result = succeeds(tmp_path, capsys, example(results={"U2": {"grade": 8}}))
    assert {k: result[k] for k in ("outcome", "average", "professional_average", "final_average")} == {
        "outcome": "ADMIS",
        "average": "9.79",
        "professional_average": "11.67",
        "final_average": "11.26",
    }
    assert result["units"]["U1"] == {"retained": "13.00", "source": "controle"}
    assert result["units"]["U3"] == {"retained": "9.00", "source": "controle"}
    assert result["benefits"] == []
    assert list(result) == ["outcome", "average", "professional_average", "final_average", "units", "benefits"]

    before = succeeds(tmp_path, capsys, example(results={"U2": {"grade": 8}}, controle=None))
    assert before["outcome"] == "CONTROLE" and "final_average" not in before


def test_inline_regulation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {
        "specialty": "SIO-SISR",
        "session": 2026,
        "form": "globale",
        "regulation": {
            "units": [
                {"code": "U1", "title": "Culture", "coefficient": 2, "domain": "general"},
                {"code": "U2", "title": "Métier", "coefficient": 3, "domain": "professional"},
            ],
            "optional_units": [{"code": "UF1", "title": "Langue", "coefficient": 1}],
        },
        # (2x7 + 3x12 + 1x(11 - 10))/5 = 51/5 = 10.2
        "results": {"U1": {"grade": 7}, "U2": {"grade": 12}, "UF1": {"grade": 11}},
    }
    result = succeeds(tmp_path, capsys, data)
    assert (result["outcome"], result["average"], result["professional_average"]) == ("ADMIS", "10.20", "12.00")


def test_floats_are_read_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """10.045 on every unit averages exactly 10.045 -> "10.05"; read as a binary float (10.04499999...) it
    would round to "10.04"."""
    assert Fraction(10.045) < Fraction(10045, 1000)
    results = {f"U{i}": {"grade": 10.045} for i in range(1, 8)}
    text = json.dumps({"specialty": "SIO-SISR", "session": 2026, "form": "globale", "results": results})
    code, out, _ = deliberate(tmp_path, capsys, text)
    assert code == 0
    assert json.loads(out)["average"] == "10.05"


@pytest.mark.parametrize("argument", [["-"], []], ids=["dash", "omitted"])
def test_reads_stdin(argument: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(example(controle=None))))
    assert main(["deliberate", *argument]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert json.loads(captured.out)["outcome"] == "ELIMINE"


def test_stdin_failure(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("{"))
    assert main(["deliberate", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: input: invalid JSON") and captured.err.count("\n") == 1


CONTROLE_READY = {"U2": {"grade": 8}}

INVALID = [
    pytest.param(json.dumps(example(form="modulaire", controle=None)), "form", id="unknown-form"),
    pytest.param(json.dumps(example(results={"U9": {"grade": 10}}, controle=None)), "results.U9", id="unknown-unit"),
    pytest.param(
        json.dumps(example(results={"U1": {"grade": 20.5}}, controle=None)), "results.U1.grade", id="grade-20.5"
    ),
    pytest.param(
        json.dumps(example(results={"U1": {"grade": -1}}, controle=None)), "results.U1.grade", id="grade-negative"
    ),
    pytest.param(
        json.dumps(example(results={"U5": {"benefit": {"grade": 9.5, "session": 2024}}}, controle=None)),
        "results.U5.benefit.grade", id="globale-carried-below-10",
    ),
    pytest.param(
        json.dumps(example(results={"U5": {"benefit": {"grade": 14, "session": 2020}}}, controle=None)),
        "results.U5.benefit.session", id="carried-six-sessions-old",
    ),
    pytest.param(json.dumps(example()), "controle", id="controle-not-allowed"),
    pytest.param(
        json.dumps(example(results=CONTROLE_READY, controle={"U1": 13, "U2": 12, "U3": 9})), "controle",
        id="three-controle-units",
    ),
    pytest.param(
        json.dumps(example(results=CONTROLE_READY, controle={"U5": 15})), "controle.U5", id="controle-professional"
    ),
    pytest.param(
        json.dumps(example(results=CONTROLE_READY, controle={"U4": 15})), "controle.U4", id="controle-dispensed"
    ),
    pytest.param(json.dumps(example(results={"U7": None}, controle=None)), "results.U7", id="unit-missing"),
    pytest.param('{"session": 2026, "form": "globale", "results": {}}', "specialty", id="no-specialty-no-regulation"),
    pytest.param(
        '{"specialty": "BTS-X", "session": 2026, "form": "globale", "results": {}}', "specialty",
        id="unknown-specialty",
    ),
    pytest.param(
        '{"specialty": "SIO-SISR", "session": 2020, "form": "globale", "results": {}}', "session",
        id="session-before-the-regulation",
    ),
    pytest.param("{", "input", id="malformed-json"),
    pytest.param("", "input", id="empty-input"),
    pytest.param("[]", "input", id="not-an-object"),
    pytest.param('{"session": 2026, "session": 2027}', "input", id="duplicate-key"),
    pytest.param('{"specialty": "SIO-SISR", "session": 2026, "form": "globale", "results": {"U1": {"grade": NaN}}}',
                 "input", id="nan"),
    pytest.param(b"\xff\xfe".decode("latin-1"), "input", id="not-json-text"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field"), INVALID)
def test_invalid_input_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, field: str
) -> None:
    message = fails(tmp_path, capsys, text)
    assert message.startswith(f"{field}: ")
    assert len(message) > len(field) + 2


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deliberate", str(tmp_path / "absent.json")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: input: cannot read") and captured.err.count("\n") == 1


def test_not_utf8_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"specialty": "é"}'.encode("latin-1"))
    assert main(["deliberate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: input: ")
