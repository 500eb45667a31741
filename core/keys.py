"""Re-encrypting every encrypted column under the primary key (``nbm keys rotate``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Table, Text, select, type_coerce, update
from sqlalchemy.orm import Session

from core.crypto import EncryptedText, get_keyring
from core.db import rows_affected
from core.models import Base


def encrypted_columns() -> list[tuple[Table, Column[Any], EncryptedText]]:
    """Every EncryptedText column of the schema, with its table and its type (which names its purpose)."""
    return [
        (table, column, column.type)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def rotate_keys(session: Session) -> dict[str, int]:
    """Re-encrypt, under the first key of ENCRYPTION_KEYS, every value stored under another key.

    Needs the service context (it reads every user's rows). Idempotent: a second run finds nothing
    to do. Returns how many values were re-encrypted per ``table.column``.

    Each value is replaced only if it is still the one read (compare-and-set): a token refreshed and
    committed while the rotation runs is kept, never overwritten with the older token it replaced.
    A process already deployed with the new keys wrote it under the primary key; one written under
    another key is left for the next run, and is not counted. No row is locked before it is written,
    so a refresh waits on the rotation only for a row the rotation has just changed.
    """
    keyring = get_keyring()
    done: dict[str, int] = {}
    for table, column, column_type in encrypted_columns():
        pk = next(iter(table.primary_key.columns))
        purpose = column_type.purpose
        raw = type_coerce(column, Text)  # the stored ciphertext, not decrypted
        stale = session.execute(
            select(pk, raw).where(raw.is_not(None), ~raw.startswith(f"v1:{keyring.primary}:"))
        ).all()
        replaced = 0
        for key, stored in stale:
            fresh = keyring.encrypt(keyring.decrypt(stored, purpose=purpose), purpose=purpose)
            replaced += rows_affected(session, update(table).where(pk == key, raw == stored)
                                      .values({column.name: type_coerce(fresh, Text)}))
        done[f"{table.name}.{column.name}"] = replaced
    return done
