"""Encrypted columns: AES-256-GCM at rest, several keys for rotation, tampering detected, never shown."""

from __future__ import annotations

import base64
import logging
import re
import secrets
import uuid

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bot.cli import main
from core import crypto
from core import keys as core_keys
from core.config import get_settings
from core.crypto import Keyring, Secret, generate_key
from core.db import unit_of_work
from core.errors import ConfigError, DecryptionError
from core.keys import rotate_keys
from core.models import CalendarConnection, User
from tests.factories import deleted_afterwards, make_calendar_connection, make_user

OLD = f"old:{generate_key()}"
NEW = f"new:{generate_key()}"


@pytest.fixture()
def keys(monkeypatch: pytest.MonkeyPatch):
    """Swap ENCRYPTION_KEYS and ENCRYPTION_SECRET for the duration of a test."""

    def use(spec: str = "", *, secret: str = "") -> None:
        monkeypatch.setenv("ENCRYPTION_KEYS", spec)
        monkeypatch.setenv("ENCRYPTION_SECRET", secret)
        get_settings.cache_clear()
        crypto.get_keyring.cache_clear()

    yield use
    monkeypatch.undo()
    get_settings.cache_clear()
    crypto.get_keyring.cache_clear()


def _stored(session: Session, conn_id: object) -> str:
    query = text("SELECT refresh_token FROM calendar_connections WHERE id = :i")
    return session.execute(query, {"i": conn_id}).scalar()


def test_tokens_are_stored_encrypted_and_read_back(service: Session, keys) -> None:
    keys(OLD)
    conn = make_calendar_connection(service, make_user(service), refresh_token="1//secret-refresh")
    stored = _stored(service, conn.id)
    assert stored.startswith("v1:old:") and "secret-refresh" not in stored
    service.expire(conn)
    assert conn.refresh_token.reveal() == "1//secret-refresh"


def test_rotation_re_encrypts_under_the_new_key_and_the_old_key_can_then_go(service: Session, keys) -> None:
    keys(OLD)
    conn = make_calendar_connection(service, make_user(service), refresh_token="1//rotate-me", access_token="ya29.x")
    keys(f"{NEW},{OLD}")
    counts = rotate_keys(service)
    assert counts["calendar_connections.refresh_token"] >= 1
    assert _stored(service, conn.id).startswith("v1:new:")
    assert rotate_keys(service)["calendar_connections.refresh_token"] == 0
    keys(NEW)
    service.expire(conn)
    assert (conn.refresh_token.reveal(), conn.access_token.reveal()) == ("1//rotate-me", "ya29.x")


def test_a_value_under_a_key_no_longer_listed_fails_clearly(service: Session, keys) -> None:
    keys(OLD)
    conn = make_calendar_connection(service, make_user(service))
    keys(NEW)
    service.expire(conn)
    with pytest.raises(DecryptionError, match="encrypted with key 'old', which is not in ENCRYPTION_KEYS"):
        _ = conn.refresh_token


def test_tampered_ciphertext_raises_a_clear_error(service: Session) -> None:
    conn = make_calendar_connection(service, make_user(service))
    stored = _stored(service, conn.id)
    flipped = stored[:-3] + ("A" if stored[-3] != "A" else "B") + stored[-2:]
    service.execute(text("UPDATE calendar_connections SET refresh_token = :v WHERE id = :i"),
                    {"v": flipped, "i": conn.id})
    service.expire(conn)
    with pytest.raises(DecryptionError, match="altered"):
        _ = conn.refresh_token


def test_a_ciphertext_moved_to_another_column_does_not_decrypt(service: Session) -> None:
    conn = make_calendar_connection(service, make_user(service))
    service.execute(text("UPDATE calendar_connections SET access_token = refresh_token WHERE id = :i"), {"i": conn.id})
    service.expire(conn)
    with pytest.raises(DecryptionError, match=re.escape("calendar_connections.access_token")):
        _ = conn.access_token


