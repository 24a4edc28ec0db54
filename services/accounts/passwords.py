"""Password hashing with argon2, a bounded number at once (each computation takes 64 MiB: a
login storm waits in line instead of exhausting memory), and a dummy verification when there is
no hash to check, so that an unknown email costs the same time as a known one."""

from __future__ import annotations

import asyncio
import secrets
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
HASHES_AT_ONCE = 4


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, hash: str, password: str) -> bool: ...


def check_new_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(field, f"must have at least {MIN_PASSWORD_LENGTH} characters")
    check_password_bound(password, field)


def check_password_bound(password: str, field: str = "password") -> None:
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(field, f"must have at most {MAX_PASSWORD_LENGTH} characters")


class Passwords:
    def __init__(self, hasher: Hasher | None = None, at_once: int = HASHES_AT_ONCE) -> None:
        self.hasher: Hasher = hasher or PasswordHasher()
        self.at_once = at_once
        self._slots = asyncio.Semaphore(at_once)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches `password_hash`; without a hash (unknown email, account not
        activated) a dummy hash is verified all the same, and the answer is False."""
        if password_hash is None:
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_urlsafe(24))
            await self._check(self._dummy, password)
            return False
        return await self._check(password_hash, password)

    async def _check(self, password_hash: str, password: str) -> bool:
        async with self._slots:
            try:
                return await asyncio.to_thread(self.hasher.verify, password_hash, password)
            except (VerificationError, InvalidHashError):
                return False
