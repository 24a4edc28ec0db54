"""archipel privacy forget CANDIDATE --reason TEXT --operator NAME (issue 13 part 7): on the server
side, as the key store's role (services.accounts.forget)."""

from __future__ import annotations

from archipel_cli.common import Later, Subparsers


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("privacy", help="personal data: forget a candidate (crypto-shredding)")
    commands = parser.add_subparsers(dest="command", required=True)
    forget = commands.add_parser(
        "forget",
        help="destroy a candidate's data key: their personal data reads as erased everywhere (server side, "
        "as the key store's database role)",
    )
    forget.add_argument("candidate", help="the candidate's id (their account id)")
    forget.add_argument("--reason", required=True, help="why (recorded in the CandidateForgotten event)")
    forget.add_argument("--operator", required=True, help="who does it (the event's actor)")
    forget.set_defaults(handler=Later("privacy_run", "forget"))
