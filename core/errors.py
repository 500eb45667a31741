"""Typed domain errors.

A service raises one of these with a message fit for a person ("That action is already done").
Each interface maps them to its own answer: an ephemeral Slack reply, an HTML page, a CLI message
with exit code 2. Anything that is not a :class:`NbmError` is a bug and is reported as such.
"""

from __future__ import annotations


class NbmError(Exception):
    """Base class: ``str(error)`` is the message shown to the person."""


class ConfigError(NbmError):
    """The environment holds a setting we cannot use."""


class ValidationError(NbmError):
    """Input was malformed; the message says what was wrong and what is accepted."""


class NotFound(NbmError):
    """The thing asked for does not exist, or belongs to someone else (we never say which)."""


class InvalidTransition(NbmError):
    """The action's state machine does not allow this change."""


class DecryptionError(NbmError):
    """An encrypted value could not be decrypted: altered ciphertext or an unknown key."""
