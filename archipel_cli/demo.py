"""archipel demo: a small campaign played against the running system (`archipel run`). The campaign is
in archipel_cli/demo_run.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from archipel_cli.common import Later, Subparsers
from shared.clock import PARIS  # the standard library only

HELP = (
    "Plays a small campaign against the RUNNING system (start it with `archipel run`): staff of two "
    "académies, a calendar, candidates of every category who register and upload their documents, reviews, "
    "grades, the deliberation of the session and the contrôle; prints a summary and saves each candidate's "
    "summary and score sheet as PDFs. The services use the real clock, so the demo's 'simulated clock' is a "
    "registration window opened around now (yesterday to next month)."
)


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("demo", help="play a small campaign against the running system", description=HELP)
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="folder of the PDFs (demo-output/)")
    parser.add_argument("--session", type=int, default=datetime.now(PARIS).year + 1, help="session (next year)")
    parser.set_defaults(handler=Later("demo_run", "demo"))
