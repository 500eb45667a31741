"""Re-encrypting every encrypted column under the primary key (``nbm keys rotate``)."""

from __future__ import annotations

from sqlalchemy import Text, select, type_coerce, update
from sqlalchemy.orm import Session

from core.crypto import EncryptedText, get_keyring
from core.models import Base


def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every EncryptedText column of the schema."""
    return [
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def rotate_keys(session: Session) -> dict[str, int]:
    """Re-encrypt, under the first key of ENCRYPTION_KEYS, every value stored under another key.

    Needs the service context (it reads every user's rows). Idempotent: a second run finds nothing
    to do. Returns how many values were re-encrypted per ``table.column``.
    """
    keyring = get_keyring()
    done: dict[str, int] = {}
    for table_name, column_name in encrypted_columns():
        table = Base.metadata.tables[table_name]
        column = table.c[column_name]
        pk = list(table.primary_key.columns)[0]
        purpose = column.type.purpose
        raw = type_coerce(column, Text)  # the stored ciphertext, not decrypted
        stale = session.execute(
            select(pk, raw).where(raw.is_not(None), ~raw.startswith(f"v1:{keyring.primary}:"))
        ).all()
        for key, stored in stale:
            fresh = keyring.encrypt(keyring.decrypt(stored, purpose=purpose), purpose=purpose)
            session.execute(update(table).where(pk == key).values({column_name: type_coerce(fresh, Text)}))
        done[f"{table_name}.{column_name}"] = len(stale)
    return done