def test_tokens_never_appear_in_reprs_or_logs(service: Session, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        conn = make_calendar_connection(service, make_user(service), refresh_token="1//do-not-print")
        service.expire(conn)
        logging.getLogger("test").info("token is %s (%r)", conn.refresh_token, conn.refresh_token)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert "do-not-print" not in repr(conn) + str(conn.refresh_token) + repr(conn.refresh_token)
    assert "do-not-print" not in caplog.text
    assert "Secret('********')" in caplog.text


def _hkdf(secret: str, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret.encode())


def test_a_generated_secret_alone_encrypts_under_the_documented_derived_key(service: Session, keys) -> None:
    secret = secrets.token_hex(32)  # what app.json's "generator": "secret" makes: a random hex string
    keys(secret=secret)
    conn = make_calendar_connection(service, make_user(service), refresh_token="1//from-the-secret")
    _version, key_id, payload = _stored(service, conn.id).split(":", 2)
    assert key_id == "s" + _hkdf(secret, b"nextbestmove ENCRYPTION_SECRET key id v1", 4).hex()
    key = AESGCM(_hkdf(secret, b"nextbestmove ENCRYPTION_SECRET aes-256-gcm key v1", 32))
    blob = base64.b64decode(payload)
    assert key.decrypt(blob[:12], blob[12:], b"calendar_connections.refresh_token") == b"1//from-the-secret"


def test_rotation_from_the_generated_secret_to_an_explicit_key(service: Session, keys) -> None:
    secret = secrets.token_hex(32)
    keys(secret=secret)
    conn = make_calendar_connection(service, make_user(service), refresh_token="1//rotate-off-the-secret")
    keys(NEW, secret=secret)
    service.expire(conn)
    assert conn.refresh_token.reveal() == "1//rotate-off-the-secret"  # the secret's key still decrypts
    assert rotate_keys(service)["calendar_connections.refresh_token"] >= 1
    keys(NEW)
    service.expire(conn)
    assert conn.refresh_token.reveal() == "1//rotate-off-the-secret"


def test_a_value_under_a_secret_since_replaced_says_its_key_is_gone(service: Session, keys) -> None:
    keys(secret=secrets.token_hex(32))
    conn = make_calendar_connection(service, make_user(service))
    keys(secret=secrets.token_hex(32))
    service.expire(conn)
    with pytest.raises(DecryptionError, match=re.escape("not in ENCRYPTION_KEYS (nor derived from ENCRYPTION_SECRET)")):
        _ = conn.refresh_token


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "holds no key"),
        ("nocolon", "key_id:base64key"),
        ("k1:not-base64!", "not valid base64"),
        ("k1:c2hvcnQ=", "is 5 bytes; AES-256 needs 32"),
        (f"{OLD},{OLD}", "appears twice"),
    ],
)
def test_a_malformed_key_list_is_refused_with_what_is_expected(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Keyring.parse(spec)


def test_secrets_compare_by_value() -> None:
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")


def test_rotating_keeps_tokens_refreshed_while_it_runs(engine: Engine, keys, monkeypatch: pytest.MonkeyPatch) -> None:
    """`nbm keys rotate` on one connection reads the stale tokens; a refresh (Microsoft's rotates the
    refresh token too) commits new ones on another; then the rotation writes. The new tokens stay,
    not the older ones re-encrypted."""
    keys(OLD)
    with unit_of_work(service=True) as session:
        user_id = make_user(session, email=f"rotate-{uuid.uuid4().hex[:8]}@example.com").id
        conn_id = make_calendar_connection(session, session.get_one(User, user_id), refresh_token="1//before",
                                           access_token="ya29.before").id
    keys(f"{NEW},{OLD}")
    keyring = crypto.get_keyring()
    refreshed: list[bool] = []

    class RefreshedMidway:
        """The keyring, but the user's tokens are refreshed, and committed, just after the rotation
        read the stale refresh tokens and before it writes the first one back."""

        primary = keyring.primary

        def decrypt(self, stored: str, *, purpose: str) -> str:
            if purpose == "calendar_connections.refresh_token" and not refreshed:
                with unit_of_work(user_id=user_id) as other:  # a connection of its own, committed for real
                    row = other.get_one(CalendarConnection, conn_id)
                    row.refresh_token, row.access_token = Secret("1//refreshed"), Secret("ya29.refreshed")
                refreshed.append(True)
            return keyring.decrypt(stored, purpose=purpose)

        def encrypt(self, plaintext: str, *, purpose: str) -> str:
            return keyring.encrypt(plaintext, purpose=purpose)

    with deleted_afterwards(user_id):
        monkeypatch.setattr(core_keys, "get_keyring", RefreshedMidway)
        rotated = CliRunner().invoke(main, ["keys", "rotate"], catch_exceptions=False)
        assert rotated.exit_code == 0, rotated.output
        assert re.fullmatch(r"(1 value|(?!1 )[0-9]+ values) now under key 'new'", rotated.output.splitlines()[-1])
        assert refreshed == [True]
        with unit_of_work(user_id=user_id) as session:
            row = session.get_one(CalendarConnection, conn_id)
            assert (row.refresh_token.reveal(), row.access_token and row.access_token.reveal()) == (
                "1//refreshed", "ya29.refreshed")
            stored = session.execute(text("SELECT refresh_token, access_token FROM calendar_connections "
                                          "WHERE id = :i"), {"i": conn_id}).one()
            assert all(value.startswith("v1:new:") for value in stored)
