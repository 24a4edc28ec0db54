"""The handlers of `archipel accounts` (the parser is in archipel_cli/accounts.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import TextIO
from uuid import UUID

import grpc

from archipel.accounts.v1 import accounts_pb2 as pb
from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc
from archipel_cli.runtime import call, channel, metadata, password_from, settings
from shared.auth import Role
from shared.errors import ArchipelError


def _stub(arguments: argparse.Namespace) -> pb_grpc.AccountsStub:
    return pb_grpc.AccountsStub(channel("accounts", arguments.target))


def create(arguments: argparse.Namespace) -> int:
    request = pb.CreateAccountRequest(
        last_name=arguments.last_name,
        first_names=arguments.first_names,
        birth_date=arguments.birth_date,
        email=arguments.email,
        academy=arguments.academy,
    )
    return call(lambda: _stub(arguments).CreateAccount(request))


def activate(arguments: argparse.Namespace) -> int:
    request = pb.ActivateAccountRequest(token=arguments.token, password=password_from(arguments))
    return call(lambda: _stub(arguments).ActivateAccount(request))


def resend(arguments: argparse.Namespace) -> int:
    return call(lambda: _stub(arguments).ResendActivation(pb.ResendActivationRequest(email=arguments.email)))


def login(arguments: argparse.Namespace) -> int:
    """Prints the tokens, and keeps them as the session of later commands (archipel_cli.session)."""
    from archipel_cli import session  # noqa: PLC0415

    code = arguments.totp or os.environ.get("ARCHIPEL_TOTP", "")
    request = pb.LoginRequest(email=arguments.email, password=password_from(arguments), totp=code)

    def log_in() -> pb.LoginResponse:
        try:
            response: pb.LoginResponse = _stub(arguments).Login(request)
        except grpc.RpcError as error:
            # The refusal says nothing of which part was wrong: a terminal is asked for a code once.
            if code or error.code() is not grpc.StatusCode.UNAUTHENTICATED or not sys.stdin.isatty():
                raise
            asked = input("Code of the second factor (staff, auditors; Enter if none): ").strip()
            if not asked:
                raise
            response = _stub(arguments).Login(
                pb.LoginRequest(email=request.email, password=request.password, totp=asked)
            )
        session.save(settings(), response)
        if response.enrolment_only:
            print(ENROL_FIRST, file=sys.stderr)
        return response

    return call(log_in)


ENROL_FIRST = (
    "this account has no second factor yet: the token serves only to enrol one; run "
    "`archipel accounts enroll-totp`, add the secret to an authenticator app, then "
    "`archipel accounts confirm-totp CODE`"
)


def qr_code(uri: str, out: TextIO) -> None:
    """The otpauth:// URI as a QR code drawn on the terminal (what an authenticator app scans)."""
    import segno  # noqa: PLC0415 (only this command draws one)

    segno.make(uri, error="m").terminal(out=out, compact=True, border=2)


def enroll_totp(arguments: argparse.Namespace) -> int:
    def enroll() -> pb.EnrollTotpResponse:
        response: pb.EnrollTotpResponse = _stub(arguments).EnrollTotp(
            pb.EnrollTotpRequest(), metadata=metadata(arguments.token)
        )
        if not arguments.no_qr:
            qr_code(response.uri, sys.stderr)
        print(
            "scan this QR code with an authenticator app (or type in the secret), then run "
            "`archipel accounts confirm-totp CODE` with the code it shows",
            file=sys.stderr,
        )
        return response

    return call(enroll)


def confirm_totp(arguments: argparse.Namespace) -> int:
    """Enrols the factor; the answer is a full session, kept like a login's."""
    from archipel_cli import session  # noqa: PLC0415

    def confirm() -> pb.LoginResponse:
        response: pb.LoginResponse = _stub(arguments).ConfirmTotp(
            pb.ConfirmTotpRequest(code=arguments.code), metadata=metadata(arguments.token)
        )
        session.save(settings(), response)
        return response

    return call(confirm)


def request_reset(arguments: argparse.Namespace) -> int:
    request = pb.RequestPasswordResetRequest(email=arguments.email)
    return call(lambda: _stub(arguments).RequestPasswordReset(request))


def reset_password(arguments: argparse.Namespace) -> int:
    request = pb.ResetPasswordRequest(token=arguments.token, new_password=password_from(arguments))
    return call(lambda: _stub(arguments).ResetPassword(request))


def show(arguments: argparse.Namespace) -> int:
    request = pb.GetAccountRequest(account_id=arguments.account_id)
    return call(lambda: _stub(arguments).GetAccount(request, metadata=metadata(arguments.token)))


def create_staff(arguments: argparse.Namespace) -> int:
    request = pb.CreateStaffRequest(
        last_name=arguments.last_name,
        first_names=arguments.first_names,
        email=arguments.email,
        role=arguments.role,
        academy=arguments.academy,
    )
    return call(lambda: _stub(arguments).CreateStaff(request, metadata=metadata(arguments.token)))


def deactivate(arguments: argparse.Namespace) -> int:
    request = pb.DeactivateAccountRequest(account_id=arguments.account_id, reason=arguments.reason)
    return call(lambda: _stub(arguments).DeactivateAccount(request, metadata=metadata(arguments.token)))


def reset_totp(arguments: argparse.Namespace) -> int:
    request = pb.ResetTotpRequest(account_id=arguments.account_id, reason=arguments.reason)
    return call(lambda: _stub(arguments).ResetTotp(request, metadata=metadata(arguments.token)))


def bootstrap_reset_totp(arguments: argparse.Namespace) -> int:
    from services.accounts.bootstrap import reset_bootstrapped_factor  # noqa: PLC0415

    try:
        account = UUID(arguments.account_id)
    except ValueError:
        print("error: account_id: not an account id (a UUID)", file=sys.stderr)
        return 2
    reset = reset_bootstrapped_factor(settings(), account, reason=arguments.reason, operator=arguments.operator)
    try:
        asyncio.run(reset)
    except ArchipelError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    print(f'{{"account_id": "{account}", "second_factor_reset": true}}')
    return 0


def bootstrap_staff(arguments: argparse.Namespace) -> int:
    from services.accounts.bootstrap import bootstrap_account  # noqa: PLC0415

    config = settings()
    password = password_from(arguments)

    async def create() -> str:
        created = await bootstrap_account(
            config,
            last_name=arguments.last_name,
            first_names=arguments.first_names,
            email=arguments.email,
            password=password,
            academy=arguments.academy,
            role=Role(arguments.role),
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
