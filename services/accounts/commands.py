"""Commands of the accounts service: validated on construction, so bad input never reaches the
domain (a pydantic error names the field)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from shared.auth import Role

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ACADEMY = re.compile(r"^[a-z]+(-[a-z]+)*$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise ValueError("not a valid email address")
    return value


def _academy(value: str) -> str:
    if not _ACADEMY.fullmatch(value):
        raise ValueError("an académie is written in lower case with hyphens, e.g. 'aix-marseille'")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# Every string a command carries is bounded, once (issue 13; tests/unit/test_command_bounds.py).
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
Academy = Annotated[str, StringConstraints(max_length=60), AfterValidator(_academy)]
Digest = Annotated[str, StringConstraints(max_length=64, pattern=r"^[0-9a-f]{64}$")]
Secret = Annotated[SecretStr, Field(max_length=512)]  # a mailed token or a password's hash, never an event


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreateAccount(_Command):
    """A candidate's account also gets its first activation link (`token_digest`); the plain
    token and the password's hash never reach an event: the token is mailed after the commit,
    the hash is written in the private credentials table in the events' transaction. A candidate
    has no password until activation (`password_hash` is None): the password that counts is the
    one chosen by whoever opens the link mailed to the address (issue 13). Staff and auditors,
    created on the server, get theirs at once."""

    account_id: UUID
    role: Role = Role.CANDIDATE
    last_name: Name
    first_names: Name
    birth_date: date | None
    email: Email
    academy: Academy
    now: datetime
    token_digest: Digest | None = None
    token: Secret | None = Field(default=None, repr=False)
    password_hash: Secret | None = Field(default=None, repr=False)


class SendActivationLink(_Command):
    account_id: UUID
    token_digest: Digest
    now: datetime
    token: Secret | None = Field(default=None, repr=False)


class ActivateAccount(_Command):
    """Binds the account to its credentials: the password chosen on the activation page, hashed
    by the flow, written in the private credentials table with the event."""

    account_id: UUID  # the account the link's token names (looked up by the activation flow)
    token_digest: Digest
    now: datetime
    password_hash: Secret | None = Field(default=None, repr=False)


class ExpireAccount(_Command):
    """A pending account whose link expired (R-04) frees its email for a new creation."""

    account_id: UUID
    now: datetime


class SendResetLink(_Command):
    account_id: UUID
    token_digest: Digest
    now: datetime
    token: Secret | None = Field(default=None, repr=False)


class ResetPassword(_Command):
    account_id: UUID  # the account the reset link's token names
    token_digest: Digest
    now: datetime
    password_hash: Secret | None = Field(default=None, repr=False)


class CreateStaff(_Command):
    """An académie's administrator creates a staff or auditor account of its académie (issue 13
    part 5): pending, with an activation link mailed to the address, where its owner chooses the
    password (the administrator never knows it)."""

    account_id: UUID
    role: Literal[Role.STAFF, Role.AUDITOR]
    last_name: Name
    first_names: Name
    email: Email
    academy: Academy
    now: datetime
    token_digest: Digest
    token: Secret | None = Field(default=None, repr=False)


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class DeactivateAccount(_Command):
    """An académie's administrator deactivates a staff or auditor account of its académie: every
    token of it is refused at once (its token version is raised) and it cannot log in any more."""

    account_id: UUID
    by: Annotated[str, StringConstraints(max_length=64)]  # the administrator's account id
    reason: Reason
    now: datetime


class EnrolSecondFactor(_Command):
    """A staff, auditor or administrator account confirms its TOTP secret with a valid code
    (`step`, the code's time step, serves once): the secret is written in the private table with
    the event, never in it."""

    account_id: UUID
    secret: Secret = Field(repr=False)
    step: int
    now: datetime


class ResetSecondFactor(_Command):
    """An académie's administrator resets the second factor of a staff or auditor account of its
    académie (its owner lost it): the secret is deleted, every session of the account ends, and its
    next login leads to enrolling a new one."""

    account_id: UUID
    by: Annotated[str, StringConstraints(max_length=64)]  # the administrator's account id
    reason: Reason
    now: datetime
    # On the server (`archipel accounts bootstrap-reset-totp`, as bootstrap-staff creates them): an
    # administrator's or a national auditor's, whom no one above resets through gRPC.
    on_server: bool = False


class ForgetCandidate(_Command):
    """A candidate's personal data is erased (issue 13 part 7, `archipel privacy forget`): recorded
    on the account's stream with the operator's reason, the accounts' private rows of it deleted in
    the same transaction; the data key is destroyed right after (services.accounts.forget)."""

    account_id: UUID
    reason: Reason
    now: datetime


Command = (
    CreateAccount
    | SendActivationLink
    | ActivateAccount
    | ExpireAccount
    | SendResetLink
    | ResetPassword
    | CreateStaff
    | DeactivateAccount
    | EnrolSecondFactor
    | ResetSecondFactor
    | ForgetCandidate
)
