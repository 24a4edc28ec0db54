"""Tables of the dossier service (a read side: no event store of its own is written to, but the
standard tables are there so that the shared composition root works unchanged)."""

from __future__ import annotations

from shared import eventstore, projections, relay
from shared.db import Migration


def migrations() -> tuple[Migration, ...]:
    from services.dossier.convocations import ConvocationFeed  # noqa: PLC0415
    from services.dossier.projections import DossierProjection  # noqa: PLC0415

    return (
        *eventstore.MIGRATIONS,
        *relay.MIGRATIONS,
        *projections.MIGRATIONS,
        *DossierProjection.migrations,
        *ConvocationFeed.migrations,
    )
