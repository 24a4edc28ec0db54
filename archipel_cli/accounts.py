"""archipel accounts create | activate | resend-activation | login | show | bootstrap-staff"""

from __future__ import annotations

import argparse
import asyncio
import sys

from archipel.accounts.v1 import accounts_pb2 as pb
from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc
from archipel_cli.common import Subparsers, call, channel, metadata, password_from, settings
from shared.auth import Role
from shared.errors import ArchipelError


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("accounts", help="candidate and staff accounts")
    parser.add_argument("--target", help="accounts gRPC address (default from settings)")
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser("create", help="create a candidate account (an activation link is emailed)")
    create.add_argument("--last-name", required=True)
    create.add_argument("--first-names", required=True)
    create.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    create.add_argument("--email", required=True)
    create.add_argument("--academy", required=True, help="e.g. aix-marseille")
    create.add_argument("--password", help="else ARCHIPEL_PASSWORD, else asked")
    create.set_defaults(handler=_create)

    activate = commands.add_parser("activate", help="activate with the token of the emailed link")
    activate.add_argument("token")
    activate.set_defaults(handler=_activate)

    resend = commands.add_parser("resend-activation", help="email a new activation link")
    resend.add_argument("email")
    resend.set_defaults(handler=_resend)

    login = commands.add_parser("login", help="log in; prints a bearer token (export ARCHIPEL_TOKEN=...)")
    login.add_argument("--email", required=True)
    login.add_argument("--password")
    login.set_defaults(handler=_login)

    show = commands.add_parser("show", help="an account as the read model knows it")
    show.add_argument("account_id")
    show.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN)")
    show.set_defaults(handler=_show)

    staff = commands.add_parser(
        "bootstrap-staff", help="create an active staff or auditor account (on the server, no gRPC)"
    )
    staff.add_argument("--email", required=True)
    staff.add_argument("--academy", required=True)
    staff.add_argument("--role", choices=[Role.STAFF.value, Role.AUDITOR.value], default=Role.STAFF.value)
    staff.add_argument("--last-name", required=True)
    staff.add_argument("--first-names", required=True)
    staff.add_argument("--password")
    staff.set_defaults(handler=_bootstrap)


def _stub(arguments: argparse.Namespace) -> pb_grpc.AccountsStub:
    return pb_grpc.AccountsStub(channel("accounts", arguments.target))


def _create(arguments: argparse.Namespace) -> int:
    request = pb.CreateAccountRequest(
        last_name=arguments.last_name,
        first_names=arguments.first_names,
        birth_date=arguments.birth_date,
        email=arguments.email,
        password=password_from(arguments),
        academy=arguments.academy,
    )
    return call(lambda: _stub(arguments).CreateAccount(request))


def _activate(arguments: argparse.Namespace) -> int:
    return call(lambda: _stub(arguments).ActivateAccount(pb.ActivateAccountRequest(token=arguments.token)))


def _resend(arguments: argparse.Namespace) -> int:
    return call(lambda: _stub(arguments).ResendActivation(pb.ResendActivationRequest(email=arguments.email)))


def _login(arguments: argparse.Namespace) -> int:
    request = pb.LoginRequest(email=arguments.email, password=password_from(arguments))
    return call(lambda: _stub(arguments).Login(request))


def _show(arguments: argparse.Namespace) -> int:
    request = pb.GetAccountRequest(account_id=arguments.account_id)
    return call(lambda: _stub(arguments).GetAccount(request, metadata=metadata(arguments.token)))


def _bootstrap(arguments: argparse.Namespace) -> int:
    from services.accounts.app import SPEC, handlers_for  # noqa: PLC0415
    from shared.clock import system_clock  # noqa: PLC0415
    from shared.mail import mailer_from  # noqa: PLC0415
    from shared.service import open_store  # noqa: PLC0415

    config = settings()
    password = password_from(arguments)

    async def create() -> str:
        async with open_store(config, SPEC) as store:
            handlers = handlers_for(config, store, system_clock, mailer_from(config))
            created = await handlers.create_account(
                last_name=arguments.last_name,
                first_names=arguments.first_names,
                birth_date=None,
                email=arguments.email,
                password=password,
                academy=arguments.academy,
                role=Role(arguments.role),
                actor="bootstrap",
            )
            return str(created.account_id)

    try:
        account_id = asyncio.run(create())
    except ArchipelError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    except ValueError as error:  # pydantic validation names the field
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f'{{"account_id": "{account_id}", "role": "{arguments.role}", "academy": "{arguments.academy}"}}')
    return 0
