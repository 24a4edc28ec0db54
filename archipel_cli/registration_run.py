"""The handlers of `archipel registration` (the parser is in archipel_cli/registration.py): the request
each RPC is sent, built from the command's arguments and the registration's key."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from archipel.registration.v1 import registration_pb2 as pb
from archipel.registration.v1 import registration_pb2_grpc as pb_grpc
from archipel_cli.runtime import call, channel, metadata

Build = Callable[[argparse.Namespace, pb.RegistrationKey], Message]

REQUESTS: dict[str, Build] = {
    "StartRegistration": lambda a, k: pb.StartRegistrationRequest(key=k, category=a.category),
    "ChangeCategory": lambda a, k: pb.ChangeCategoryRequest(key=k, category=a.category),
    "ChooseExamForm": lambda a, k: pb.ChooseExamFormRequest(
        key=k, form=a.form, units=a.unit, confirm_renounce=a.confirm_renounce
    ),
    "ChooseLanguage": lambda a, k: pb.ChooseLanguageRequest(
        key=k, language=a.language, teaching_followed=a.teaching_followed
    ),
    "ChooseOptionalUnits": lambda a, k: pb.ChooseOptionalUnitsRequest(key=k, units=a.unit),
    "DeclareBenefit": lambda a, k: pb.DeclareBenefitRequest(
        key=k, unit=a.unit, grade=a.grade, session_obtained=a.session_obtained
    ),
    "RenounceBenefit": lambda a, k: pb.RenounceBenefitRequest(key=k, unit=a.unit, confirm=a.confirm),
    "DeclareExemption": lambda a, k: pb.DeclareExemptionRequest(key=k, unit=a.unit, ground=a.ground, detail=a.detail),
    "WithdrawExemption": lambda a, k: pb.WithdrawExemptionRequest(key=k, unit=a.unit),
    "DeclareSituation": lambda a, k: pb.DeclareSituationRequest(
        key=k, training_shortened=a.training_shortened, r408_exemption=a.r408_exemption
    ),
    "DeclareHandicap": lambda a, k: pb.DeclareHandicapRequest(
        key=k, handicap=a.handicap, amex_reference=a.amex_reference or "", existing_decision=a.existing_decision
    ),
    "ConfirmRegistration": lambda a, k: pb.ConfirmRegistrationRequest(key=k),
    "SetNotRegistered": lambda a, k: pb.SetNotRegisteredRequest(key=k, reason=a.reason),
    "GetRegistration": lambda a, k: pb.GetRegistrationRequest(key=k),
}


def stub(arguments: argparse.Namespace) -> pb_grpc.RegistrationStub:
    return pb_grpc.RegistrationStub(channel("registration", arguments.target))


def _key(arguments: argparse.Namespace) -> pb.RegistrationKey:
    return pb.RegistrationKey(
        candidate_id=arguments.candidate, session=arguments.session, specialty=arguments.specialty
    )


def send(method: str, arguments: argparse.Namespace) -> int:
    """Calls the RPC `method` with the request REQUESTS[method] makes of the arguments."""
    request = REQUESTS[method](arguments, _key(arguments))
    rpc: Callable[..., Any] = getattr(stub(arguments), method)
    return call(lambda: rpc(request, metadata=metadata(arguments.token)))


def list_registrations(arguments: argparse.Namespace) -> int:
    request = pb.ListRegistrationsRequest(session=arguments.session, specialty=arguments.specialty)
    return call(lambda: stub(arguments).ListRegistrations(request, metadata=metadata(arguments.token)))


def summary(arguments: argparse.Namespace) -> int:
    request = pb.GetSummaryRequest(key=_key(arguments), version=arguments.version)
    documents: list[pb.SummaryDocument] = []
    code = call(lambda: documents.append(stub(arguments).GetSummary(request, metadata=metadata(arguments.token))))
    if code or not documents:
        return code or 1
    document = documents[0]
    out: Path = arguments.out or Path(
        f"recapitulatif-{arguments.specialty}-{arguments.session}-v{document.version}.pdf"
    )
    out.write_bytes(document.pdf)
    digest = hashlib.sha256(document.pdf).hexdigest()
    if digest != document.sha256:
        print(f"warning: the PDF's sha256 {digest} differs from the announced {document.sha256}", file=sys.stderr)
    summary = {"version": document.version, "issued_at": document.issued_at, "sha256": digest, "path": str(out)}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0
