"""AES-256-GCM encryption for OAuth and Slack tokens at rest, with key rotation.

Keys come from ``ENCRYPTION_KEYS`` (a comma-separated list of ``key_id:base64(32 bytes)``) followed
by the key derived from ``ENCRYPTION_SECRET`` (see :func:`core.encryption_keys.derive_key`); core.config
parses both at start. The first key encrypts; every key decrypts. To rotate: put a new key first in
ENCRYPTION_KEYS, keep the old one (or ENCRYPTION_SECRET) after it, deploy, run ``nbm keys rotate``
(re-encrypts every value under the first key), then drop the old key.

A stored value reads ``v1:<key_id>:<base64(nonce || ciphertext+tag)>``. The column's *purpose*
(for example ``calendar_connections.refresh_token``) is the GCM associated data, so a ciphertext
copied into another column fails to decrypt instead of leaking a token where it does not belong.

Decrypted values come back as :class:`Secret`, whose ``repr`` and ``str`` never show the value:
a token that ends up in a log line or a traceback stays hidden. Call :meth:`Secret.reveal` at
the one place the token is handed to its API client.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from core.config import get_settings
from core.encryption_keys import EncryptionKey, parse_encryption_keys
from core.errors import DecryptionError

FORMAT_VERSION = "v1"
_NONCE_BYTES = 12


class Secret:
    """A string that will not print itself. Compare and hash by value; read with :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Keyring:
    """The keys in force: ``primary`` encrypts, all of ``keys`` decrypt."""

    primary: str
    keys: dict[str, AESGCM]

    def __repr__(self) -> str:
        return f"Keyring(primary={self.primary!r}, key_ids={sorted(self.keys)!r})"

    @classmethod
    def from_keys(cls, keys: Sequence[EncryptionKey]) -> Keyring:
        """The keyring of ``keys``, parsed and checked by core.config; the first one encrypts."""
        return cls(primary=keys[0].key_id, keys={key.key_id: AESGCM(key.material) for key in keys})

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """Parse an ``ENCRYPTION_KEYS`` value; the message says exactly what is wrong with it."""
        return cls.from_keys(parse_encryption_keys(spec))

    def encrypt(self, plaintext: str, *, purpose: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self.keys[self.primary].encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"{FORMAT_VERSION}:{self.primary}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, purpose: str) -> str:
        _version, key_id, payload = _split(stored, purpose)
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(
                f"cannot decrypt {purpose}: it was encrypted with key {key_id!r}, "
                "which is not in ENCRYPTION_KEYS (nor derived from ENCRYPTION_SECRET)"
            )
        try:
            blob = base64.b64decode(payload, validate=True)
            return key.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], purpose.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise DecryptionError(
                f"cannot decrypt {purpose}: the stored value was altered or belongs elsewhere"
            ) from None


def _split(stored: str, purpose: str) -> tuple[str, str, str]:
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != FORMAT_VERSION:
        raise DecryptionError(f"cannot decrypt {purpose}: the stored value is not in the v1 format")
    return parts[0], parts[1], parts[2]


@lru_cache(maxsize=1)
def get_keyring() -> Keyring:
    """The process's keyring, from the settings."""
    return Keyring.from_keys(get_settings().encryption_keys)


def generate_key() -> str:
    """A new random key, base64-encoded, for ``ENCRYPTION_KEYS``."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


class EncryptedText(TypeDecorator[Secret]):
    """A TEXT column whose value is encrypted on the way in and a :class:`Secret` on the way out.

    ``purpose`` names the column (``table.column``) and binds each ciphertext to it.
    """

    impl = Text
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        plaintext = value.reveal() if isinstance(value, Secret) else value
        if not isinstance(plaintext, str):
            raise TypeError(f"{self.purpose} takes a str or Secret, not {type(value).__name__}")
        return get_keyring().encrypt(plaintext, purpose=self.purpose)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Secret | None:
        if value is None:
            return None
        return Secret(get_keyring().decrypt(value, purpose=self.purpose))
