"""Injected time (DESIGN rule 7): domain code receives `now`, it never reads the wall clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real clock, in UTC. Only entry points pass it in."""
    return datetime.now(UTC)


class FixedClock:
    """A clock for tests and simulations: it returns `now` until told to move."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now = self.now + delta


def to_paris(moment: datetime) -> datetime:
    """Times are stored in UTC and shown in Europe/Paris."""
    return moment.astimezone(PARIS)
