"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 6 digits, 30-second
steps, the secret given to the authenticator app as base32 in an otpauth:// URI. Pure (stdlib
only): the accounts service checks staff's second factor with it, and clients (the demo, tests)
compute codes with it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

DIGITS = 6
STEP_SECONDS = 30
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends for HMAC-SHA-1
ISSUER = "Archipel"


def new_secret() -> str:
    """A fresh secret, base32 without padding (what authenticator apps take)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    text = secret.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def step_of(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    """HOTP(secret, step): dynamic truncation of HMAC-SHA-1, `DIGITS` digits (RFC 4226 §5.3)."""
    digest = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def code_now(secret: str, moment: datetime) -> str:
    return code_at(secret, step_of(moment))


def matching_step(secret: str, code: str, moment: datetime, after: int = -1, window: int = 1) -> int | None:
    """The step (within `window` steps of `moment`'s, later than `after`: a used step serves once)
    whose code is `code`, or None. Compared in constant time."""
    text = code.strip()
    if len(text) != DIGITS or not text.isascii() or not text.isdigit():
        return None
    current = step_of(moment)
    found = None
    for step in range(current - window, current + window + 1):
        if step > after and hmac.compare_digest(code_at(secret, step), text):
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads (from a QR code or pasted)."""
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
