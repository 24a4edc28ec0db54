"""archipel audit replay: every projection rebuilt from the first offset into fresh schemas and
compared with the live read models (shared/audit/replay.py). Exit 0 when they agree, 1 otherwise.
A national auditor's command: it rebuilds and compares every académie's read models."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from archipel_cli.common import Later, Subparsers, add_token, positive

if TYPE_CHECKING:
    from shared.audit.replay import Difference, ReplayResult


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "replay",
        help="rebuild every projection from the first offset into fresh schemas; compare with the live ones",
        description="Rebuilds every projection of every service from the first offset of its topics into a "
        "fresh schema (replay_<hex>_<service>) and compares each read-model table with the live one. "
        "The comparison is meaningful once the live projections have caught up: the command first waits "
        "(--wait seconds) for every live consumer group to commit up to the topics' end offsets.",
    )
    parser.add_argument("--keep", action="store_true", help="keep the fresh schemas (default: dropped)")
    parser.add_argument("--max-lines", type=int, default=10, help="differences shown per table (default 10)")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for live projections to catch up")
    parser.add_argument(
        "--processes",
        type=positive,
        default=2,
        help="processes replaying the partitions of a partitioned read model with a large backlog (default 2)",
    )
    add_token(parser, "national auditor")
    parser.set_defaults(handler=Later("audit_run", "replay"))


def _progress(projection: str, read: Mapping[str, int], done: bool) -> None:
    counts = ", ".join(f"{topic} {count}" for topic, count in sorted(read.items()))
    line = f"\r  replaying {projection}: {sum(read.values())} records read ({counts})"
    print(line, end="\n" if done else "", file=sys.stderr, flush=True)


def _wait(seconds: float) -> None:
    from archipel_cli.runtime import settings  # noqa: PLC0415 (keep `archipel --help` light)
    from archipel_cli.services import specs  # noqa: PLC0415
    from shared.audit.replay import lagging_groups  # noqa: PLC0415

    deadline = time.monotonic() + seconds
    while True:
        behind = lagging_groups(settings(), specs())
        if not behind:
            return
        if time.monotonic() >= deadline:
            lag = ", ".join(f"{group} ({count} records)" for group, count in sorted(behind.items()))
            print(f"warning: live projections not caught up after {seconds:g}s: {lag}", file=sys.stderr)
            return
        time.sleep(0.5)


def run_replay(arguments: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from archipel_cli.runtime import settings  # noqa: PLC0415
    from archipel_cli.services import specs  # noqa: PLC0415
    from shared.audit.replay import replay  # noqa: PLC0415
    from shared.rebuild import Workers  # noqa: PLC0415

    _wait(arguments.wait)
    config = settings()
    workers = Workers(config.resolved_database_url(), arguments.processes)
    result = asyncio.run(replay(config, specs(), keep=arguments.keep, progress=_progress, workers=workers))
    print(render(result, arguments.max_lines))
    return 1 if result.differences else 0


def render(result: ReplayResult, max_lines: int) -> str:
    lines: list[str] = []
    for p in result.projections:
        if p.skipped:
            lines.append(f"{p.service}/{p.projection}: skipped ({p.skipped})")
            continue
        tables = ", ".join(f"{table} {live}/{fresh}" for table, (live, fresh) in p.rows.items())
        lines.append(
            f"{p.service}/{p.projection}: {p.records_read} records read, {p.events_applied} applied in "
            f"{p.seconds:.2f}s ({p.rate:.0f} events/s{f', {p.processes} processes' if p.processes > 1 else ''});"
            f" rows live/replayed: {tables}"
        )
        by_table: dict[str, list[Difference]] = {}
        for difference in p.differences:
            by_table.setdefault(difference.table, []).append(difference)
        for table, differences in by_table.items():
            lines.append(f"  {len(differences)} difference(s) in {table}:")
            lines.extend(f"    {d.key}: {d.changes()}" for d in differences[:max_lines])
            if len(differences) > max_lines:
                lines.append(f"    ... {len(differences) - max_lines} more")
    count = len(result.differences)
    lines.append(
        f"{result.records_read} records replayed in {result.seconds:.2f}s ({result.rate:.0f} events/s overall), "
        f"{count} difference{'' if count == 1 else 's'}"
    )
    lines.append(("kept schemas: " if result.kept else "dropped schemas: ") + ", ".join(result.schemas))
    return "\n".join(lines)
