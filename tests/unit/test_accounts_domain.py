"""Accounts domain, pure decide/evolve: "given events, when command, then events (or this error)".

Rules: R-02 (accounts outlive sessions: never recreated), R-04 (create, then activate within 48 h),
R-05 (expired / used / replaced links refused with the reason; a new link can be asked for).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from services.accounts.commands import ActivateAccount, Command, CreateAccount, SendActivationLink
from services.accounts.domain import (
    ACCOUNT,
    ACTIVATION_LINK_VALIDITY,
    INITIAL,
    AccountState,
    AccountStatus,
    decide,
    evolve,
)
from shared.auth import Role
from shared.contracts.accounts import AccountActivated, AccountCreated, ActivationLinkSent
from shared.decider import replay
from shared.errors import InvalidInput, NotFound, RuleViolation
from shared.events import DomainEvent

ACCOUNT_ID = UUID("6f1c2a3e-0000-4000-8000-000000000001")
T0 = datetime(2025, 10, 10, 8, 0, tzinfo=UTC)  # 10:00 in Paris (CEST)
HOURS_48 = timedelta(hours=48)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


D1 = digest("token-1")
D2 = digest("token-2")


# -- given / when helpers --------------------------------------------------------------------------


def given(*events: DomainEvent) -> AccountState:
    """The state after folding `events` from INITIAL with evolve."""
    return replay(ACCOUNT, list(events))


def when(state: AccountState, command: Command) -> list[DomainEvent]:
    return decide(command, state)


def create(**overrides: Any) -> CreateAccount:
    fields: dict[str, Any] = {
        "account_id": ACCOUNT_ID,
        "last_name": "Lovelace",
        "first_names": "Ada Augusta",
        "birth_date": date(2004, 12, 10),
        "email": "ada@example.fr",
        "academy": "aix-marseille",
        "now": T0,
    }
    fields.update(overrides)
    return CreateAccount(**fields)


def created(**overrides: Any) -> AccountCreated:
    fields: dict[str, Any] = {
        "account_id": ACCOUNT_ID,
        "role": Role.CANDIDATE,
        "last_name": "Lovelace",
        "first_names": "Ada Augusta",
        "birth_date": date(2004, 12, 10),
        "email": "ada@example.fr",
        "academy": "aix-marseille",
    }
    fields.update(overrides)
    return AccountCreated(**fields)


def link_sent(token_digest: str = D1, at: datetime = T0) -> ActivationLinkSent:
    return ActivationLinkSent(token_digest=token_digest, sent_at=at, expires_at=at + HOURS_48)


def activated(at: datetime) -> AccountActivated:
    return AccountActivated(account_id=ACCOUNT_ID, academy="aix-marseille", activated_at=at)


def refused(state: AccountState, command: Command) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        when(state, command)
    return caught.value


# -- creation (R-04, R-05) -------------------------------------------------------------------------


def test_r04_creating_a_candidate_records_account_created_with_the_email_lower_cased() -> None:
    events = when(INITIAL, create(email="  Ada.Lovelace@Example.FR "))
    assert events == [created(email="ada.lovelace@example.fr")]


def test_r04_a_created_candidate_is_pending_activation() -> None:
    state = given(created())
    assert state.exists
    assert state.status is AccountStatus.PENDING
    assert (state.account_id, state.role, state.academy, state.email) == (
        ACCOUNT_ID,
        Role.CANDIDATE,
        "aix-marseille",
        "ada@example.fr",
    )
    assert (state.first_names, state.last_name) == ("Ada Augusta", "Lovelace")


def test_r05_an_existing_account_is_never_recreated() -> None:
    error = refused(given(created()), create())
    assert error.rule == "R-05"
    assert "never recreated" in error.message


def test_r05_r02_an_active_account_is_never_recreated_either() -> None:
    """R-02: a redoublant keeps the same account, so recreation is refused whatever its status."""
    error = refused(given(created(), link_sent(), activated(T0 + timedelta(hours=1))), create(email="x@y.fr"))
    assert error.rule == "R-05"


@pytest.mark.parametrize("role", [Role.ACADEMY_ADMIN, Role.NATIONAL_AUDITOR])
def test_r04_administrators_and_national_auditors_are_created_active_at_once(role: Role) -> None:
    events = when(INITIAL, create(role=role, birth_date=None))
    assert events == [
        created(role=role, birth_date=None),
        AccountActivated(account_id=ACCOUNT_ID, academy="aix-marseille", activated_at=T0),
    ]
    state = given(*events)
    assert state.status is AccountStatus.ACTIVE
    assert state.role is role


def test_r04_an_administrators_creation_does_not_check_the_birth_date() -> None:
    events = when(INITIAL, create(role=Role.ACADEMY_ADMIN, birth_date=date(2100, 1, 1)))
    assert len(events) == 2


def test_r04_a_candidate_needs_a_birth_date() -> None:
    with pytest.raises(InvalidInput) as caught:
        when(INITIAL, create(birth_date=None))
    assert caught.value.field == "birth_date"
    assert "required" in caught.value.reason


@pytest.mark.parametrize("birth_date", [date(2025, 10, 10), date(2025, 10, 11), date(2030, 1, 1)])
def test_r04_a_candidate_birth_date_today_or_in_the_future_is_refused(birth_date: date) -> None:
    with pytest.raises(InvalidInput) as caught:
        when(INITIAL, create(birth_date=birth_date))
    assert caught.value.field == "birth_date"
    assert "past" in caught.value.reason
    assert caught.value.message.startswith("birth_date: ")


def test_r04_the_birth_date_is_compared_with_today_in_paris() -> None:
    """22:30 UTC on 10/10 is 00:30 on 11/10 in Paris: 10/10 is then in the past."""
    late = datetime(2025, 10, 10, 22, 30, tzinfo=UTC)
    assert when(INITIAL, create(birth_date=date(2025, 10, 10), now=late)) == [created(birth_date=date(2025, 10, 10))]
    with pytest.raises(InvalidInput):
        when(INITIAL, create(birth_date=date(2025, 10, 11), now=late))


def test_r04_a_birth_date_more_than_120_years_ago_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        when(INITIAL, create(birth_date=date(1904, 12, 31)))
    assert caught.value.field == "birth_date"
    assert "120 years" in caught.value.reason
    assert when(INITIAL, create(birth_date=date(1905, 1, 1)))[0] == created(birth_date=date(1905, 1, 1))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", "ada@example"),
        ("email", "a b@example.fr"),
        ("email", "a" * 250 + "@x.fr"),
        ("academy", "Aix-Marseille"),
        ("academy", "aix marseille"),
        ("academy", "aix-"),
        ("academy", "aix-marseille\n"),
        ("academy", ""),
        ("last_name", ""),
        ("last_name", "   "),
        ("first_names", ""),
        ("last_name", "x" * 101),
        ("role", "admin"),
        ("account_id", "not-a-uuid"),
    ],
)
def test_r04_bad_input_is_refused_by_the_command_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        create(**{field: value})
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]


def test_r04_commands_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        create(password="secret")
    assert caught.value.errors()[0]["loc"] == ("password",)


def test_r04_names_are_stripped_by_the_command() -> None:
    command = create(last_name="  Lovelace ", first_names=" Ada Augusta  ")
    assert (command.last_name, command.first_names) == ("Lovelace", "Ada Augusta")


@pytest.mark.parametrize("value", ["abc", D1.upper(), D1[:-1], D1 + "0"])
def test_r05_a_token_digest_must_be_a_sha256_hex_digest(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ActivateAccount(account_id=ACCOUNT_ID, token_digest=value, now=T0)
    assert caught.value.errors()[0]["loc"] == ("token_digest",)


def test_decide_refuses_an_unknown_command() -> None:
    class Unknown(BaseModel):
        pass

    with pytest.raises(AssertionError, match="Unknown"):
        decide(Unknown(), INITIAL)  # type: ignore[arg-type]


# -- activation link (R-04, R-05) ------------------------------------------------------------------


def test_r04_sending_a_link_records_it_with_an_expiry_exactly_48_hours_later() -> None:
    events = when(given(created()), SendActivationLink(account_id=ACCOUNT_ID, token_digest=D1, now=T0))
    assert events == [ActivationLinkSent(token_digest=D1, sent_at=T0, expires_at=T0 + timedelta(hours=48))]
    assert timedelta(hours=48) == ACTIVATION_LINK_VALIDITY


def test_r04_activation_at_47h59m59s_succeeds() -> None:
    at = T0 + timedelta(hours=47, minutes=59, seconds=59)
    events = when(given(created(), link_sent()), ActivateAccount(account_id=ACCOUNT_ID, token_digest=D1, now=at))
    assert events == [activated(at)]
    state = given(created(), link_sent(), *events)
    assert state.status is AccountStatus.ACTIVE
    assert state.used_digest == D1


def test_r05_activation_at_exactly_48h_is_refused_as_expired() -> None:
    error = refused(
        given(created(), link_sent()), ActivateAccount(account_id=ACCOUNT_ID, token_digest=D1, now=T0 + HOURS_48)
    )
    assert error.rule == "R-05"
    assert "expired" in error.message
    assert "ask for a new link" in error.message
    # 08:00 UTC on 12/10/2025 is 10:00 in Paris (summer time).
    assert "12/10/2025 à 10:00 (Europe/Paris)" in error.message


def test_r05_the_expiry_is_shown_in_paris_winter_time() -> None:
    sent = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
    error = refused(
        given(created(), link_sent(at=sent)),
        ActivateAccount(account_id=ACCOUNT_ID, token_digest=D1, now=sent + timedelta(days=5)),
    )
    assert "05/11/2025 à 09:00 (Europe/Paris)" in error.message


def test_r05_the_same_link_cannot_be_used_twice() -> None:
    at = T0 + timedelta(hours=1)
    error = refused(
        given(created(), link_sent(), activated(at)),
        ActivateAccount(account_id=ACCOUNT_ID, token_digest=D1, now=at + timedelta(minutes=1)),
    )
    assert error.rule == "R-05"
    assert "already used" in error.message


def test_r05_an_old_link_is_refused_after_a_new_one_was_sent() -> None:
    state = given(created(), link_sent(D1, T0), link_sent(D2, T0 + timedelta(hours=1)))
    error = refused(state, ActivateAccount(account_id=ACCOUNT_ID, token_digest=D1, now=T0 + timedelta(hours=2)))
    assert error.rule == "R-05"
    assert "replaced by a newer one" in error.message


def test_r05_the_new_link_works_after_a_resend() -> None:
    at = T0 + timedelta(hours=2)
    state = given(created(), link_sent(D1, T0), link_sent(D2, T0 + timedelta(hours=1)))
    assert when(state, ActivateAccount(account_id=ACCOUNT_ID, token_digest=D2, now=at)) == [activated(at)]


def test_r05_a_new_link_can_be_asked_for_after_expiry_and_has_its_own_48_hours() -> None:
    resent_at = T0 + timedelta(days=3)
    state = given(created(), link_sent(D1, T0))
    events = when(state, SendActivationLink(account_id=ACCOUNT_ID, token_digest=D2, now=resent_at))
    assert events == [link_sent(D2, resent_at)]
    state = given(created(), link_sent(D1, T0), *events)
    late = resent_at + HOURS_48 - timedelta(seconds=1)
    assert when(state, ActivateAccount(account_id=ACCOUNT_ID, token_digest=D2, now=late)) == [activated(late)]
    assert (
        refused(state, ActivateAccount(account_id=ACCOUNT_ID, token_digest=D2, now=resent_at + HOURS_48)).rule == "R-05"
    )


def test_r05_the_old_link_stays_replaced_after_several_resends() -> None:
    d3 = digest("token-3")
    state = given(created(), link_sent(D1), link_sent(D2), link_sent(d3))
    assert state.replaced_digests == frozenset({D1, D2})
    assert state.link_digest == d3
    for old in (D1, D2):
        assert "replaced" in refused(state, ActivateAccount(account_id=ACCOUNT_ID, token_digest=old, now=T0)).message


def test_r05_no_new_link_for_an_active_account() -> None:
    state = given(created(), link_sent(), activated(T0 + timedelta(hours=1)))
    error = refused(state, SendActivationLink(account_id=ACCOUNT_ID, token_digest=D2, now=T0 + timedelta(hours=2)))
    assert error.rule == "R-05"
    assert "already activated" in error.message


def test_r05_no_new_link_for_an_administrator_account_active_at_once() -> None:
    state = given(*when(INITIAL, create(role=Role.ACADEMY_ADMIN, birth_date=None)))
    assert refused(state, SendActivationLink(account_id=ACCOUNT_ID, token_digest=D1, now=T0)).rule == "R-05"


def test_r05_an_old_link_on_an_active_account_says_the_account_is_active() -> None:
    state = given(created(), link_sent(D1), link_sent(D2), activated(T0 + timedelta(hours=1)))
    error = refused(state, ActivateAccount(account_id=ACCOUNT_ID, token_digest=D1, now=T0 + timedelta(hours=2)))
    assert "already activated" in error.message


def test_r04_sending_a_link_for_an_unknown_account_is_not_found() -> None:
    with pytest.raises(NotFound):
        when(INITIAL, SendActivationLink(account_id=ACCOUNT_ID, token_digest=D1, now=T0))


def test_r04_activating_an_unknown_account_is_not_found() -> None:
    with pytest.raises(NotFound, match="unknown activation link"):
        when(INITIAL, ActivateAccount(account_id=ACCOUNT_ID, token_digest=D1, now=T0))


def test_r04_an_unknown_digest_on_a_pending_account_is_not_found() -> None:
    with pytest.raises(NotFound, match="unknown activation link"):
        when(given(created(), link_sent(D1)), ActivateAccount(account_id=ACCOUNT_ID, token_digest=D2, now=T0))


def test_r04_activating_before_any_link_was_sent_is_not_found() -> None:
    with pytest.raises(NotFound):
        when(given(created()), ActivateAccount(account_id=ACCOUNT_ID, token_digest=D1, now=T0))


# -- replay ------------------------------------------------------------------------------------------


HISTORY: tuple[DomainEvent, ...] = (
    created(),
    link_sent(D1, T0),
    link_sent(D2, T0 + timedelta(hours=3)),
    activated(T0 + timedelta(hours=4)),
)


def test_replaying_the_same_events_twice_gives_equal_states() -> None:
    first = replay(ACCOUNT, list(HISTORY))
    second = replay(ACCOUNT, list(HISTORY))
    assert first == second
    assert first != INITIAL
    assert first.status is AccountStatus.ACTIVE
    assert first.used_digest == D2
    assert first.replaced_digests == frozenset({D1})


def test_replay_from_a_snapshot_equals_replay_from_initial() -> None:
    snapshot = replay(ACCOUNT, list(HISTORY[:2]))
    assert replay(ACCOUNT, list(HISTORY[2:]), snapshot) == replay(ACCOUNT, list(HISTORY))


def test_evolve_ignores_unknown_events() -> None:
    class SomethingElseHappened(DomainEvent):
        event_type = "SomethingElseHappened"

        detail: str

    state = given(created(), link_sent())
    assert evolve(state, SomethingElseHappened(detail="x")) == state
    assert evolve(INITIAL, SomethingElseHappened(detail="x")) == INITIAL


def test_evolve_does_not_mutate_the_state() -> None:
    state = given(created())
    evolve(state, link_sent())
    assert state.link_digest is None
    assert AccountState() == INITIAL


# -- properties --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@hypothesis_given(offset=st.integers(min_value=-3600, max_value=4 * 24 * 3600))
def test_r05_activation_succeeds_iff_before_sent_plus_48h(offset: int) -> None:
    at = T0 + timedelta(seconds=offset)
    command = ActivateAccount(account_id=ACCOUNT_ID, token_digest=D1, now=at)
    state = given(created(), link_sent())
    if at < T0 + HOURS_48:
        assert when(state, command) == [activated(at)]
    else:
        error = refused(state, command)
        assert error.rule == "R-05"
        assert "expired" in error.message


TOKENS = [digest(f"token-{n}") for n in range(4)]
command_strategy = st.one_of(
    st.builds(lambda minutes: create(now=T0 + timedelta(minutes=minutes)), st.integers(0, 10_000)),
    st.builds(
        lambda token, minutes: SendActivationLink(
            account_id=ACCOUNT_ID, token_digest=token, now=T0 + timedelta(minutes=minutes)
        ),
        st.sampled_from(TOKENS),
        st.integers(0, 10_000),
    ),
    st.builds(
        lambda token, minutes: ActivateAccount(
            account_id=ACCOUNT_ID, token_digest=token, now=T0 + timedelta(minutes=minutes)
        ),
        st.sampled_from(TOKENS),
        st.integers(0, 10_000),
    ),
)


@settings(max_examples=200, deadline=None)
@hypothesis_given(commands=st.lists(command_strategy, max_size=12))
def test_replaying_produced_events_equals_the_incremental_fold(commands: list[Command]) -> None:
    """For any command sequence: the events accepted, replayed from INITIAL, give the state that
    was folded step by step; R-05 invariants hold along the way."""
    state = INITIAL
    produced: list[DomainEvent] = []
    for command in commands:
        try:
            events = decide(command, state)
        except (RuleViolation, NotFound, InvalidInput):
            continue
        for event in events:
            state = evolve(state, event)
        produced.extend(events)
    assert replay(ACCOUNT, produced) == state
    assert replay(ACCOUNT, list(produced)) == replay(ACCOUNT, produced)
    # never recreated, never activated twice.
    assert sum(isinstance(event, AccountCreated) for event in produced) == (1 if state.exists else 0)
    assert sum(isinstance(event, AccountActivated) for event in produced) <= 1
    if state.status is AccountStatus.ACTIVE:
        assert state.used_digest is not None
