"""archipel registration start | category | form | language | options | benefit declare|renounce |
exemption declare|withdraw | situation | handicap | confirm | not-registered | show | list | summary

Every command names the registration by --session and --specialty; a candidate acts on their own
registrations, staff name the candidate with --candidate. The token is --token or ARCHIPEL_TOKEN.
The handlers, and the request each RPC is sent, are in archipel_cli/registration_run.py."""

from __future__ import annotations

import argparse
from pathlib import Path

from archipel_cli.common import Later, Subparsers

CATEGORIES = ("individual", "distance", "professional_experience", "repeater")


def add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN)")
    parser.add_argument("--target", help="registration gRPC address (default from settings)")


def _keyed() -> argparse.ArgumentParser:
    """The options every command on one registration takes."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--session", type=int, required=True, help="session year, e.g. 2026")
    parent.add_argument("--specialty", required=True, help="e.g. SIO-SISR")
    parent.add_argument("--candidate", default="", help="candidate id (staff and auditors; a candidate: themself)")
    add_connection(parent)
    return parent


def _sender(method: str) -> Later:
    """A handler calling the RPC `method` with the request registration_run.REQUESTS[method] builds."""
    return Later("registration_run", "send", method)


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("registration", help="BTS registrations (one per candidate, session, specialty)")
    commands = parser.add_subparsers(dest="command", required=True)
    keyed = _keyed()

    def command(name: str, help_text: str, method: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[keyed], help=help_text)
        sub.set_defaults(handler=_sender(method))
        return sub

    start = command("start", "start a registration", "StartRegistration")
    start.add_argument("--category", required=True, choices=CATEGORIES)
    category = command("category", "change the category", "ChangeCategory")
    category.add_argument("--category", required=True, choices=CATEGORIES)

    form = command(
        "form", "choose the exam form (definitive from the first confirmed registration, R-11)", "ChooseExamForm"
    )
    form.add_argument("--form", required=True, choices=("globale", "progressive"))
    form.add_argument("--unit", action="append", default=[], help="progressive: a unit sat this session (repeat)")
    form.add_argument(
        "--confirm-renounce", action="store_true", help="registering for a unit with a bénéfice renounces it (R-16)"
    )

    language = command("language", "choose the compulsory language", "ChooseLanguage")
    language.add_argument("--language", required=True)
    language.add_argument("--teaching-followed", action="store_true", help="its teaching was followed (R-12)")

    options = command("options", "choose the optional tests (at most two; none to clear them)", "ChooseOptionalUnits")
    options.add_argument("--unit", action="append", default=[], help="an optional unit, e.g. UF1 (repeat)")

    _benefit(commands, keyed)
    _exemption(commands, keyed)

    situation = command("situation", "declare a shortened training or the R408 exemption", "DeclareSituation")
    situation.add_argument("--training-shortened", action="store_true")
    situation.add_argument("--r408-exemption", action="store_true")

    handicap = command("handicap", "answer the handicap question (R-25)", "DeclareHandicap")
    answer = handicap.add_mutually_exclusive_group(required=True)
    answer.add_argument("--yes", dest="handicap", action="store_true", help="OUI (give --amex-reference)")
    answer.add_argument("--no", dest="handicap", action="store_false", help="NON")
    handicap.add_argument("--amex-reference")
    handicap.add_argument("--existing-decision", action="store_true")

    command("confirm", "confirm: issues the summary (PDF) and the list of documents", "ConfirmRegistration")
    not_registered = command("not-registered", "staff: set the registration 'non inscrit' (R-33)", "SetNotRegistered")
    not_registered.add_argument("--reason", required=True)
    command("show", "the registration", "GetRegistration")

    listing = commands.add_parser("list", help="your registrations (staff, auditors: the académie's)")
    listing.add_argument("--session", type=int, default=0, help="only this session")
    listing.add_argument("--specialty", default="", help="only this specialty")
    add_connection(listing)
    listing.set_defaults(handler=Later("registration_run", "list_registrations"))

    summary = commands.add_parser("summary", parents=[keyed], help="download a version of the summary (PDF)")
    summary.add_argument("--version", type=int, default=0, help="a version number (default: the latest)")
    summary.add_argument("--out", type=Path, help="PDF file to write (default: recapitulatif-...-vN.pdf)")
    summary.set_defaults(handler=Later("registration_run", "summary"))


def _benefit(commands: Subparsers, keyed: argparse.ArgumentParser) -> None:
    benefit = commands.add_parser("benefit", help="bénéfices de notes (R-14 to R-16)")
    actions = benefit.add_subparsers(dest="action", required=True)
    declare = actions.add_parser("declare", parents=[keyed], help="declare a grade kept from an earlier session")
    declare.add_argument("--unit", required=True)
    declare.add_argument("--grade", required=True, help="decimal, e.g. 12.5")
    declare.add_argument("--session-obtained", type=int, required=True)
    declare.set_defaults(handler=_sender("DeclareBenefit"))
    renounce = actions.add_parser("renounce", parents=[keyed], help="renounce a bénéfice (definitive)")
    renounce.add_argument("--unit", required=True)
    renounce.add_argument("--confirm", action="store_true", help="renouncing is definitive")
    renounce.set_defaults(handler=_sender("RenounceBenefit"))


def _exemption(commands: Subparsers, keyed: argparse.ArgumentParser) -> None:
    exemption = commands.add_parser("exemption", help="exemptions from units (R-17)")
    actions = exemption.add_subparsers(dest="action", required=True)
    declare = actions.add_parser("declare", parents=[keyed], help="declare an exemption")
    declare.add_argument("--unit", required=True)
    declare.add_argument("--ground", required=True, choices=("diploma", "vae"))
    declare.add_argument("--detail", required=True, help="e.g. the diploma that exempts")
    declare.set_defaults(handler=_sender("DeclareExemption"))
    withdraw = actions.add_parser("withdraw", parents=[keyed], help="withdraw an exemption")
    withdraw.add_argument("--unit", required=True)
    withdraw.set_defaults(handler=_sender("WithdrawExemption"))
