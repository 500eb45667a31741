"""``nbm keys``: make an encryption key, re-encrypt stored tokens under the newest key."""

from __future__ import annotations

import click

from bot.cli.common import announce_engines
from core.crypto import generate_key, get_keyring
from core.db import unit_of_work
from core.keys import rotate_keys
from core.text import plural


@click.group("keys")
def keys_group() -> None:
    """Encryption keys for tokens at rest (ENCRYPTION_KEYS)."""


@keys_group.command("generate")
@click.argument("key_id")
def generate_command(key_id: str) -> None:
    """Print a new entry KEY_ID:base64key to put first in ENCRYPTION_KEYS."""
    if not key_id.isalnum():
        raise click.BadParameter("use letters and digits only", param_hint="KEY_ID")
    click.echo(f"{key_id}:{generate_key()}")


@keys_group.command("rotate")
def rotate_command() -> None:
    """Re-encrypt every stored token under the first key of ENCRYPTION_KEYS."""
    announce_engines()
    with unit_of_work(service=True) as session:
        counts = rotate_keys(session)
    total = sum(counts.values())
    for column, count in counts.items():
        if count:
            click.echo(f"{column}: {count} re-encrypted")
    click.echo(f"{plural(total, 'value')} now under key {get_keyring().primary!r}")
