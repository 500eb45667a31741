"""The keys that encrypt tokens at rest, as the environment gives them: ``ENCRYPTION_KEYS`` (ids
and base64 keys) and ``ENCRYPTION_SECRET`` (a secret a key is derived from).

:mod:`core.config` reads them at start through :func:`parse_encryption_keys`, so a malformed value
stops every process before it serves anyone; :mod:`core.crypto` encrypts and decrypts with them.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import ConfigError

#: AES-256 takes 32-byte keys.
KEY_BYTES = 32
#: The shortest ENCRYPTION_SECRET (always) and SECRET_KEY (in production) accepted: 256 bits if random.
MIN_SECRET_BYTES = 32
#: HKDF ``info`` strings for ENCRYPTION_SECRET. Fixed forever: changing one makes every stored token unreadable.
SECRET_KEY_INFO = b"nextbestmove ENCRYPTION_SECRET aes-256-gcm key v1"
SECRET_KEY_ID_INFO = b"nextbestmove ENCRYPTION_SECRET key id v1"
#: Public on purpose: development works out of the box, and production refuses this key.
DEV_ENCRYPTION_KEYS = "dev:ZGV2LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24tMDAwMDA="


@dataclass(frozen=True)
class EncryptionKey:
    """One AES-256 key: its id (written in front of every value it encrypts) and its 32 bytes."""

    key_id: str
    material: bytes = field(repr=False)


def parse_encryption_keys(spec: str, secret: str | None = None) -> tuple[EncryptionKey, ...]:
    """The keys of ``ENCRYPTION_KEYS`` (``key_id:base64``, comma-separated), then ``ENCRYPTION_SECRET``'s.

    The first key encrypts and every key decrypts, so explicit keys come first: listing a new key in
    ENCRYPTION_KEYS rotates away from the generated secret while its key still reads old values.
    The message says exactly what is wrong, naming the variable.
    """
    keys = [_parse_key_entry(entry) for entry in (part.strip() for part in spec.split(",")) if entry]
    if secret is not None:
        keys.append(derive_key(secret))
    if not keys:
        raise ConfigError("ENCRYPTION_KEYS holds no key (and ENCRYPTION_SECRET is not set)")
    seen: set[str] = set()
    for key in keys:
        if key.key_id in seen:
            raise ConfigError(f"ENCRYPTION_KEYS: key id {key.key_id!r} appears twice")
        seen.add(key.key_id)
    return tuple(keys)


def _parse_key_entry(entry: str) -> EncryptionKey:
    key_id, sep, encoded = entry.partition(":")
    if not sep or not key_id or not key_id.isalnum():
        raise ConfigError(
            "ENCRYPTION_KEYS must be a comma-separated list of key_id:base64key with an alphanumeric key_id"
        )
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ConfigError(f"ENCRYPTION_KEYS: key {key_id!r} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ConfigError(
            f"ENCRYPTION_KEYS: key {key_id!r} is {len(raw)} bytes; AES-256 needs {KEY_BYTES} "
            "(make one with `nbm keys generate`)"
        )
    return EncryptionKey(key_id, raw)


def derive_key(secret: str) -> EncryptionKey:
    """The key ``ENCRYPTION_SECRET`` stands for, so that app.json's ``"generator": "secret"`` (a random
    hex string, not a key) is enough to deploy.

    key = HKDF-SHA256(secret's UTF-8 bytes, no salt, info=SECRET_KEY_INFO, 32 bytes); its id is ``s``
    and 8 hex digits of HKDF-SHA256(same, info=SECRET_KEY_ID_INFO, 4 bytes). The id differs per
    secret, so a value written under a secret that has since changed fails as "key not listed",
    not as "altered".
    """
    raw = secret.encode()
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"ENCRYPTION_SECRET is {len(raw)} bytes; it needs at least {MIN_SECRET_BYTES} random ones "
            "(app.json generates it; elsewhere: openssl rand -hex 32)"
        )
    key_id = "s" + _hkdf(raw, SECRET_KEY_ID_INFO, 4).hex()
    return EncryptionKey(key_id, _hkdf(raw, SECRET_KEY_INFO, KEY_BYTES))


def _hkdf(secret: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)


#: Development's keys, from a key published here on purpose (production refuses it).
DEV_KEYS = parse_encryption_keys(DEV_ENCRYPTION_KEYS)
