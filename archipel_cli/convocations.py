"""archipel convocations generate: the reference downstream consumer of the convocation feed.

It reads ONLY the feed (ListConvocations on the dossier service, as staff or auditor of the académie)
and writes one PDF per candidate and specialty, named `<candidate_id>-<session>-<specialty>-<version>.pdf`.
It is idempotent: a file of the same version is left alone; a newer version replaces the older file;
the file of a candidate no longer in the feed (e.g. set "non inscrit") is removed. DIR holds one
académie's convocations (files of the session not in its feed are removed)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from archipel_cli.common import EXIT_INVALID, Subparsers

if TYPE_CHECKING:
    from archipel.dossier.v1 import dossier_pb2 as pb

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass
class Report:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"written: {len(self.written)}, unchanged: {len(self.unchanged)}, removed: {len(self.removed)}"


def file_name(entry: pb.Convocation) -> str:
    return f"{entry.candidate_id}-{entry.session}-{entry.specialty}-{entry.version}.pdf"


def write_convocations(entries: list[pb.Convocation], session: int, out: Path) -> Report:
    """Brings `out` in line with the feed's entries of `session`; writes only what changed."""
    from archipel_cli.convocations_pdf import render_convocation  # noqa: PLC0415 (reportlab: not for --help)

    out.mkdir(parents=True, exist_ok=True)
    report = Report()
    wanted = {file_name(entry): entry for entry in entries}
    for name, entry in sorted(wanted.items()):
        path = out / name
        if path.exists():
            report.unchanged.append(name)
            continue
        partial = path.with_suffix(".pdf.part")
        partial.write_bytes(render_convocation(entry))
        os.replace(partial, path)  # a reader never sees half a file
        report.written.append(name)
    ours = re.compile(rf"^{_UUID}-{session}-.+-[0-9a-f]{{16}}\.pdf$")
    for path in sorted(out.iterdir()):
        if ours.match(path.name) and path.name not in wanted:
            path.unlink()
            report.removed.append(path.name)
    return report


def _generate(arguments: argparse.Namespace) -> int:
    import grpc  # noqa: PLC0415 (keep `archipel --help` light)

    from archipel.dossier.v1 import dossier_pb2 as pb  # noqa: PLC0415
    from archipel.dossier.v1 import dossier_pb2_grpc as pb_grpc  # noqa: PLC0415
    from archipel_cli.runtime import channel, metadata  # noqa: PLC0415

    stub = pb_grpc.DossierStub(channel("dossier", arguments.target))
    request = pb.ListConvocationsRequest(session=arguments.session, academy=arguments.academy)
    try:
        response = stub.ListConvocations(request, metadata=metadata(arguments.token))
    except grpc.RpcError as error:
        code = error.code()
        print(f"error: {code.name}: {error.details()}", file=sys.stderr)
        return EXIT_INVALID if code is grpc.StatusCode.INVALID_ARGUMENT else 1
    report = write_convocations(list(response.convocations), arguments.session, Path(arguments.out))
    for label, names in (("written", report.written), ("removed", report.removed)):
        for name in names:
            print(f"{label}\t{name}")
    print(report.summary())
    return 0


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("convocations", help="convocations aux épreuves from the convocation feed (R-26)")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write one PDF per convoked candidate (idempotent)")
    generate.add_argument("--session", type=int, required=True, help="session year, e.g. 2027")
    generate.add_argument("--academy", required=True, help="e.g. aix-marseille")
    generate.add_argument("--out", required=True, help="the académie's convocations folder")
    generate.add_argument("--token", help="bearer token of staff or an auditor (default ARCHIPEL_TOKEN)")
    generate.add_argument("--target", help="dossier gRPC address (default from settings)")
    generate.set_defaults(handler=_generate)
