"""Tables of the results service."""

from __future__ import annotations

from shared import eventstore, projections, relay
from shared.db import Migration


def migrations() -> tuple[Migration, ...]:
    from services.results.projections import CandidatesView, OutcomesView  # noqa: PLC0415

    return (
        *eventstore.MIGRATIONS,
        *relay.MIGRATIONS,
        *projections.MIGRATIONS,
        *CandidatesView.migrations,
        *OutcomesView.migrations,
    )
