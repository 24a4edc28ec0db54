"""Tables of the documents service."""

from __future__ import annotations

from shared import eventstore, projections, relay
from shared.db import Migration


def migrations() -> tuple[Migration, ...]:
    from services.documents.projections import ContactsView, DossiersView  # noqa: PLC0415

    return (
        *eventstore.MIGRATIONS,
        *relay.MIGRATIONS,
        *projections.MIGRATIONS,
        *ContactsView.migrations,
        *DossiersView.migrations,
    )
