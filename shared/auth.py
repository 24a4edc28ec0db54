"""Signed bearer tokens naming the subject, its role and its académie (DESIGN rule 8)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import jwt
from pydantic import BaseModel, ConfigDict

from shared.errors import PermissionDenied, Unauthenticated

_ALGORITHM = "HS256"


class Role(StrEnum):
    CANDIDATE = "candidate"
    STAFF = "staff"
    AUDITOR = "auditor"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    role: Role
    academy: str
    # The account's token version when the token was issued: a password reset raises the account's
    # version and the accounts service refuses older tokens (claim "ver", absent when 0). Other
    # services cannot check it without a lookup: they will with scoped tokens (issue 13 part 6).
    token_version: int = 0

    def require_writer(self) -> None:
        """Auditors read; they never write."""
        if self.role is Role.AUDITOR:
            raise PermissionDenied("auditors have read-only access")

    def may_read(self, owner: str, academy: str) -> bool:
        if self.role is Role.CANDIDATE:
            return self.subject == owner
        return self.academy == academy


def issue_token(principal: Principal, secret: str, now: datetime, ttl: timedelta) -> str:
    claims = {
        "sub": principal.subject,
        "role": principal.role.value,
        "aca": principal.academy,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if principal.token_version:
        claims["ver"] = principal.token_version
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_token(token: str, secret: str, now: datetime) -> Principal:
    """Checks signature and expiry against the injected clock; raises Unauthenticated."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "role", "aca", "exp"]},
        )
    except jwt.InvalidTokenError as error:
        raise Unauthenticated(f"invalid token: {error}") from None
    if int(claims["exp"]) <= now.timestamp():
        raise Unauthenticated("token expired")
    try:
        return Principal(
            subject=str(claims["sub"]),
            role=Role(claims["role"]),
            academy=str(claims["aca"]),
            token_version=int(claims.get("ver", 0)),
        )
    except (ValueError, TypeError):
        raise Unauthenticated("token names an unknown role or a bad version") from None


def bearer(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    return None
