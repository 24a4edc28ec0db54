"""The one reference-data package (shared/reference): loaded once and shared by registration, results and
the PDFs; each rule constant and the exam form defined once; labels kept out of the domains."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.reference import (
    BENEFIT_SESSIONS,
    DATA_DIR,
    MAX_OPTIONAL_UNITS,
    PASS_GRADE,
    ExamForm,
    ReferenceDataError,
    load_reference,
    regulation_for,
    rules,
)
from shared.reference.labels import form_label, window_label

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "shared" / "reference"
CODE = [
    path
    for folder in ("services", "shared", "archipel_cli", "bench", "docs_gen")
    for path in (ROOT / folder).rglob("*.py")
    if "proto" not in path.parts
]


def test_the_default_reference_data_is_read_once() -> None:
    assert load_reference() is load_reference()
    other = load_reference(DATA_DIR)  # another directory: read again, not cached
    assert other == load_reference() and other is not load_reference()


def test_importing_the_package_reads_nothing() -> None:
    script = (
        "import shared.reference, shared.reference.labels\n"
        "from shared.reference.loader import _default_reference\n"
        "assert _default_reference.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)


def test_registration_and_results_get_the_same_regulation_objects() -> None:
    reference = load_reference()
    for specialty in reference.specialties():
        for session in (2025, 2026, 2030):
            assert regulation_for(specialty, session) is reference.regulation(specialty, session)
    assert regulation_for("MCO", 2026, reference.regulations) is reference.regulation("MCO", 2026)


def test_one_set_of_data_files() -> None:
    assert sorted(p.name for p in (PACKAGE / "data").iterdir()) == ["calendars.yaml", "regulations.yaml"]
    yaml_files = [p for p in (ROOT / "services").rglob("*.yaml")] + [
        p for p in (ROOT / "shared").rglob("*.yaml") if PACKAGE / "data" not in p.parents
    ]
    assert yaml_files == []
    assert '"shared.reference" = ["data/*.yaml"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def _rule_constants() -> dict[str, str]:
    """NAME -> its line in rules.py."""
    lines = (PACKAGE / "rules.py").read_text(encoding="utf-8").splitlines()
    return {m.group(1): line for line in lines if (m := re.match(r"^([A-Z_]+)\s*:", line))}


def test_every_rule_constant_carries_its_rule_id() -> None:
    constants = _rule_constants()
    assert {"BENEFIT_SESSIONS", "MAX_OPTIONAL_UNITS", "PASS_GRADE", "CONTROLE_FLOOR"} <= set(constants)
    for name, line in constants.items():
        assert re.search(r"# R-\d\d", line), f"{name} has no rule id: {line}"
    assert (BENEFIT_SESSIONS, MAX_OPTIONAL_UNITS, PASS_GRADE) == (5, 2, 10)
    assert rules.BENEFIT_SESSIONS is BENEFIT_SESSIONS


def _assigned_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
        if isinstance(node, ast.ClassDef):
            names.add(f"class {node.name}")
    return names


def test_rule_constants_and_the_exam_form_are_defined_once() -> None:
    watched = {*_rule_constants(), "PASS", "PASS_DECIMAL", "class ExamForm", "class Form"}
    defined = {(name, str(path.relative_to(ROOT))) for path in CODE for name in _assigned_names(path) & watched}
    expected = {(name, "shared/reference/rules.py") for name in _rule_constants()} | {
        ("class ExamForm", "shared/reference/forms.py")
    }
    assert defined == expected


DOMAINS = [
    ROOT / "services" / "registration" / "domain",
    ROOT / "services" / "results" / "domain.py",
    ROOT / "services" / "results" / "state.py",
    ROOT / "services" / "results" / "deliberation",
]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize("path", [p for d in DOMAINS for p in ([d] if d.is_file() else sorted(d.glob("*.py")))])
def test_the_domains_import_data_models_not_labels_nor_loaders(path: Path) -> None:
    imports = _imports(path)
    assert not imports & {"shared.reference.labels", "shared.reference.loader", "shared.french", "yaml"}
    assert all(
        not m.startswith("shared.reference")
        or m.removeprefix("shared.reference.") in {"calendars", "forms", "regulations", "rules", "reference_data"}
        for m in imports
    ), imports


def test_modules_stay_small_and_typed() -> None:
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 250, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                assert node.returns is not None, f"{path.name}:{node.name}"


def test_labels() -> None:
    assert [form_label(form) for form in ExamForm] == ["Forme globale", "Forme progressive"]
    with pytest.raises(ValueError, match="unknown form of the exam 'mixte'"):
        form_label("mixte")
    calendar = load_reference().calendar("aix-marseille", 2026)
    assert calendar is not None
    assert window_label(calendar) == (
        "du vendredi 10 octobre 2025 à 08:00 au mercredi 12 novembre 2025 à 17:00 (heure de Paris)"
    )


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    for name in ("regulations.yaml", "calendars.yaml"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    path = tmp_path / "regulations.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_data_file_needs_every_field_of_a_unit(tmp_path: Path) -> None:
    """A unit given inline to the deliberation needs only code, coefficient and domain; in the data file
    its test, title, form and provenance are required too."""
    path = _broken(tmp_path, "{code: U8, test: E8, ", "{code: U8, ")
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(tmp_path)
    assert str(raised.value).startswith(f"{path}: specialties.MCO.units[7].test: Field required")


def test_the_data_file_needs_the_languages_of_a_regulation(tmp_path: Path) -> None:
    path = _broken(tmp_path, "    languages_source: official\n", "")
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(tmp_path)
    assert str(raised.value) == f"{path}: specialties.MCO.languages_source: Field required"
