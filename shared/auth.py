"""Signed bearer tokens naming the subject, its role and its académie (DESIGN rule 8), scoped
(issue 13 part 6): signed with Ed25519 (EdDSA) by the accounts service only, the key named by the
header's `kid` and verified against the published key set (shared.token_keys); `aud` names the
services the token is for, `jti` identifies it, `ver` is the account's token version (a password
reset raises it: each service refuses an older one, from its read model of the accounts)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from uuid import UUID

import jwt
from pydantic import BaseModel, ConfigDict

from shared.errors import PermissionDenied, Unauthenticated
from shared.names import SERVICES
from shared.token_keys import KeySet, SigningKey, load_key_set

_ALGORITHM = "EdDSA"
ISSUER = "archipel-accounts"


class Role(StrEnum):
    CANDIDATE = "candidate"
    STAFF = "staff"
    AUDITOR = "auditor"
    NATIONAL_AUDITOR = "national_auditor"  # reads every académie's data; writes nothing
    # An académie's administrator (issue 13 part 5): creates and deactivates its académie's staff
    # and auditor accounts; its token is for the accounts service only, where it reads the
    # accounts of its académie. It reads no candidate's data and writes nothing else.
    ACADEMY_ADMIN = "academy_admin"


READERS = frozenset({Role.STAFF, Role.AUDITOR, Role.NATIONAL_AUDITOR})  # may list and read an académie's data
AUDITORS = frozenset({Role.AUDITOR, Role.NATIONAL_AUDITOR})
# The roles that log in with a second factor (TOTP, services.accounts.totp): all but candidates.
SECOND_FACTOR_ROLES = frozenset({Role.STAFF, Role.AUDITOR, Role.NATIONAL_AUDITOR, Role.ACADEMY_ADMIN})
# The audience of a token restricted to enrolling a second factor (a staff, auditor or admin
# account without one yet): no service verifies it but the accounts' enrolment RPCs.
ENROLMENT_AUDIENCE = "accounts-enrolment"


# The services a role's token is for (login issues one token for them). Every role uses every
# service (a candidate reads its results and its dossier) but the académie administrator, whose
# token is for the accounts service only; a narrower token is minted for one.
AUDIENCES: dict[Role, tuple[str, ...]] = {
    role: ("accounts",) if role is Role.ACADEMY_ADMIN else SERVICES for role in Role
}


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    role: Role
    academy: str
    # The account's token version when the token was issued (claim "ver", absent when 0): a
    # password reset raises the account's version and every service refuses older tokens.
    token_version: int = 0

    def require_writer(self) -> None:
        """Auditors read; they never write."""
        if self.role in AUDITORS:
            raise PermissionDenied("auditors have read-only access")

    def may_read(self, owner: str, academy: str) -> bool:
        if self.role is Role.CANDIDATE:
            return self.subject == owner
        return self.reads_academy(academy)

    def reads_academy(self, academy: str) -> bool:
        """Staff, auditors and the académie's administrator (whose token reaches the accounts
        service only) read their académie's data; a national auditor every académie's."""
        return self.role is not Role.CANDIDATE and (self.role is Role.NATIONAL_AUDITOR or self.academy == academy)

    @property
    def read_scope(self) -> str | None:
        """The académie a list query is limited to; None for a national auditor (every académie)."""
        return None if self.role is Role.NATIONAL_AUDITOR else self.academy


def issue_token(
    principal: Principal,
    key: SigningKey,
    now: datetime,
    ttl: timedelta,
    audience: Iterable[str] | None = None,
) -> str:
    """A token for `audience` (default: the services of the principal's role), signed by `key`."""
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": principal.subject,
        "aud": list(AUDIENCES[principal.role] if audience is None else audience),
        "jti": uuid.uuid4().hex,
        "role": principal.role.value,
        "aca": principal.academy,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if principal.token_version:
        claims["ver"] = principal.token_version
    return jwt.encode(claims, key.private, algorithm=_ALGORITHM, headers={"kid": key.kid})


def verify_token(token: str, keys: KeySet, now: datetime, audience: str) -> Principal:
    """Checks the key id, the signature, the issuer, that `audience` is among the token's and the
    expiry against the injected clock; raises Unauthenticated (a token for another service is no
    credential here: RFC 7519 says a token whose audience does not name the verifier is rejected)."""
    try:
        header = jwt.get_unverified_header(token)
        public = keys.keys.get(str(header.get("kid")))
        if public is None:
            raise Unauthenticated("invalid token: signed by an unknown key (kid)")
        claims = jwt.decode(
            token,
            public,
            algorithms=[_ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "require": ["iss", "sub", "aud", "jti", "role", "aca", "exp"],
            },
        )
    except jwt.InvalidAudienceError:
        raise Unauthenticated(f"token not for this service ({audience})") from None
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


class TokenVerifier:
    """The tokens one service accepts: its own name in the audience, signed by a key of the
    published set (read at start; re-read when a token names a key id it does not hold, after a
    rotation, if the file changed)."""

    def __init__(self, audience: str, keys: KeySet, source: Path | None = None) -> None:
        self.audience = audience
        self._keys = keys
        self._source = source
        self._stamp = self._mtime()

    @staticmethod
    def from_file(audience: str, path: Path) -> TokenVerifier:
        return TokenVerifier(audience, load_key_set(path), path)

    def _mtime(self) -> float | None:
        try:
            return self._source.stat().st_mtime if self._source else None
        except OSError:
            return None

    def verify(self, token: str, now: datetime) -> Principal:
        self._reload_for(token)
        return verify_token(token, self._keys, now, self.audience)

    def _reload_for(self, token: str) -> None:
        if self._source is None:
            return
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            return
        stamp = self._mtime()
        if kid not in self._keys.keys and stamp != self._stamp:
            self._keys, self._stamp = load_key_set(self._source), stamp


class TokenVersions(Protocol):
    """The accounts' current token versions as this service knows them (its read model of the
    accounts' events, or the accounts' own streams): None for an account it does not know."""

    async def current(self, account: UUID) -> int | None: ...


async def check_version(versions: TokenVersions, principal: Principal) -> None:
    """A token older than its account's token version (a password reset or a deactivation since)
    is refused."""
    try:
        account = UUID(principal.subject)
    except ValueError:
        return  # not an account (a tool's or a test's principal): it has no version
    current = await versions.current(account)
    if current is not None and principal.token_version < current:
        raise Unauthenticated(
            "token revoked: the password was reset or the account deactivated since it was issued; log in again"
        )


def bearer(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    return None
