"""What the OAuth calendar providers (``core.calendars.google``, ``core.calendars.outlook``) share.

* :class:`Deadline`: one read must return or raise within its ``timeout`` (``Provider.busy``), however
  many requests it makes (a token refresh, then one or more pages): each request gets what is left.
* :func:`unavailable`: an HTTP answer that is not a success, as the temporary failure it is, with a
  reason that names the service, the status and the provider's short error code, never a body.
* :func:`rfc3339`: an instant as both APIs want it (UTC, ``Z``).
* :class:`ConnectRefused`: the provider's answer to a sign-in cannot make a connection; the message
  says why and what to do, for the callback page and the CLI (an :class:`~core.errors.NbmError`).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from core.calendars.providers import CalendarUnavailable
from core.errors import NbmError

#: The longest provider error code quoted in a reason (they are short words: ``rateLimitExceeded``).
_CODE_CHARS = 60


class ConnectRefused(NbmError):
    """A sign-in came back but nothing was connected (access not granted, code refused, provider down)."""


class Deadline:
    """The instant (``time.monotonic``) by which a read must be over."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds
        self.seconds = seconds

    def remaining(self) -> float:
        """Seconds left for the next request; CalendarUnavailable once none are."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise CalendarUnavailable(f"timed out after {self.seconds:g} s")
        return left


def rfc3339(instant: datetime) -> str:
    """``instant`` in UTC to the second, as ``2026-03-02T09:00:00Z``; a naive datetime is refused."""
    if instant.tzinfo is None:
        raise ValueError("calendar reads take timezone-aware datetimes")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_code(body: Any) -> str | None:
    """The short error code of a JSON error answer (Google's ``error.errors[0].reason`` or
    ``error.status``, Graph's ``error.code``, OAuth's ``error``), or None; never the message."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, str):
        code: object = error
    elif isinstance(error, dict):
        details = error.get("errors")
        first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
        code = first.get("reason") or error.get("code") or error.get("status")
    else:
        return None
    return str(code)[:_CODE_CHARS] if code else None


def unavailable(service: str, status: int, body: Any = None) -> CalendarUnavailable:
    """The temporary failure an HTTP ``status`` from ``service`` means (429, 5xx and anything unexpected)."""
    code = error_code(body)
    what = "rate-limited" if status == 429 else "unavailable" if status >= 500 else "refused the read"
    return CalendarUnavailable(f"{service} {what} (HTTP {status}{f', {code}' if code else ''})")
