"""The token keys (issue 13 part 6): the local default made once (the private key 0600, the set
readable), key ids as RFC 7638 thumbprints, rotation keeping the older public keys, and a verifier
that re-reads the set when a token names a key it does not hold yet."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.auth import Principal, Role, TokenVerifier, issue_token
from shared.errors import Unauthenticated
from shared.token_keys import KEEP, KEY_SET_FILE, SIGNING_KEY_FILE, KeySet, SigningKey, ensure_keys, key_id, rotate

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STAFF = Principal(subject="s", role=Role.STAFF, academy="lyon")


def test_the_local_keys_are_made_once_with_the_private_key_readable_by_its_owner_only(tmp_path: Path) -> None:
    key = ensure_keys(tmp_path)
    assert (tmp_path / SIGNING_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / KEY_SET_FILE).stat().st_mode & 0o777 == 0o644
    assert ensure_keys(tmp_path).kid == key.kid  # the second time changes nothing
    assert list(KeySet.from_json((tmp_path / KEY_SET_FILE).read_text()).keys) == [key.kid]


def test_the_published_set_holds_public_keys_only(tmp_path: Path) -> None:
    ensure_keys(tmp_path)
    published = (tmp_path / KEY_SET_FILE).read_text()
    assert '"d"' not in published and "PRIVATE" not in published
    assert "PRIVATE KEY" in (tmp_path / SIGNING_KEY_FILE).read_text()


def test_the_key_id_is_the_rfc_7638_thumbprint() -> None:
    """RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key."""

    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    public = Ed25519PublicKey.from_public_bytes(__import__("base64").urlsafe_b64decode(x + "="))
    assert key_id(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_rotation_signs_with_a_new_key_and_keeps_the_older_public_keys(tmp_path: Path) -> None:
    first = ensure_keys(tmp_path)
    kids = [first.kid]
    for _ in range(KEEP):
        kids.insert(0, rotate(tmp_path).kid)
    assert ensure_keys(tmp_path).kid == kids[0]  # the newest signs
    published = KeySet.from_json((tmp_path / KEY_SET_FILE).read_text())
    assert list(published.keys) == kids[:KEEP]  # the oldest beyond KEEP dropped
    assert (tmp_path / SIGNING_KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_a_verifier_reads_the_set_again_for_a_key_published_after_its_start(tmp_path: Path) -> None:
    old = ensure_keys(tmp_path)
    verifier = TokenVerifier.from_file("results", tmp_path / KEY_SET_FILE)
    assert verifier.verify(issue_token(STAFF, old, T, timedelta(minutes=15)), T) == STAFF
    new = rotate(tmp_path)
    set_file = tmp_path / KEY_SET_FILE
    later = set_file.stat().st_mtime + 1
    os.utime(set_file, (later, later))  # a file system with a coarse clock still shows the change
    assert verifier.verify(issue_token(STAFF, new, T, timedelta(minutes=15)), T) == STAFF
    assert verifier.verify(issue_token(STAFF, old, T, timedelta(minutes=15)), T) == STAFF
    with pytest.raises(Unauthenticated, match="unknown key"):
        verifier.verify(issue_token(STAFF, SigningKey.generate(), T, timedelta(minutes=15)), T)


def test_a_signing_key_of_another_kind_is_refused(tmp_path: Path) -> None:

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        SigningKey.from_pem(pem)
