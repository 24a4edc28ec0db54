"""The keys of the bearer tokens (issue 13 part 6): Ed25519, the private key held by the accounts
service only (a PEM file, mode 0600), the public keys published as a key set (JWKS: a JSON file
every service reads at start). A key's id (`kid`) is its RFC 7638 thumbprint, so the private key
file alone says which public key verifies it.

Rotation: `rotate(directory)` makes a new key the signer and adds its public key at the head of the
set; the older public keys stay in the set (tokens they signed stay valid until they expire), the
oldest beyond `KEEP` are dropped. A verifier that meets an unknown key id re-reads the set."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNING_KEY_FILE = "signing-key.pem"
KEY_SET_FILE = "token-keys.json"
KEEP = 3  # public keys kept in the set after a rotation (the newest first)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of the key's JWK (members in lexicographic order, no spaces)."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": _b64(_raw(public))}, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64(_raw(public)),
        "kid": key_id(public),
        "use": "sig",
        "alg": "EdDSA",
    }


@dataclass(frozen=True)
class SigningKey:
    """The private key that signs tokens, and its id."""

    private: Ed25519PrivateKey
    kid: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kid", key_id(self.private.public_key()))

    @staticmethod
    def generate() -> SigningKey:
        return SigningKey(Ed25519PrivateKey.generate())

    @staticmethod
    def from_pem(pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the token signing key must be an Ed25519 private key")
        return SigningKey(key)

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def key_set(self) -> KeySet:
        return KeySet({self.kid: self.private.public_key()})


@dataclass(frozen=True)
class KeySet:
    """Public keys by key id, the newest first."""

    keys: Mapping[str, Ed25519PublicKey]

    @staticmethod
    def from_json(text: str) -> KeySet:
        document = json.loads(text)
        keys: dict[str, Ed25519PublicKey] = {}
        for jwk in document["keys"]:
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                continue  # a key of another kind is not ours to use
            raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
            public = Ed25519PublicKey.from_public_bytes(raw)
            keys[key_id(public)] = public
        return KeySet(keys)

    def to_json(self) -> str:
        return json.dumps({"keys": [public_jwk(public) for public in self.keys.values()]}, indent=2) + "\n"

    def plus(self, key: SigningKey, keep: int = KEEP) -> KeySet:
        """This set with `key`'s public key at its head, at most `keep` keys."""
        newest = {key.kid: key.private.public_key()}
        others = [(kid, public) for kid, public in self.keys.items() if kid != key.kid]
        return KeySet({**newest, **dict(others[: keep - 1])})


def load_signing_key(path: Path) -> SigningKey:
    try:
        return SigningKey.from_pem(path.read_bytes())
    except OSError:
        raise RuntimeError(f"no token signing key {path}: run `archipel infra up` first") from None


def load_key_set(path: Path) -> KeySet:
    try:
        return KeySet.from_json(path.read_text())
    except OSError:
        raise RuntimeError(f"no token key set {path}: run `archipel infra up` first") from None


def _write(path: Path, content: bytes, mode: int) -> None:
    """`content` into `path` atomically, created with `mode` (never readable by others meanwhile)."""
    staging = path.with_name(path.name + ".tmp")
    staging.unlink(missing_ok=True)
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(descriptor, mode)  # whatever the umask
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    staging.replace(path)


def ensure_keys(directory: Path) -> SigningKey:
    """The local default (`archipel infra up`, tests): a signing key (0600) and the key set that
    publishes it (0644), made once; a set that lacks the signing key gets it."""
    directory.mkdir(parents=True, exist_ok=True)
    key_file, set_file = directory / SIGNING_KEY_FILE, directory / KEY_SET_FILE
    if not key_file.exists():
        _write(key_file, SigningKey.generate().pem(), 0o600)
    key = load_signing_key(key_file)
    published = load_key_set(set_file) if set_file.exists() else KeySet({})
    if key.kid not in published.keys:
        _write(set_file, published.plus(key).to_json().encode(), 0o644)
    return key


def rotate(directory: Path) -> SigningKey:
    """A new signing key: published first (at the head of the set), then used to sign."""
    ensure_keys(directory)
    key = SigningKey.generate()
    set_file = directory / KEY_SET_FILE
    _write(set_file, load_key_set(set_file).plus(key).to_json().encode(), 0o644)
    _write(directory / SIGNING_KEY_FILE, key.pem(), 0o600)
    return key
