"""The handlers of `archipel results` (the parser is in archipel_cli/results.py): the request each RPC
is sent, the jury's CSV file, the relevé de notes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

from archipel.results.v1 import results_pb2 as pb
from archipel.results.v1 import results_pb2_grpc as pb_grpc
from archipel_cli.common import EXIT_INVALID
from archipel_cli.runtime import call, channel, metadata

Build = Callable[[argparse.Namespace, pb.ResultsKey], Message]

REQUESTS: dict[str, Build] = {
    "RecordGrade": lambda a, k: pb.RecordGradeRequest(key=k, unit=a.unit, grade=a.grade, reason=a.reason),
    "RecordAbsence": lambda a, k: pb.RecordAbsenceRequest(key=k, unit=a.unit, justified=a.justified, reason=a.reason),
    "Deliberate": lambda a, k: k,
    "RecordControle": lambda a, k: pb.RecordControleRequest(key=k, grades=dict(a.grade)),
    "GetResults": lambda a, k: k,
}


def stub(arguments: argparse.Namespace) -> pb_grpc.ResultsStub:
    return pb_grpc.ResultsStub(channel("results", arguments.target))


def _key(arguments: argparse.Namespace) -> pb.ResultsKey:
    return pb.ResultsKey(candidate_id=arguments.candidate, session=arguments.session, specialty=arguments.specialty)


def send(method: str, arguments: argparse.Namespace) -> int:
    """Calls the RPC `method` with the request REQUESTS[method] makes of the arguments."""
    request = REQUESTS[method](arguments, _key(arguments))
    rpc: Callable[..., Any] = getattr(stub(arguments), method)
    return call(lambda: rpc(request, metadata=metadata(arguments.token)))


def deliberate_session(arguments: argparse.Namespace) -> int:
    request = pb.DeliberateSessionRequest(session=arguments.session, specialty=arguments.specialty)
    return call(lambda: stub(arguments).DeliberateSession(request, metadata=metadata(arguments.token)))


def outcomes(arguments: argparse.Namespace) -> int:
    request = pb.ListOutcomesRequest(session=arguments.session, specialty=arguments.specialty)
    return call(lambda: stub(arguments).ListOutcomes(request, metadata=metadata(arguments.token)))


def import_grades(arguments: argparse.Namespace) -> int:
    path: Path = arguments.file
    try:
        data = path.read_bytes()
    except OSError as error:
        print(f"error: cannot read {path} ({error.strerror})", file=sys.stderr)
        return EXIT_INVALID
    answers: list[pb.ImportGradesResponse] = []
    request = pb.ImportGradesRequest(csv=data)

    def send() -> None:
        answers.append(stub(arguments).ImportGrades(request, metadata=metadata(arguments.token)))

    code = _report_lines(send)
    if code == 0 and answers:
        print(json.dumps({"file": str(path), "events": answers[0].events}, ensure_ascii=False))
    return code


def _report_lines(action: Callable[[], None]) -> int:
    """Like `call`, but a refused file prints one line per faulty line of the file."""
    try:
        action()
    except grpc.RpcError as error:
        status = error.code()
        details: str = error.details() or ""
        head, _, lines = details.partition("nothing was recorded; ")
        if not lines:
            print(f"error: {status.name}: {details}", file=sys.stderr)
        else:  # "file: nothing was recorded; line 4: ...; line 7: ..." -> one line per faulty line
            print(f"error: {status.name}: {head}nothing was recorded", file=sys.stderr)
            for line in lines.split("; "):
                print(f"  {line}", file=sys.stderr)
        return EXIT_INVALID if status is grpc.StatusCode.INVALID_ARGUMENT else 1
    return 0


def score_sheet(arguments: argparse.Namespace) -> int:
    sheets: list[pb.ScoreSheet] = []
    request = _key(arguments)
    code = call(lambda: sheets.append(stub(arguments).GetScoreSheet(request, metadata=metadata(arguments.token))))
    if code or not sheets:
        return code or 1
    out: Path = arguments.out or Path(f"releve-{arguments.specialty}-{arguments.session}.pdf")
    out.write_bytes(sheets[0].pdf)
    print(json.dumps({"path": str(out), "bytes": len(sheets[0].pdf)}, ensure_ascii=False))
    return 0
