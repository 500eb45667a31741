"""Signed links carried by emails: act on an action, unsubscribe, open the preferences.

A link is its own credential (the reader is not logged in), so each token is signed with
``SECRET_KEY`` (HMAC, itsdangerous) under a salt per purpose: a token minted for one purpose never
verifies as another. Rules chosen:

* **Action links** bind the user, the action and the mark, by its word (``core.actions.marks``:
  ``done``, ``sent``, ``replied``, ``snooze``): a token cannot be pointed at another action or turned
  into another mark, and
  it expires 7 days after it was signed, so a forwarded or leaked old email stops working.
* **Unsubscribe links** never expire: an unsubscribe that fails months later is worse than useless,
  and all it can do is turn email off (RFC 8058 one-click).
* **Undo links** (on the page after a change) bind the user, the action and the change the page
  shows (its event), and expire like action links: the core takes back that change only, while it
  is still the one an Undo would take back (``core.actions.undo.undo_last_change``'s ``change_id``),
  so an old page's Undo cannot take back a later change. A link signed before links named their
  change reads with none (:class:`UndoLink`), and the page it opens takes nothing back.
* **Waiting links** (everyone waiting for a reply, from the digest's "and N more") expire like
  action links, after 7 days: the page they open carries Replied buttons.
* **Plan links** (the digest's text part links once to its plan instead of four links per action)
  bind the user and the plan's day, the one the digest is for: a catch-up digest, sent after the
  reader's day turned, opens the earlier day's plan its HTML part's buttons act on, not the reader's
  today. They expire like action links, after 7 days: the page they open carries every button of
  that plan, so it may not outlive the links it stands for. A link signed before links named the day
  reads with none (:class:`PlanLink`), and opens the reader's today's plan, as it did then.
* **Preferences links** expire after 90 days: long enough for the footer of any recent email, short
  enough that an old email does not open someone's settings forever.
* **Billing links** (the footer of every email while billing is on, App Home, ``/nbm billing``, the
  billing notices) expire after 30 days: the page they open leads to Stripe's Billing Portal, where
  a subscription can be cancelled, so they live shorter than the preferences link.

A token that does not verify is :class:`LinkInvalid`; one that verifies but is too old is
:class:`LinkExpired`. Neither says whose it was: an old link keeps only the power it had, and a
page reached by one mints no fresh link.

Minting is on the morning's hot path (a digest carries some thirty links), so each purpose's signer
is set up once (:class:`_Minter`): it writes the very token ``URLSafeTimedSerializer.dumps`` writes,
byte for byte, without deriving the key and building a signer again for every link. Reading goes
through itsdangerous itself.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import int_to_bytes, want_bytes
from itsdangerous.signer import HMACAlgorithm

from core.actions.marks import BY_WORD, Mark
from core.config import Settings, get_settings
from core.errors import NbmError

ACTION_MAX_AGE = timedelta(days=7)
PREFERENCES_MAX_AGE = timedelta(days=90)
BILLING_MAX_AGE = timedelta(days=30)

_ACTION = "nbm.email.action"
_UNSUBSCRIBE = "nbm.email.unsubscribe"
_PREFERENCES = "nbm.email.preferences"
_WAITING = "nbm.email.waiting"
_UNDO = "nbm.email.undo"
_TODAY = "nbm.email.today"
_BILLING = "nbm.email.billing"


class LinkInvalid(NbmError):
    """Not a token we signed for this purpose (altered, truncated, or made for something else)."""

    def __init__(self) -> None:
        super().__init__("This link is not valid.")


class LinkExpired(NbmError):
    """A genuine token, signed longer ago than its purpose allows."""

    def __init__(self) -> None:
        super().__init__("This link has expired.")


@dataclass(frozen=True)
class ActionLink:
    user_id: uuid.UUID
    action_id: uuid.UUID
    mark: Mark
    signed_at: datetime


@dataclass(frozen=True)
class PlanLink:
    user_id: uuid.UUID
    #: The plan's day; None in a link signed before links named it (the page shows the reader's today).
    day: date | None


@dataclass(frozen=True)
class UndoLink:
    user_id: uuid.UUID
    action_id: uuid.UUID
    #: The change the page showed (an action event's id); None in a link signed before links named it.
    change_id: uuid.UUID | None


class EmailLinks:
    """Mints and reads the signed links of one deployment (its ``BASE_URL`` and ``SECRET_KEY``)."""

    def __init__(self, *, base_url: str, secret_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._serializer = URLSafeTimedSerializer(secret_key)
        self._minters: dict[str, _Minter] = {}

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> EmailLinks:
        """This deployment's links; one instance per ``BASE_URL`` and ``SECRET_KEY`` in a process."""
        settings = settings or get_settings()
        return _links_for(settings.base_url, settings.secret_key)

    # Action links -------------------------------------------------------------------------
    def action_token(self, *, user_id: uuid.UUID, action_id: uuid.UUID, mark: Mark) -> str:
        return self._mint(f"{_pack(user_id)}.{_pack(action_id)}.{mark.word}", salt=_ACTION)

    def action_url(self, *, user_id: uuid.UUID, action_id: uuid.UUID, mark: Mark) -> str:
        return self.action_urls(user_id=user_id, action_id=action_id, marks=(mark,))[0]

    def action_urls(self, *, user_id: uuid.UUID, action_id: uuid.UUID, marks: Sequence[Mark]) -> list[str]:
        """The links of several marks of one action (an open action's buttons), its ids packed once."""
        ids, mint = f"{_pack(user_id)}.{_pack(action_id)}.", self._minter(_ACTION)
        return [f"{self.base_url}/a/{mint(ids + mark.word)}" for mark in marks]

    def read_action(self, token: str) -> ActionLink:
        payload, signed_at = self._load(token, salt=_ACTION, max_age=ACTION_MAX_AGE)
        try:
            user, action, word = payload.split(".")
            return ActionLink(_unpack(user), _unpack(action), BY_WORD[word], signed_at)
        except (AttributeError, ValueError, KeyError):
            raise LinkInvalid() from None

    def undo_token(self, *, user_id: uuid.UUID, action_id: uuid.UUID, change_id: uuid.UUID) -> str:
        return self._mint(f"{_pack(user_id)}.{_pack(action_id)}.{_pack(change_id)}", salt=_UNDO)

    def read_undo(self, token: str) -> UndoLink:
        """The user, action and change of an undo token (no change in one signed before links had it)."""
        payload, _ = self._load(token, salt=_UNDO, max_age=ACTION_MAX_AGE)
        try:
            user, action, *change = payload.split(".")
            if len(change) > 1:
                raise ValueError("too many parts")
            return UndoLink(_unpack(user), _unpack(action), _unpack(change[0]) if change else None)
        except (AttributeError, ValueError):
            raise LinkInvalid() from None

    # Unsubscribe and preferences ----------------------------------------------------------
    def unsubscribe_url(self, *, user_id: uuid.UUID) -> str:
        return self._user_url("unsubscribe", user_id, salt=_UNSUBSCRIBE)

    def read_unsubscribe(self, token: str) -> uuid.UUID:
        return _user_of(self._load(token, salt=_UNSUBSCRIBE, max_age=None)[0])

    def waiting_url(self, *, user_id: uuid.UUID) -> str:
        return self._user_url("waiting", user_id, salt=_WAITING)

    def read_waiting(self, token: str) -> uuid.UUID:
        return _user_of(self._load(token, salt=_WAITING, max_age=ACTION_MAX_AGE)[0])

    def plan_url(self, *, user_id: uuid.UUID, day: date) -> str:
        """The page of the user's plan for ``day`` (the path is ``/today/`` since links named no day)."""
        return f"{self.base_url}/today/{self._mint(f'{_pack(user_id)}.{day.isoformat()}', salt=_TODAY)}"

    def read_plan(self, token: str) -> PlanLink:
        """The user and the plan's day of a plan token (no day in one signed before links had it)."""
        payload, _ = self._load(token, salt=_TODAY, max_age=ACTION_MAX_AGE)
        try:
            user, *day = payload.split(".")
            if len(day) > 1:
                raise ValueError("too many parts")
            return PlanLink(_unpack(user), date.fromisoformat(day[0]) if day else None)
        except (AttributeError, ValueError):
            raise LinkInvalid() from None

    def preferences_url(self, *, user_id: uuid.UUID) -> str:
        return self._user_url("preferences", user_id, salt=_PREFERENCES)

    def read_preferences(self, token: str) -> uuid.UUID:
        return _user_of(self._load(token, salt=_PREFERENCES, max_age=PREFERENCES_MAX_AGE)[0])

    def billing_url(self, *, user_id: uuid.UUID) -> str:
        return self._user_url("billing", user_id, salt=_BILLING)

    def read_billing(self, token: str) -> uuid.UUID:
        return _user_of(self._load(token, salt=_BILLING, max_age=BILLING_MAX_AGE)[0])

    # --------------------------------------------------------------------------------------
    def _user_url(self, path: str, user_id: uuid.UUID, *, salt: str) -> str:
        return f"{self.base_url}/{path}/{self._mint(_pack(user_id), salt=salt)}"

    def _mint(self, payload: str, *, salt: str) -> str:
        """A token for ``payload``, which is made of packed ids, dots and a mark's word (JSON needs no escape)."""
        return self._minter(salt)(payload)

    def _minter(self, salt: str) -> _Minter:
        minter = self._minters.get(salt)
        if minter is None:
            minter = self._minters[salt] = _Minter(self._serializer, salt)
        return minter

    def _load(self, token: str, *, salt: str, max_age: timedelta | None) -> tuple[Any, datetime]:
        try:
            payload, signed_at = self._serializer.loads(
                token, salt=salt, max_age=None if max_age is None else int(max_age.total_seconds()),
                return_timestamp=True,
            )
        except SignatureExpired:
            raise LinkExpired() from None
        except BadData:
            raise LinkInvalid() from None
        return payload, signed_at.astimezone(UTC)


