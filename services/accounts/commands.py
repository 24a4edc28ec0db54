"""Commands of the accounts service: validated on construction, so bad input never reaches the
domain (a pydantic error names the field)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

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
Email = Annotated[str, AfterValidator(_email)]
Academy = Annotated[str, AfterValidator(_academy)]
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreateAccount(Command):
    account_id: UUID
    role: Role = Role.CANDIDATE
    last_name: Name
    first_names: Name
    birth_date: date | None
    email: Email
    academy: Academy
    now: datetime


class SendActivationLink(Command):
    token_digest: Digest
    now: datetime


class ActivateAccount(Command):
    token_digest: Digest
    now: datetime
