"""ListRegistrations (issue 13 part 8): a candidate lists their own registrations, staff and auditors
their académie's, a national auditor every académie's; another académie's staff see none; no token,
no list."""

from __future__ import annotations

import grpc

from archipel.registration.v1 import registration_pb2 as pb
from services.registration.projections import RegistrationsView
from services.registration.service import SERVICE
from shared.auth import Role
from shared.projections import ProjectionRunner
from tests.integration.registration_fixtures import (  # noqa: F401 (registration_server is the `registration` fixture)
    CHAIN,
    RegistrationServer,
    key,
    refused,
    registration_server,
)


async def project(registration: RegistrationServer) -> None:
    """Applies every registration event to the list (registration_list), stream by stream."""
    runner = ProjectionRunner(registration.store.pool, SERVICE.projection_registry, RegistrationsView())
    for row in await registration.store.pool.fetch("SELECT DISTINCT stream_id FROM events ORDER BY 1"):
        for envelope in await registration.store.read_stream(row["stream_id"]):
            await runner.handle_raw(*CHAIN.record(envelope))


async def test_who_lists_which_registrations(registration: RegistrationServer) -> None:
    lea, lea_token = await registration.candidate(last_name="Lea")
    noe, noe_token = await registration.candidate(last_name="Noe")
    for me in (lea_token, noe_token):
        await registration.stub.StartRegistration(
            pb.StartRegistrationRequest(key=key(), category="distance"), metadata=me
        )
    await project(registration)

    async def listed(metadata: tuple[tuple[str, str], ...]) -> set[str]:
        answer = await registration.stub.ListRegistrations(pb.ListRegistrationsRequest(), metadata=metadata)
        return {line.candidate_id for line in answer.registrations}

    assert await listed(lea_token) == {lea}
    assert await listed(registration.staff()) == {lea, noe}
    assert await listed(registration.staff(role=Role.AUDITOR)) == {lea, noe}
    assert await listed(registration.staff("lyon")) == set()
    assert await listed(registration.staff("lyon", Role.AUDITOR)) == set()
    assert await listed(registration.staff("national", Role.NATIONAL_AUDITOR)) == {lea, noe}
    await refused(registration.stub.ListRegistrations(pb.ListRegistrationsRequest()), grpc.StatusCode.UNAUTHENTICATED)