#: Payloads JSON writes as themselves between quotes: every payload here (packed ids, dots, a mark's word).
_PLAIN = re.compile(r"[A-Za-z0-9_.-]*")


class _Minter:
    """``serializer.dumps(payload, salt=salt)``, with the key derived and the HMAC keyed once.

    The token is itsdangerous's own format: base64 of the compact JSON string, a dot, base64 of the
    timestamp (``int(time.time())``, as itsdangerous reads it), a dot, base64 of the HMAC of what
    precedes. itsdangerous would send a payload zlib shrinks compressed instead; ours (at most 68
    characters of base64 and dots, without repeats to speak of) never shrink, so the tokens are the
    same bytes, and ``loads`` reads either form anyway. A payload JSON would escape goes through
    itsdangerous itself, as does any signer that is not the default HMAC with a dot for separator.
    """

    def __init__(self, serializer: URLSafeTimedSerializer, salt: str) -> None:
        self._serializer, self._salt = serializer, salt
        signer = serializer.make_signer(salt)
        self._pads: tuple[Any, Any] | None = None
        if isinstance(signer.algorithm, HMACAlgorithm) and want_bytes(signer.sep) == b".":
            pads = _hmac_pads(signer.derive_key(), signer.algorithm.digest_method)
            if _b64(_hmac(pads, b"probe")) == signer.get_signature(b"probe"):
                self._pads = pads

    def __call__(self, payload: str) -> str:
        if self._pads is None or not _PLAIN.fullmatch(payload):
            return self._serializer.dumps(payload, salt=self._salt)
        value = _b64(f'"{payload}"'.encode()) + b"." + _timestamp(int(time.time()))
        return (value + b"." + _b64(_hmac(self._pads, value))).decode("ascii")


