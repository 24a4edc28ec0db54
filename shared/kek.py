"""Key-encryption keys kept outside the database (issue 13): the key store's (`keystore-kek`, which
wraps the candidates' data keys, shared.keystore) and the accounts service's (`totp-kek`, which
seals the staff's TOTP secrets, services.accounts.facts), so that a dump of the database alone
reveals neither. A KEK is given base64 (32 bytes) in an environment variable (external
deployments), else read from its file, made 0600 on first use in a 0700 folder.

`Sealer` is AES-256-GCM under such a key: `nonce (12 bytes) || ciphertext+tag`, bound to a context
(associated data: what the value is and whose), so that a value moved to another row, or altered,
does not open (`Unsealable`)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class Unsealable(Exception):
    """A sealed value that this key does not open: another key, or a value altered or moved."""


def load_kek(given: str | None, path: Path, what: str) -> bytes:
    """`given` (base64) if set, else the file `path` (made once with a new random key)."""
    if given:
        kek = base64.b64decode(given, validate=True)
    else:
        if not path.exists():
            create_private(path, base64.b64encode(AESGCM.generate_key(KEY_BYTES * 8)) + b"\n")
        kek = base64.b64decode(path.read_bytes().strip(), validate=True)
    if len(kek) != KEY_BYTES:
        raise ValueError(f"{what} must be {KEY_BYTES} bytes (base64)")
    return kek


def create_private(path: Path, content: bytes) -> None:
    """Writes `path` readable by its owner only, unless it exists (another process made it first)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


class Sealer:
    def __init__(self, kek: bytes) -> None:
        self._aead = AESGCM(kek)

    def seal(self, context: str, value: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value, context.encode())

    def open(self, context: str, sealed: bytes) -> bytes:
        data = bytes(sealed)
        if len(data) < NONCE_BYTES + 16:  # a nonce and a tag at least
            raise Unsealable(context[:120])
        try:
            return self._aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise Unsealable(context[:120]) from None
