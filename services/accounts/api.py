"""gRPC servicer of archipel.accounts.v1: proto <-> handler calls, errors to status codes."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import grpc

from archipel.accounts.v1 import accounts_pb2 as pb
from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc
from services.accounts import limits, reset, second_factor, sessions, signup, staff
from services.accounts.limits import Action
from services.accounts.service import AccountsPorts
from shared.auth import Principal, TokenVerifier, bearer
from shared.clock import Clock
from shared.errors import InvalidInput, NotFound, PermissionDenied, RateLimited, Unauthenticated
from shared.pipeline import Pipeline
from shared.rpc import Authenticated, rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Accounts"].full_name
PUBLIC_METHODS = tuple(
    f"/{SERVICE_NAME}/{name}"
    for name in (
        "CreateAccount",
        "ActivateAccount",
        "ResendActivation",
        "Login",
        "RequestPasswordReset",
        "ResetPassword",
        "Refresh",
        # They authenticate their caller themselves: a token restricted to enrolment is no credential
        # anywhere else (services.accounts.second_factor).
        "EnrollTotp",
        "ConfirmTotp",
    )
)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _date(field: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, "expected a date written YYYY-MM-DD") from None


def _uuid(field: str, text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput(field, "not an account id (UUID)") from None


def _session(session: sessions.Session) -> pb.LoginResponse:
    return pb.LoginResponse(
        token=session.token,
        account_id=session.principal.subject,
        role=session.principal.role.value,
        academy=session.principal.academy,
        expires_at=_iso(session.expires_at),
        refresh_token=session.refresh_token,
        refresh_expires_at=_iso(session.refresh_expires_at),
        enrolment_only=session.enrolment_only,
    )


class AccountsServicer(Authenticated, pb_grpc.AccountsServicer):
    def __init__(
        self,
        pipeline: Pipeline[AccountsPorts],
        ports: AccountsPorts,
        verifier: TokenVerifier,
        clock: Clock,
        enrolment: TokenVerifier,
    ) -> None:
        super().__init__(verifier, clock)
        self.enrolment = enrolment
        self.pipeline = pipeline
        self.ports = ports
        self.queries = ports.queries

    async def _limit(self, context: grpc.aio.ServicerContext, action: Action, email: str) -> None:
        """Counts the attempt per email and per client address; over a limit, RESOURCE_EXHAUSTED
        with the seconds to wait in the message and in the trailing metadata `retry-after`."""
        try:
            await self._count(context, action, email)
        except RateLimited as error:
            context.set_trailing_metadata((("retry-after", str(error.retry_after)),))
            raise

    async def _count(self, context: grpc.aio.ServicerContext, action: Action, email: str) -> None:
        """Counts the attempt; over a limit, RateLimited (and nothing in the metadata)."""
        await limits.check(
            self.ports.attempts,
            self.ports.config.limits,
            action,
            email=email,
            client=limits.client_address(context.peer() or ""),
            now=self.clock(),
        )

    @rpc
    async def CreateAccount(
        self, request: pb.CreateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateAccountResponse:
        created = await signup.create_account(
            self.pipeline,
            last_name=request.last_name,
            first_names=request.first_names,
            birth_date=_date("birth_date", request.birth_date),
            email=request.email,
            password=None,  # chosen at activation, by whoever reads the mail
            academy=request.academy,
            guard=lambda email: self._limit(context, Action.CREATE, email),
        )
        return pb.CreateAccountResponse(
            account_id=str(created.account_id), activation_expires_at=_iso(created.activation_expires_at)
        )

    @rpc
    async def ActivateAccount(
        self, request: pb.ActivateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.ActivateAccountResponse:
        activated = await signup.activate(self.pipeline, request.token, request.password)
        return pb.ActivateAccountResponse(
            account_id=str(activated.account_id), activated_at=_iso(activated.activated_at)
        )

    @rpc
    async def ResendActivation(
        self, request: pb.ResendActivationRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResendActivationResponse:
        await self._limit(context, Action.RESEND, request.email)
        expires_at = await signup.resend_activation(self.pipeline, request.email)
        return pb.ResendActivationResponse(activation_expires_at=_iso(expires_at))

    @rpc
    async def Login(self, request: pb.LoginRequest, context: grpc.aio.ServicerContext) -> pb.LoginResponse:
        await self._limit(context, Action.LOGIN, request.email)
        session = await sessions.login(
            self.pipeline,
            request.email,
            request.password,
            request.totp,
            guard=lambda account: self._count(context, Action.TOTP, account),  # over it: a wrong code's answer
        )
        return _session(session)

    def _enrolling(self, context: grpc.aio.ServicerContext) -> Principal:
        """The caller of an enrolment RPC: a token restricted to enrolment, or a full one."""
        token = bearer(context.invocation_metadata())
        if token is None:
            raise Unauthenticated("missing bearer token (metadata 'authorization: Bearer <token>')")
        try:
            return self.enrolment.verify(token, self.clock())
        except Unauthenticated:
            return self.verifier.verify(token, self.clock())

    @rpc
    async def EnrollTotp(
        self, request: pb.EnrollTotpRequest, context: grpc.aio.ServicerContext
    ) -> pb.EnrollTotpResponse:
        enrolment = await second_factor.begin(self.pipeline, self._enrolling(context))
        return pb.EnrollTotpResponse(secret=enrolment.secret, uri=enrolment.uri)

    @rpc
    async def ConfirmTotp(self, request: pb.ConfirmTotpRequest, context: grpc.aio.ServicerContext) -> pb.LoginResponse:
        principal = self._enrolling(context)
        session = await second_factor.confirm(
            self.pipeline,
            principal,
            request.code,
            guard=lambda account: self._limit(context, Action.TOTP, account),
        )
        return _session(session)

    @rpc
    async def Refresh(self, request: pb.RefreshRequest, context: grpc.aio.ServicerContext) -> pb.LoginResponse:
        return _session(await sessions.refresh(self.pipeline, request.refresh_token))

    @rpc
    async def RequestPasswordReset(
        self, request: pb.RequestPasswordResetRequest, context: grpc.aio.ServicerContext
    ) -> pb.RequestPasswordResetResponse:
        await self._limit(context, Action.RESET, request.email)
        expires_at = await reset.request_password_reset(self.pipeline, request.email)
        return pb.RequestPasswordResetResponse(link_expires_at=_iso(expires_at))

    @rpc
    async def ResetPassword(
        self, request: pb.ResetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResetPasswordResponse:
        done = await reset.reset_password(self.pipeline, request.token, request.new_password)
        return pb.ResetPasswordResponse(account_id=str(done.account_id), reset_at=_iso(done.reset_at))

    @rpc
    async def GetAccount(self, request: pb.GetAccountRequest, context: grpc.aio.ServicerContext) -> pb.Account:
        principal = self._principal(context)  # its token version checked by the interceptor
        account_id = _uuid("account_id", request.account_id)
        row = await self.queries.account(account_id)
        if row is None:
            raise NotFound(f"no account {account_id} in the read model (yet)")
        if not principal.may_read(str(row["account_id"]), row["academy"]):
            raise PermissionDenied("this account belongs to someone else")
        return pb.Account(
            account_id=str(row["account_id"]),
            email=row["email"],
            last_name=row["last_name"],
            first_names=row["first_names"],
            academy=row["academy"],
            role=row["role"],
            status=row["status"],
            created_at=_iso(row["created_at"]),
            activated_at=_iso(row["activated_at"]),
        )

    @rpc
    async def CreateStaff(
        self, request: pb.CreateStaffRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateAccountResponse:
        created = await staff.create_staff(
            self.pipeline,
            self._principal(context),
            last_name=request.last_name,
            first_names=request.first_names,
            email=request.email,
            role=request.role,
            academy=request.academy,
        )
        return pb.CreateAccountResponse(
            account_id=str(created.account_id), activation_expires_at=_iso(created.activation_expires_at)
        )

    @rpc
    async def DeactivateAccount(
        self, request: pb.DeactivateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeactivateAccountResponse:
        account_id = _uuid("account_id", request.account_id)
        done = await staff.deactivate(self.pipeline, self._principal(context), account_id, request.reason)
        return pb.DeactivateAccountResponse(
            account_id=str(account_id), deactivated_at=_iso(done.deactivated_at if done else None)
        )

    @rpc
    async def ResetTotp(self, request: pb.ResetTotpRequest, context: grpc.aio.ServicerContext) -> pb.ResetTotpResponse:
        account_id = _uuid("account_id", request.account_id)
        done = await staff.reset_second_factor(self.pipeline, self._principal(context), account_id, request.reason)
        return pb.ResetTotpResponse(account_id=str(account_id), reset_at=_iso(done.reset_at))
