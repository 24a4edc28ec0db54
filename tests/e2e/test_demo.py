"""`archipel demo` (issue 8) against the running system: run in-process as the CLI runs it, with the
environment of the services (their mail written as .eml files into home/mail, where the demo reads
the activation links). Eight candidates in two académies reach their planned outcomes, every dossier
ends in results_published, and a summary and a score sheet per candidate are saved as PDFs.

The topics are the real archipel.* ones, which the other e2e tests publish on too: the demo's
session (2031) is one no other test uses, and each académie's deliberation must count exactly the
demo's four candidates of that académie."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from archipel_cli.main import main
from tests.conftest import env_of
from tests.e2e.conftest import RunningSystem

SESSION = 2031
ENVIRONMENT = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "ARCHIPEL_TOPIC_PREFIX",
    "ARCHIPEL_DB_SCHEMA_PREFIX",
    "ARCHIPEL_HOME",
    "ARCHIPEL_GRPC_PORT_BASE",
    "ARCHIPEL_SECRETS_DIR",  # the local CA and the CLI's gRPC certificate
    "ARCHIPEL_GRPC_SECURITY",
)
# The demo's plan: OUTCOMES[(académie + category) % 4], the contrôle passed with 14 in U3 and U4.
EXPECTED = {
    "AIX-individual": ("aix-marseille", "individual", "ADMIS"),
    "AIX-distance": ("aix-marseille", "distance", "AJOURNE"),
    "AIX-professional_experience": ("aix-marseille", "professional_experience", "CONTROLE -> ADMIS"),
    "AIX-repeater": ("aix-marseille", "repeater", "ELIMINE"),
    "LYO-individual": ("lyon", "individual", "AJOURNE"),
    "LYO-distance": ("lyon", "distance", "CONTROLE -> ADMIS"),
    "LYO-professional_experience": ("lyon", "professional_experience", "ELIMINE"),
    "LYO-repeater": ("lyon", "repeater", "ADMIS"),
}
HEADER = ("candidate", "académie", "category", "dossier state", "outcome", "average")
EACH_OUTCOME_ONCE = {"ADMIS": 1, "AJOURNE": 1, "CONTROLE": 1, "ELIMINE": 1}


def _table(stdout: str) -> list[dict[str, str]]:
    """The rows of the printed table, cut at the header's column starts (cells hold spaces)."""
    lines = stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("candidate  "))
    starts = [lines[header].index(name) for name in HEADER]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    rows = []
    for line in lines[header + 1 :]:
        if line.startswith("summaries and score sheets:"):
            break
        rows.append({name: line[start:end].strip() for name, (start, end) in zip(HEADER, bounds, strict=True)})
    return rows


async def test_demo_plays_the_campaign_against_the_running_system(
    system_without_smtp: RunningSystem,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    env = env_of(system_without_smtp.settings)
    for name in ENVIRONMENT:
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("SMTP_HOST", raising=False)
    monkeypatch.delenv("SMTP_PORT", raising=False)
    out = tmp_path / "demo-output"

    # The demo runs its own event loop (asyncio.run): in a thread, away from the test's loop.
    code = await asyncio.to_thread(main, ["demo", "--out", str(out), "--session", str(SESSION)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = _table(captured.out)
    assert len(rows) == 8, captured.out
    assert {row["candidate"]: (row["académie"], row["category"], row["outcome"]) for row in rows} == EXPECTED
    assert {row["académie"] for row in rows} == {"aix-marseille", "lyon"}
    assert all(row["dossier state"] == "results_published" for row in rows), captured.out
    for row in rows:
        if row["outcome"].startswith("CONTROLE"):
            assert re.fullmatch(r"\d+\.\d\d -> \d+\.\d\d", row["average"]), row
        else:
            assert re.fullmatch(r"\d+\.\d\d", row["average"]), row
    # Each académie's deliberation of session 2031 counts the demo's four candidates there, no others.
    deliberated = dict(re.findall(r"^session deliberated in (\S+): (\{.*\})$", captured.err, re.MULTILINE))
    assert deliberated.keys() == {"aix-marseille", "lyon"}, captured.err
    for academy, outcomes in deliberated.items():
        assert ast.literal_eval(outcomes) == EACH_OUTCOME_ONCE, (academy, outcomes)

    pdfs = sorted(out.glob("*.pdf"))
    assert len(pdfs) == 16, [path.name for path in pdfs]
    for path in pdfs:
        assert len(PdfReader(path).pages) >= 1, path.name
    summaries = [path for path in pdfs if path.name.endswith("-recapitulatif.pdf")]
    sheets = [path for path in pdfs if path.name.endswith("-releve-de-notes.pdf")]
    assert len(summaries) == len(sheets) == 8
    assert {path.name.rsplit("-", 4)[0] for path in sheets} == set(EXPECTED)
    sheet = next(path for path in sheets if path.name.startswith("AIX-professional_experience-"))
    text = "\n".join(page.extract_text() for page in PdfReader(sheet).pages)
    assert "Décision du jury" in text, text
