"""Read port of the results commands: what decide needs from outside a results stream, i.e. the
regulation of a specialty for a session (R-32), from the reference data (shared.reference). Unit
tests give `ReferenceFacts` the regulations they need."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from shared.reference import Regulation, find_regulation, load_reference


class ResultsFactsPort(Protocol):
    def regulation(self, specialty: str, session: int) -> Regulation:
        """R-32: the regulation applicable to `session`; InvalidInput naming the field when none is."""
        ...


class ReferenceFacts:
    """The regulations of the reference data, read once (shared.reference caches them), or those given."""

    def __init__(self, regulations: Iterable[Regulation] | None = None) -> None:
        self.regulations = tuple(load_reference().regulations if regulations is None else regulations)

    def regulation(self, specialty: str, session: int) -> Regulation:
        return find_regulation(self.regulations, specialty, session)
