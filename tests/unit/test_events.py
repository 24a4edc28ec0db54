"""The event contract (DESIGN rule 2): frozen typed events, envelopes as JSON, the registry and its
upcasters. The accounts events (R-04, R-05) serve as the real examples."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.auth import Role
from shared.contracts.accounts import REGISTRY, AccountActivated, AccountCreated, ActivationLinkSent
from shared.errors import InvalidEvent, UnknownEventType
from shared.events import CommandContext, DomainEvent, Envelope, EventRegistry, JsonDict

T0 = datetime(2025, 10, 10, 8, 0, tzinfo=UTC)
ACCOUNT_ID = UUID("6f1c2a3e-0000-4000-8000-000000000001")
CANDIDATE_ID = "6f1c2a3e-0000-4000-8000-000000000002"


def account_created() -> AccountCreated:
    return AccountCreated(
        account_id=ACCOUNT_ID,
        role=Role.CANDIDATE,
        last_name="Lovelace",
        first_names="Ada",
        birth_date=date(2004, 12, 10),
        email="ada@example.fr",
        academy="aix-marseille",
    )


def envelope(payload: DomainEvent, **overrides: Any) -> Envelope:
    fields: dict[str, Any] = {
        "event_id": UUID("00000000-0000-4000-8000-0000000000e1"),
        "stream_id": f"account-{ACCOUNT_ID}",
        "stream_version": 1,
        "event_type": payload.event_type,
        "schema_version": payload.schema_version,
        "occurred_at": T0,
        "recorded_at": datetime(2025, 10, 10, 8, 0, 1, 250_000, tzinfo=UTC),
        "academy": "aix-marseille",
        "actor": f"candidate:{ACCOUNT_ID}",
        "candidate_id": CANDIDATE_ID,
        "correlation_id": UUID("00000000-0000-4000-8000-0000000000c1"),
        "causation_id": None,
        "trace_context": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        "payload": payload,
    }
    fields.update(overrides)
    return Envelope(**fields)


def body_of(env: Envelope) -> JsonDict:
    decoded: JsonDict = json.loads(env.to_json())
    return decoded


# -- envelopes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        account_created(),
        ActivationLinkSent(token_digest="ab" * 32, sent_at=T0, expires_at=datetime(2025, 10, 12, 8, tzinfo=UTC)),
        AccountActivated(account_id=ACCOUNT_ID, academy="aix-marseille", activated_at=T0),
    ],
)
def test_an_envelope_round_trips_through_json(payload: DomainEvent) -> None:
    original = envelope(payload)
    decoded = REGISTRY.decode_envelope(original.to_json())
    assert decoded == original
    assert type(decoded.payload) is type(payload)
    assert decoded.payload == payload


def test_decode_envelope_accepts_bytes_str_and_dict() -> None:
    original = envelope(account_created())
    raw = original.to_json()
    assert REGISTRY.decode_envelope(raw.decode()) == original
    assert REGISTRY.decode_envelope(json.loads(raw)) == original


def test_the_type_announced_by_the_headers_decodes_to_the_same_envelope() -> None:
    for payload in (account_created(), AccountActivated(account_id=ACCOUNT_ID, academy="lyon", activated_at=T0)):
        original = envelope(payload)
        decoded = REGISTRY.decode_envelope(original.to_json(), payload.event_type)
        assert decoded == original and original == decoded
        assert isinstance(decoded, Envelope) and type(decoded.payload) is type(payload)
        assert decoded.to_json() == original.to_json()


def test_a_wrong_announced_type_does_not_change_what_is_decoded() -> None:
    original = envelope(account_created())
    assert REGISTRY.decode_envelope(original.to_json(), "AccountActivated") == original
    assert REGISTRY.decode_envelope(original.to_json(), "NoSuchEvent") == original


def test_an_announced_type_still_upcasts_an_old_version() -> None:
    registry = upcasting_registry()
    body = body_of(envelope(PersonNamed(first="x", last="y", academy="z")))
    body["schema_version"], body["payload"] = 1, {"name": "Ada Lovelace"}
    decoded = registry.decode_envelope(json.dumps(body), "PersonNamed")
    assert decoded.payload == PersonNamed(first="Ada", last="Lovelace", academy="aix-marseille")
    assert decoded.schema_version == 1


def test_an_announced_type_gives_the_same_error_for_an_invalid_payload() -> None:
    body = body_of(envelope(account_created()))
    body["payload"]["role"] = "admin"
    with pytest.raises(InvalidEvent, match="invalid AccountCreated payload: role: "):
        REGISTRY.decode_envelope(json.dumps(body), "AccountCreated")


def test_to_json_is_canonical_and_carries_the_payload_fields() -> None:
    raw = envelope(account_created()).to_json()
    body = json.loads(raw)
    assert list(body) == sorted(body)
    assert b", " not in raw
    assert b": " not in raw
    assert body["payload"]["email"] == "ada@example.fr"
    assert body["payload"]["birth_date"] == "2004-12-10"
    assert body["event_type"] == "AccountCreated"
    assert body["schema_version"] == 3  # AccountCreated v3 (an académie administrator role)


def test_partition_key_is_the_candidate_else_the_stream() -> None:
    assert envelope(account_created()).partition_key == CANDIDATE_ID
    assert envelope(account_created(), candidate_id=None).partition_key == f"account-{ACCOUNT_ID}"


def test_command_context_gets_a_fresh_correlation_id() -> None:
    first = CommandContext(academy="aix-marseille", actor="staff:1", occurred_at=T0)
    second = CommandContext(academy="aix-marseille", actor="staff:1", occurred_at=T0)
    assert first.correlation_id != second.correlation_id
    assert first.causation_id is None
    assert first.trace_context == {}


def test_an_unknown_event_type_is_refused() -> None:
    body = body_of(envelope(account_created()))
    body["event_type"] = "AccountDeleted"
    with pytest.raises(UnknownEventType, match="AccountDeleted"):
        REGISTRY.decode_envelope(body)
    with pytest.raises(UnknownEventType):
        REGISTRY.model_for("AccountDeleted")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda payload: payload.pop("email"), "email"),
        (lambda payload: payload.update(account_id="not-a-uuid"), "account_id"),
        (lambda payload: payload.update(role="admin"), "role"),
        (lambda payload: payload.update(birth_date="10/12/2004"), "birth_date"),
        (lambda payload: payload.update(password="secret"), "password"),
    ],
)
def test_an_invalid_payload_is_refused_naming_the_field(change: Any, field: str) -> None:
    body = body_of(envelope(account_created()))
    change(body["payload"])
    with pytest.raises(InvalidEvent) as caught:
        REGISTRY.decode_envelope(body)
    assert caught.value.message.startswith(f"invalid AccountCreated payload: {field}: ")


def test_an_invalid_envelope_field_is_refused_naming_the_field() -> None:
    body = body_of(envelope(account_created()))
    body["occurred_at"] = "yesterday"
    with pytest.raises(InvalidEvent, match="invalid envelope: occurred_at"):
        REGISTRY.decode_envelope(body)


@pytest.mark.parametrize("field", ["event_type", "schema_version", "payload", "stream_id"])
def test_a_missing_envelope_field_is_refused(field: str) -> None:
    body = body_of(envelope(account_created()))
    del body[field]
    with pytest.raises(InvalidEvent, match=field):
        REGISTRY.decode_envelope(body)


@pytest.mark.parametrize("version", ["abc", None, [1], {"v": 1}])
def test_a_malformed_schema_version_is_an_invalid_event(version: object) -> None:
    """Consumers skip InvalidEvent; any other error would make Kafka redeliver the record forever."""
    body = body_of(envelope(account_created()))
    body["schema_version"] = version
    with pytest.raises(InvalidEvent, match="schema_version"):
        REGISTRY.decode_envelope(body)


@pytest.mark.parametrize("raw", [b"{not json", "", b"\xff\xfe", "[1, 2]", "42", '"text"'])
def test_a_record_that_is_not_a_json_object_is_refused(raw: bytes | str) -> None:
    with pytest.raises(InvalidEvent, match="JSON"):
        REGISTRY.decode_envelope(raw)


# -- events are frozen ------------------------------------------------------------------------------


def test_events_are_frozen() -> None:
    event = account_created()
    with pytest.raises(ValidationError):
        event.email = "mallory@example.fr"  # type: ignore[misc]
    assert event.email == "ada@example.fr"


def test_envelopes_are_frozen() -> None:
    env = envelope(account_created())
    with pytest.raises(ValidationError):
        env.stream_version = 2  # type: ignore[misc]


def test_events_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        AccountActivated(account_id=ACCOUNT_ID, academy="aix-marseille", activated_at=T0, extra=1)  # type: ignore[call-arg]


# -- registry and upcasters -------------------------------------------------------------------------


class PersonNamed(DomainEvent):
    """Version 3: v1 had `name`; v2 split it into first/last; v3 added the académie."""

    event_type: ClassVar[str] = "PersonNamed"
    schema_version: ClassVar[int] = 3

    first: str
    last: str
    academy: str


def v1_to_v2(payload: JsonDict) -> JsonDict:
    first, _, last = payload["name"].partition(" ")
    return {"first": first, "last": last}


def v2_to_v3(payload: JsonDict) -> JsonDict:
    return {**payload, "academy": "aix-marseille"}


def upcasting_registry() -> EventRegistry:
    registry = EventRegistry([PersonNamed])
    registry.register_upcaster("PersonNamed", 1, v1_to_v2)
    registry.register_upcaster("PersonNamed", 2, v2_to_v3)
    return registry


def test_upcasters_chain_from_v1_to_v3() -> None:
    event = upcasting_registry().decode("PersonNamed", 1, {"name": "Ada Lovelace"})
    assert event == PersonNamed(first="Ada", last="Lovelace", academy="aix-marseille")


def test_upcasting_starts_at_the_stored_version() -> None:
    registry = upcasting_registry()
    assert registry.decode("PersonNamed", 2, {"first": "Ada", "last": "Lovelace"}) == PersonNamed(
        first="Ada", last="Lovelace", academy="aix-marseille"
    )
    current = {"first": "Ada", "last": "Lovelace", "academy": "lyon"}
    assert registry.decode("PersonNamed", 3, current) == PersonNamed(**current)


def test_an_envelope_of_an_old_version_is_upcast() -> None:
    registry = upcasting_registry()
    body = body_of(envelope(PersonNamed(first="x", last="y", academy="z")))
    body["schema_version"] = 1
    body["payload"] = {"name": "Ada Lovelace"}
    decoded = registry.decode_envelope(body)
    assert decoded.payload == PersonNamed(first="Ada", last="Lovelace", academy="aix-marseille")
    assert decoded.schema_version == 1  # the envelope records what was stored


def test_a_registry_pickled_into_a_rebuild_process_decodes_and_upcasts_as_before() -> None:
    """A rebuild process is given its registry pickled (shared.rebuild): the typed envelopes it made
    for fast decoding are classes made at run time, left out and made again on first use."""
    registry = upcasting_registry()
    current = envelope(PersonNamed(first="Ada", last="Lovelace", academy="lyon"))
    assert registry.decode_envelope(current.to_json(), "PersonNamed") == current  # its cache is filled
    old = body_of(current)
    old["schema_version"], old["payload"] = 1, {"name": "Ada Lovelace"}

    copy = pickle.loads(pickle.dumps(registry))

    assert copy.decode_envelope(current.to_json(), "PersonNamed") == current
    upcast = copy.decode_envelope(json.dumps(old)).payload
    assert upcast == PersonNamed(first="Ada", last="Lovelace", academy="aix-marseille")
    assert registry.decode_envelope(current.to_json(), "PersonNamed") == current  # the original is intact


def test_a_missing_upcaster_is_an_invalid_event() -> None:
    registry = EventRegistry([PersonNamed])
    registry.register_upcaster("PersonNamed", 1, v1_to_v2)
    with pytest.raises(InvalidEvent, match="no upcaster for PersonNamed from schema version 2"):
        registry.decode("PersonNamed", 1, {"name": "Ada Lovelace"})


def test_a_schema_version_newer_than_known_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEvent, match="newer than the known 3"):
        upcasting_registry().decode("PersonNamed", 4, {"first": "a", "last": "b", "academy": "c"})
    with pytest.raises(InvalidEvent, match="schema version 2"):
        REGISTRY.decode("AccountActivated", 2, {})


def test_an_upcast_payload_is_still_validated() -> None:
    registry = EventRegistry([PersonNamed])
    registry.register_upcaster("PersonNamed", 1, v1_to_v2)
    registry.register_upcaster("PersonNamed", 2, lambda payload: payload)  # forgets the académie
    with pytest.raises(InvalidEvent, match="academy"):
        registry.decode("PersonNamed", 1, {"name": "Ada Lovelace"})


def test_registering_two_models_under_one_type_name_is_refused() -> None:
    class OtherAccountCreated(DomainEvent):
        event_type: ClassVar[str] = "AccountCreated"

    with pytest.raises(ValueError, match="registered twice"):
        EventRegistry([AccountCreated, OtherAccountCreated])


def test_registering_the_same_model_twice_is_harmless() -> None:
    registry = EventRegistry([AccountCreated])
    registry.register(AccountCreated)
    assert registry.models == {"AccountCreated": AccountCreated}


def test_models_returns_a_copy() -> None:
    registry = EventRegistry([AccountCreated])
    registry.models.clear()
    assert registry.model_for("AccountCreated") is AccountCreated


def test_merged_registries_know_both_models_and_upcasters() -> None:
    merged = REGISTRY.merged(upcasting_registry())
    assert set(merged.models) == {*REGISTRY.models, "PersonNamed"}
    assert {"AccountCreated", "ActivationLinkSent", "AccountActivated"} <= set(REGISTRY.models)
    assert merged.decode("PersonNamed", 1, {"name": "Ada Lovelace"}).model_dump() == {
        "first": "Ada",
        "last": "Lovelace",
        "academy": "aix-marseille",
    }
    # merging does not change either side
    with pytest.raises(UnknownEventType):
        REGISTRY.model_for("PersonNamed")


def test_merging_conflicting_registries_is_refused() -> None:
    class OtherPersonNamed(DomainEvent):
        event_type: ClassVar[str] = "PersonNamed"

    with pytest.raises(ValueError, match="registered twice"):
        upcasting_registry().merged(EventRegistry([OtherPersonNamed]))


# -- property ---------------------------------------------------------------------------------------

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(
    payload=st.builds(
        AccountCreated,
        account_id=st.uuids(),
        role=st.sampled_from(list(Role)),
        last_name=names,
        first_names=names,
        birth_date=st.one_of(st.none(), st.dates()),
        email=names,
        academy=names,
    ),
    stream_version=st.integers(min_value=1, max_value=2**31),
    candidate_id=st.one_of(st.none(), names),
)
def test_any_account_created_envelope_round_trips(
    payload: AccountCreated, stream_version: int, candidate_id: str | None
) -> None:
    original = envelope(payload, stream_version=stream_version, candidate_id=candidate_id)
    assert REGISTRY.decode_envelope(original.to_json()) == original
