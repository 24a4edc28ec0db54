"""The projection of the end-to-end lag measurement: every event with when it was recorded and when
the projection applied it (clock_timestamp() in the applying transaction)."""

from __future__ import annotations

from collections.abc import Sequence

from bench.profiles import REGISTRY
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection


class LagView(Projection):
    """Every event with when it was recorded and when this projection applied it."""

    name = "bench_lag"
    migrations = (
        Migration(
            "0001_bench_lag",
            "CREATE TABLE bench_lag (event_id uuid PRIMARY KEY, stream_id text NOT NULL,"
            " recorded_at timestamptz NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())",
        ),
    )
    tables = ("bench_lag",)
    event_types = frozenset(REGISTRY.models)
    partitioned = True  # a row per event

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        await connection.execute(
            "INSERT INTO bench_lag (event_id, stream_id, recorded_at) VALUES ($1, $2, $3)",
            envelope.event_id,
            envelope.stream_id,
            envelope.recorded_at,
        )

    async def apply_many(self, connection: Connection, envelopes: Sequence[Envelope]) -> None:
        """Each event is its own row: a rebuild's batch is one statement."""
        await connection.execute(
            "INSERT INTO bench_lag (event_id, stream_id, recorded_at)"
            " SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])",
            [envelope.event_id for envelope in envelopes],
            [envelope.stream_id for envelope in envelopes],
            [envelope.recorded_at for envelope in envelopes],
        )
