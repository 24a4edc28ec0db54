"""archipel audit verify | timeline | as-of: the auditors' commands.

`verify` checks the hash chain of every stream in the services' stores and on their topics (the
topic records also against the store's hashes) and exits 1 when anything is found; `timeline`
lists a candidate's events across the services; `as-of` shows the timeline up to a moment and the
dossier as it stood then. Times are shown in Europe/Paris.
Every audit command needs an auditor's token (--token or ARCHIPEL_TOKEN): an académie's auditor
checks and reads that académie's streams; a national auditor every académie's, and alone runs
`replay` (it rebuilds every académie's read models). The handlers are in archipel_cli/audit_run.py."""

from __future__ import annotations

from archipel_cli import audit_replay
from archipel_cli.common import SERVICES, Later, Subparsers, add_token


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("audit", help="verify the hash chains; a candidate's history; replay the projections")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check every stream's hash chain in the stores and on the topics")
    verify.add_argument("--service", action="append", choices=SERVICES, help="only these services (repeatable)")
    add_token(verify, "auditor")
    verify.set_defaults(handler=Later("audit_run", "verify"))
    history = commands.add_parser("timeline", help="a candidate's events across the services")
    history.add_argument("candidate")
    add_token(history, "auditor")
    history.set_defaults(handler=Later("audit_run", "show_timeline"))
    then = commands.add_parser("as-of", help="a candidate's history and dossier at a moment")
    then.add_argument("candidate")
    then.add_argument("timestamp", help="ISO 8601, e.g. 2025-03-01T10:00 (no offset: Europe/Paris)")
    add_token(then, "auditor")
    then.set_defaults(handler=Later("audit_run", "show_as_of"))
    audit_replay.register(commands)
