"""Personal fields sealed per subject (issue 13 part 7, shared.personal): what the store writes holds
no clear personal field, reads back as the event, cannot be tampered with or moved, and reads as the
erased values once the subject's key is destroyed."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.auth import Role
from shared.contracts import accounts, registration
from shared.errors import InvalidEvent
from shared.events import CommandContext, DomainEvent, Envelope, EventRegistry
from shared.eventstore import Append, plan_envelopes
from shared.personal import KEYRING, SEALED, KeyNotLoaded, seal, subjects_in
from shared.sealed_events import stored_json

REGISTRY = accounts.REGISTRY.merged(registration.REGISTRY)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _envelope(event: DomainEvent, candidate: UUID, stream: str = "s-1") -> Envelope:
    context = CommandContext(academy="aix-marseille", actor="t", occurred_at=NOW, candidate_id=str(candidate))
    return plan_envelopes(Append(stream, 0, (event,), context), NOW)[0]


def _created(candidate: UUID) -> accounts.AccountCreated:
    return accounts.AccountCreated(
        account_id=candidate,
        role=Role.CANDIDATE,
        last_name="Nguyen",
        first_names="Léa Marie",
        birth_date=date(2002, 2, 20),
        email="lea.nguyen@example.org",
        academy="aix-marseille",
    )


def _stored(event: DomainEvent, candidate: UUID, key: bytes | None) -> dict[str, object]:
    body: dict[str, object] = json.loads(stored_json(_envelope(event, candidate), {str(candidate): key}))
    return body


def test_the_stored_event_holds_no_clear_personal_field_and_reads_back_as_the_event() -> None:
    candidate, key = uuid4(), AESGCM.generate_key(256)
    event = _created(candidate)
    body = _stored(event, candidate, key)
    text = json.dumps(body)
    for clear in ("Nguyen", "Léa", "Marie", "2002-02-20", "lea.nguyen", "example.org"):
        assert clear not in text and clear.encode("unicode_escape").decode() not in text
    payload = body["payload"]
    assert isinstance(payload, dict) and SEALED in payload and payload["academy"] == "aix-marseille"
    assert subjects_in([json.dumps(body).encode()]) == {str(candidate)}
    KEYRING.remember(str(candidate), key)
    assert REGISTRY.decode("AccountCreated", 3, payload) == event
    assert REGISTRY.decode_envelope(json.dumps(body).encode(), "AccountCreated").payload == event


def test_handicap_answers_are_sealed_and_the_confirmation_carries_the_handicap() -> None:
    candidate, key = uuid4(), AESGCM.generate_key(256)
    declared = registration.HandicapDeclared(handicap=True, amex_reference="AMEX-13-0042", existing_decision=True)
    payload = _stored(declared, candidate, key)["payload"]
    assert isinstance(payload, dict) and set(payload) == {SEALED}
    assert "AMEX-13-0042" not in json.dumps(payload)
    KEYRING.remember(str(candidate), key)
    assert REGISTRY.decode("HandicapDeclared", 1, payload) == declared


def test_a_tampered_or_moved_ciphertext_does_not_open() -> None:
    candidate, other, key = uuid4(), uuid4(), AESGCM.generate_key(256)
    KEYRING.remember(str(candidate), key)
    KEYRING.remember(str(other), AESGCM.generate_key(256))
    payload = _stored(_created(candidate), candidate, key)["payload"]
    assert isinstance(payload, dict)
    blob = payload[SEALED]
    flipped = bytearray(base64.b64decode(blob["c"]))
    flipped[3] ^= 1
    tampered = {**payload, SEALED: {**blob, "c": base64.b64encode(bytes(flipped)).decode()}}
    with pytest.raises(InvalidEvent, match="does not open"):
        REGISTRY.decode("AccountCreated", 3, tampered)
    with pytest.raises(InvalidEvent, match="does not open"):  # claimed by another subject
        REGISTRY.decode("AccountCreated", 3, {**payload, SEALED: {**blob, "s": str(other)}})
    handicap = registration.HandicapDeclared(handicap=True, amex_reference="A-1", existing_decision=False)
    sealed = _stored(handicap, candidate, key)["payload"]
    assert isinstance(sealed, dict)
    moved = {"registration_id": "r", **sealed}  # a handicap's seal moved into another event type
    with pytest.raises(InvalidEvent):
        REGISTRY.decode("RegistrationConfirmed", 1, moved)
    with pytest.raises(InvalidEvent, match="does not open"):
        REGISTRY.decode("AccountCreated", 3, {**payload, SEALED: {**blob, "n": "not base64!"}})


def test_a_destroyed_key_reads_as_the_erased_values_and_the_event_still_decodes() -> None:
    candidate, key = uuid4(), AESGCM.generate_key(256)
    payload = _stored(_created(candidate), candidate, key)["payload"]
    confirmed = _stored(_confirmed(candidate), candidate, key)["payload"]
    assert isinstance(payload, dict) and isinstance(confirmed, dict)
    KEYRING.forget(str(candidate))
    erased = REGISTRY.decode("AccountCreated", 3, payload)
    assert isinstance(erased, accounts.AccountCreated)
    assert (erased.last_name, erased.first_names, erased.birth_date, erased.email) == ("", "", None, "")
    assert erased.account_id == candidate and erased.academy == "aix-marseille"
    still = REGISTRY.decode("RegistrationConfirmed", 1, confirmed)
    assert isinstance(still, registration.RegistrationConfirmed) and still.handicap is False
    assert still.units == ("U1",)
    # Appended after the destruction: the erased values, in clear, and nothing else of them.
    after = seal(
        "AccountCreated", _created(candidate).model_dump(mode="json"), accounts.AccountCreated.personal, "x", None
    )
    assert (after["last_name"], after["email"], after["birth_date"]) == ("", "", None) and SEALED not in after


def test_a_subject_not_prepared_is_a_bug_not_an_erasure() -> None:
    candidate = uuid4()
    payload = _stored(_created(candidate), candidate, AESGCM.generate_key(256))["payload"]
    assert isinstance(payload, dict)
    with pytest.raises(KeyNotLoaded):
        REGISTRY.decode("AccountCreated", 3, payload)


def test_events_without_personal_fields_and_stores_without_keys_write_as_before() -> None:
    candidate = uuid4()
    started = registration.SummaryIssued(version=1, issued_at=NOW)
    envelope = _envelope(started, candidate)
    assert stored_json(envelope, {str(candidate): AESGCM.generate_key(256)}) == envelope.to_json()
    created = _envelope(_created(candidate), candidate)
    assert stored_json(created, {}) == created.to_json()  # no key store: clear (older stores' events)
    assert EventRegistry([accounts.AccountCreated]).decode_envelope(created.to_json()).payload == created.payload


def _confirmed(candidate: UUID) -> registration.RegistrationConfirmed:
    return registration.RegistrationConfirmed(
        registration_id="r-1",
        candidate_id=candidate,
        academy="aix-marseille",
        session=2027,
        specialty="SIO-SISR",
        category=registration.Category.DISTANCE,
        form="globale",
        units=("U1",),
        optional_units=(),
        language=None,
        exempted_units=(),
        benefit_units=(),
        handicap=True,
    )


def test_the_published_schema_accepts_the_sealed_record() -> None:
    """docs/events: a personal field is absent from the published payload, `sealed` carries it."""
    from jsonschema import Draft202012Validator

    import docs_gen

    candidate = uuid4()
    event = next(e for e in docs_gen.public_events() if e.event_type == "AccountCreated")
    schema = json.loads((Path(__file__).parents[2] / "docs" / "events" / event.path).read_text(encoding="utf-8"))
    record = json.loads(
        stored_json(_envelope(_created(candidate), candidate), {str(candidate): AESGCM.generate_key(256)})
    )
    Draft202012Validator(schema).validate(record)
    record["payload"]["sealed"] = {"v": 1}
    assert not Draft202012Validator(schema).is_valid(record)
