"""archipel projections list | rebuild NAME"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from archipel_cli.common import Subparsers, positive

if TYPE_CHECKING:
    from shared.projections import Projection
    from shared.service import Service


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("projections", help="read models rebuilt from events")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the projections and the topics they read")
    listing.set_defaults(handler=_list)
    rebuild = commands.add_parser("rebuild", help="empty a read model and replay the topics from the start")
    rebuild.add_argument("name")
    rebuild.add_argument(
        "--processes",
        type=positive,
        default=2,
        help="processes replaying the partitions of a partitioned read model with a large backlog (default 2)",
    )
    rebuild.set_defaults(handler=_rebuild)


def _list(arguments: argparse.Namespace) -> int:
    from archipel_cli.runtime import settings  # noqa: PLC0415 (keep `archipel --help` light)
    from archipel_cli.services import specs  # noqa: PLC0415

    config = settings()
    for spec in specs():
        topics = ", ".join(config.topic(name) for name in spec.projection_topics)
        for projection in spec.projections():
            print(f"{projection.name}\t{spec.name}\t{topics}")
    return 0


def _rebuild(arguments: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from archipel_cli.services import specs  # noqa: PLC0415

    for spec in specs():
        for projection in spec.projections():
            if projection.name == arguments.name:
                print(asyncio.run(_replay(spec, projection, arguments.processes)))
                return 0
    names = ", ".join(p.name for spec in specs() for p in spec.projections())
    print(f"error: no projection named {arguments.name!r} (known: {names})", file=sys.stderr)
    return 2


async def _replay(spec: Service[Any], projection: Projection, processes: int) -> str:
    from archipel_cli.runtime import settings  # noqa: PLC0415
    from shared.db import create_pool, migrate  # noqa: PLC0415
    from shared.dead_letter import dead_letter_topic  # noqa: PLC0415
    from shared.kafka import kafka_access  # noqa: PLC0415
    from shared.projections import ProjectionRunner  # noqa: PLC0415
    from shared.rebuild import Workers, rebuild  # noqa: PLC0415

    config = settings()
    dsn = config.database_url_for(spec.name)  # the service's own role, owner of its read models
    pool = await create_pool(dsn, config.db_schema(spec.name))
    try:
        await migrate(pool, spec.migrations())
        runner = ProjectionRunner(pool, spec.projection_registry, projection)
        topics = [config.topic(name) for name in spec.projection_topics]
        dead_letters = dead_letter_topic(config.topic_prefix)
        report = await rebuild(
            runner,
            kafka_access(config, spec.name),  # the service's principal: its topics, its dead letters
            topics,
            workers=Workers(dsn, processes),
            dead_letter_topic=dead_letters,
        )
    finally:
        await pool.close()
    return (
        f"{report.projection}: {report.events_read} records read, {report.events_applied} applied,"
        f" {report.events_parked} parked"
        f" ({report.processes} process{'es' if report.processes > 1 else ''})"
    )
