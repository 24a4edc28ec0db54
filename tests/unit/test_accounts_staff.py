"""Staff administered by an académie's administrator (issue 13 part 5), pure decide/evolve: "given
events, when command, then events (or this error)"; and who may send those commands (the pipeline's
role and scope checks, shared.pipeline)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from services.accounts.commands import CreateAccount, CreateStaff, DeactivateAccount
from services.accounts.domain import ACCOUNT, INITIAL, AccountFacts, AccountState, AccountStatus, decide
from services.accounts.service import COMMANDS, account_scope, staff_scope
from shared import known_accounts
from shared.auth import AUDIENCES, READERS, Principal, Role
from shared.contracts.accounts import (
    REGISTRY,
    AccountActivated,
    AccountCreated,
    AccountDeactivated,
    ActivationLinkSent,
)
from shared.decider import replay
from shared.errors import AlreadyExists, NotFound, PermissionDenied
from shared.events import DomainEvent, Envelope
from shared.pipeline import authorize_role, authorize_scope

STAFF_ID = UUID("6f1c2a3e-0000-4000-8000-0000000000a1")
ADMIN_ID = "6f1c2a3e-0000-4000-8000-0000000000ad"
T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
DIGEST = hashlib.sha256(b"token").hexdigest()
SPECS = {spec.name: spec for spec in COMMANDS}


def given(*events: DomainEvent) -> AccountState:
    return replay(ACCOUNT, list(events))


def create_staff(**overrides: Any) -> CreateStaff:
    fields: dict[str, Any] = {
        "account_id": STAFF_ID,
        "role": Role.STAFF,
        "last_name": "Agent",
        "first_names": "Rectorat",
        "email": "agent@ac-aix-marseille.fr",
        "academy": "aix-marseille",
        "now": T0,
        "token_digest": DIGEST,
    }
    return CreateStaff(**{**fields, **overrides})


def staff_created(role: Role = Role.STAFF) -> list[DomainEvent]:
    return [
        AccountCreated(
            account_id=STAFF_ID,
            role=role,
            last_name="Agent",
            first_names="Rectorat",
            birth_date=None,
            email="agent@ac-aix-marseille.fr",
            academy="aix-marseille",
        ),
        ActivationLinkSent(token_digest=DIGEST, sent_at=T0, expires_at=datetime(2026, 9, 3, 8, 0, tzinfo=UTC)),
    ]


def deactivate(**overrides: Any) -> DeactivateAccount:
    fields: dict[str, Any] = {"account_id": STAFF_ID, "by": ADMIN_ID, "reason": "départ en retraite", "now": T0}
    return DeactivateAccount(**{**fields, **overrides})


def principal(role: Role, academy: str = "aix-marseille") -> Principal:
    return Principal(subject=ADMIN_ID, role=role, academy=academy)


# -- creation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STAFF, Role.AUDITOR])
def test_an_administrator_creates_a_pending_staff_account_with_an_activation_link(role: Role) -> None:
    events = decide(create_staff(role=role), INITIAL)
    assert events == staff_created(role)
    state = given(*events)
    assert state.status is AccountStatus.PENDING and state.role is role and state.link_digest == DIGEST


@pytest.mark.parametrize("role", [Role.ACADEMY_ADMIN, Role.NATIONAL_AUDITOR, Role.CANDIDATE])
def test_an_administrator_creates_no_other_role(role: Role) -> None:
    with pytest.raises(ValidationError, match="role"):
        create_staff(role=role)


def test_a_staff_creation_for_a_taken_email_already_exists() -> None:
    with pytest.raises(AlreadyExists):
        decide(create_staff(), INITIAL, AccountFacts(email_taken=True))


@pytest.mark.parametrize("role", [Role.STAFF, Role.AUDITOR])
def test_the_server_no_longer_creates_staff_or_auditors(role: Role) -> None:
    command = CreateAccount(
        account_id=STAFF_ID, role=role, last_name="A", first_names="B", birth_date=None,
        email="a@b.fr", academy="lyon", now=T0,
    )  # fmt: skip
    with pytest.raises(PermissionDenied, match="create-staff"):
        decide(command, INITIAL)


@pytest.mark.parametrize("role", [Role.CANDIDATE, Role.STAFF, Role.AUDITOR, Role.NATIONAL_AUDITOR])
def test_only_an_administrator_may_send_the_administration_commands(role: Role) -> None:
    for name in ("CreateStaff", "DeactivateAccount"):
        with pytest.raises(PermissionDenied):
            authorize_role(SPECS[name], principal(role))
        authorize_role(SPECS[name], principal(Role.ACADEMY_ADMIN))


def test_another_academies_administrator_is_refused() -> None:
    lyon = principal(Role.ACADEMY_ADMIN, "lyon")
    with pytest.raises(PermissionDenied, match="within their académie"):
        authorize_scope(lyon, staff_scope(create_staff(), INITIAL, None))
    with pytest.raises(PermissionDenied, match="within their académie"):
        authorize_scope(lyon, account_scope(deactivate(), given(*staff_created()), None))
    # An unknown account names no académie: refused too, and nothing tells it apart.
    with pytest.raises(PermissionDenied, match="within their académie"):
        authorize_scope(lyon, account_scope(deactivate(), INITIAL, None))
    authorize_scope(principal(Role.ACADEMY_ADMIN), staff_scope(create_staff(), INITIAL, None))


# -- deactivation -----------------------------------------------------------------------------------


def test_deactivation_raises_the_token_version_and_names_the_administrator() -> None:
    active = given(*staff_created(), AccountActivated(account_id=STAFF_ID, academy="aix-marseille", activated_at=T0))
    events = decide(deactivate(), active)
    assert events == [
        AccountDeactivated(
            account_id=STAFF_ID, deactivated_at=T0, by=ADMIN_ID, reason="départ en retraite", token_version=1
        )
    ]
    state = given(*staff_created(), *events)
    assert state.status is AccountStatus.DEACTIVATED and state.token_version == 1
    assert decide(deactivate(), state) == []  # once is enough


def test_a_pending_staff_account_can_be_deactivated_too() -> None:
    assert len(decide(deactivate(), given(*staff_created()))) == 1


@pytest.mark.parametrize("role", [Role.CANDIDATE, Role.ACADEMY_ADMIN, Role.NATIONAL_AUDITOR])
def test_an_administrator_deactivates_staff_and_auditors_only(role: Role) -> None:
    state = given(
        AccountCreated(
            account_id=STAFF_ID, role=role, last_name="A", first_names="B", birth_date=None,
            email="a@b.fr", academy="aix-marseille",
        )
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        decide(deactivate(), state)


def test_deactivating_an_unknown_account_is_not_found() -> None:
    with pytest.raises(NotFound):
        decide(deactivate(), INITIAL)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_the_reason_is_required_and_bounded(reason: str) -> None:
    with pytest.raises(ValidationError, match="reason"):
        deactivate(reason=reason)


# -- the role, its tokens, the contract ---------------------------------------------------------------


def test_an_administrators_token_is_for_the_accounts_service_and_reads_its_academy_only() -> None:
    admin = principal(Role.ACADEMY_ADMIN)
    assert AUDIENCES[Role.ACADEMY_ADMIN] == ("accounts",)
    assert Role.ACADEMY_ADMIN not in READERS  # no list of candidates' data
    assert admin.reads_academy("aix-marseille") and not admin.reads_academy("lyon")
    assert admin.read_scope == "aix-marseille"
    admin.require_writer()  # not an auditor: it administers accounts


def test_a_version_2_account_created_reads_as_version_3() -> None:
    payload = staff_created()[0]
    envelope = Envelope(
        event_id=STAFF_ID, stream_id=f"account-{STAFF_ID}", stream_version=1, event_type=payload.event_type,
        schema_version=payload.schema_version, occurred_at=T0, recorded_at=T0, academy="aix-marseille",
        actor="bootstrap", candidate_id=None, correlation_id=STAFF_ID, causation_id=None, payload=payload,
    )  # fmt: skip
    body = json.loads(envelope.to_json())
    assert body["schema_version"] == 3
    body["schema_version"] = 2
    for registry in (REGISTRY, known_accounts.INBOUND):  # the producer's, and what the other services read
        assert registry.decode_envelope(json.dumps(body), "AccountCreated").payload == payload