@lru_cache(maxsize=4)
def _timestamp(seconds: int) -> bytes:
    """The token's timestamp part (the same for every link minted within a second)."""
    return _b64(int_to_bytes(seconds))


def _hmac_pads(key: bytes, digest_method: Callable[..., Any]) -> tuple[Any, Any]:
    """The inner and outer hashes of HMAC (RFC 2104) with their keyed pads already absorbed.

    Copying two hash states costs a fraction of what ``hmac.new`` or copying an OpenSSL HMAC does,
    and the hot path signs thousands of links a minute.
    """
    inner, outer = digest_method(), digest_method()
    if len(key) > inner.block_size:
        key = digest_method(key).digest()
    key = key.ljust(inner.block_size, b"\0")
    inner.update(bytes(byte ^ 0x36 for byte in key))
    outer.update(bytes(byte ^ 0x5C for byte in key))
    return inner, outer


def _hmac(pads: tuple[Any, Any], message: bytes) -> bytes:
    inner, outer = pads[0].copy(), pads[1].copy()
    inner.update(message)
    outer.update(inner.digest())
    return bytes(outer.digest())


#: Standard base64 to its URL-safe alphabet, as ``base64.urlsafe_b64encode`` does (in two more calls).
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


@lru_cache(maxsize=8)
def _links_for(base_url: str, secret_key: str) -> EmailLinks:
    return EmailLinks(base_url=base_url, secret_key=secret_key)


@lru_cache(maxsize=4096)
def _pack(value: uuid.UUID) -> str:
    """A UUID in 22 URL-safe characters: links stay short enough to read in the text part."""
    return base64.urlsafe_b64encode(value.bytes).rstrip(b"=").decode()


def _unpack(text: str) -> uuid.UUID:
    """Raises ValueError unless ``text`` is exactly a packed UUID."""
    if len(text) != 22:
        raise ValueError("not a packed UUID")
    return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=="))


def _user_of(payload: Any) -> uuid.UUID:
    """The user a payload names: every payload starts with the packed user id."""
    try:
        return _unpack(payload.split(".")[0])
    except (AttributeError, ValueError):  # binascii.Error is a ValueError
        raise LinkInvalid() from None
