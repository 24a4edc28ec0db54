"""`archipel infra up | down | status`: the local PostgreSQL and Kafka servers (or the external
ones named by DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS)."""

from __future__ import annotations

import argparse
import sys
import time


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("infra", help="local PostgreSQL and Kafka servers")
    commands = group.add_subparsers(dest="command", required=True)

    up_parser = commands.add_parser("up", help="start the servers (idempotent), create topics and keys")
    up_parser.set_defaults(handler=_up)

    down_parser = commands.add_parser("down", help="stop the local servers started by `infra up`")
    down_parser.add_argument("--purge", action="store_true", help="also delete their data")
    down_parser.set_defaults(handler=_down)

    status_parser = commands.add_parser("status", help="whether each server answers (exit 1 if one does not)")
    status_parser.set_defaults(handler=_status)


def _up(arguments: argparse.Namespace) -> int:
    from shared.infra import InfraError, up  # noqa: PLC0415 (keep `archipel --help` light)
    from shared.infra.manager import redact  # noqa: PLC0415
    from shared.settings import Settings  # noqa: PLC0415

    started = time.monotonic()
    try:
        settings = Settings()
        found = up(settings)
    except (InfraError, OSError, ValueError) as error:
        return _fail("infra up", error)
    print(f"postgres  {redact(found.database_url)}")
    print(f"kafka     {found.kafka_bootstrap_servers}")
    print(f"ready in {time.monotonic() - started:.1f} s; endpoints recorded in {settings.infra_file}")
    return 0


def _down(arguments: argparse.Namespace) -> int:
    from shared.infra import InfraError, down  # noqa: PLC0415
    from shared.settings import Settings  # noqa: PLC0415

    try:
        down(Settings(), purge=bool(arguments.purge))
    except (InfraError, OSError, ValueError) as error:
        return _fail("infra down", error)
    print("local servers stopped" + (", data deleted" if arguments.purge else ""))
    return 0


def _status(arguments: argparse.Namespace) -> int:
    from shared.infra import InfraError, status  # noqa: PLC0415
    from shared.settings import Settings  # noqa: PLC0415

    try:
        servers = status(Settings())
    except (InfraError, OSError, ValueError) as error:
        return _fail("infra status", error)
    for server in servers:
        where = "local" if server.local else "external"
        state = "answers" if server.answers else "DOES NOT ANSWER"
        print(f"{server.name:<9} {server.endpoint}  ({where})  {state}")
    return 0 if all(server.answers for server in servers) else 1


def _fail(command: str, error: Exception) -> int:
    print(f"archipel {command}: {error}", file=sys.stderr)
    return 1
