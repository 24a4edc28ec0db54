"""Errors every layer understands; the gRPC layer maps them to status codes (DESIGN rule 9)."""

from __future__ import annotations


class ArchipelError(Exception):
    """Base class: `message` is shown to the caller as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ArchipelError):
    """Bad input: names the field (INVALID_ARGUMENT)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class RuleViolation(ArchipelError):
    """A business rule refuses the command (FAILED_PRECONDITION); `rule` is its R-xx id."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} ({rule})")
        self.rule = rule


class AlreadyExists(ArchipelError):
    """The thing to create exists already (ALREADY_EXISTS)."""


class NotFound(ArchipelError):
    """The addressed thing does not exist (NOT_FOUND)."""


class ConcurrencyError(ArchipelError):
    """Another writer appended to the stream first (ABORTED); nothing was written."""


class Unauthenticated(ArchipelError):
    """Missing, expired or forged credentials (UNAUTHENTICATED)."""


class PermissionDenied(ArchipelError):
    """Authenticated but not allowed (PERMISSION_DENIED)."""


class RateLimited(ArchipelError):
    """Too many attempts in a while (RESOURCE_EXHAUSTED): `retry_after` seconds to wait, told in
    the message and in the trailing metadata `retry-after`."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(f"{message}: retry after {retry_after} s")
        self.retry_after = retry_after


class UnknownEventType(ArchipelError):
    """The registry has no model for this event type."""


class InvalidEvent(ArchipelError):
    """A stored or received event does not match its model."""
