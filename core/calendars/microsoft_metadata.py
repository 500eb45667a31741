"""Microsoft's sign-in metadata, read once a day per process rather than once per Outlook read.

msal's ``ConfidentialClientApplication`` reads the tenant's OpenID configuration in its constructor,
and a token refresh reads the instance discovery document (the authority's other host names). Each
Outlook read builds an application of its own, since each connection has its own token cache; left
alone, every read of every user paid a round trip to login.microsoftonline.com for a document that
is the same for all of them. msal keeps these GETs for a day itself, but only inside one
application, so its cache never outlived the read.

:class:`MetadataKept` is the HTTP client msal is given: a GET answered 2xx is kept for
:data:`KEEP_SECONDS` (msal's own period for them) in :data:`KEPT`, which every application of the
process shares (a warm worker's jobs, the calendar threads of a morning); POSTs, which carry tokens,
always go to Microsoft. What is kept is a handful of public documents, never a token.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

#: Seconds a metadata document is kept (msal keeps its discovery GETs for a day too).
KEEP_SECONDS = 24 * 3600


class KeptAnswers:
    """The process's kept answers, by URL and query: (kept until, on ``time.monotonic``; the answer)."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, str], tuple[float, requests.Response]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> requests.Response | None:
        with self._lock:
            kept = self._answers.get(key)
        return kept[1] if kept is not None and time.monotonic() < kept[0] else None

    def keep(self, key: tuple[str, str], answer: requests.Response) -> None:
        with self._lock:
            self._answers[key] = (time.monotonic() + KEEP_SECONDS, answer)

    def clear(self) -> None:
        """Forget every answer (a test that serves other metadata)."""
        with self._lock:
            self._answers.clear()


#: Shared by every msal application of this process.
KEPT = KeptAnswers()


class MetadataKept:
    """msal's ``http_client``: ``session``'s GETs answered from :data:`KEPT` once read, POSTs passed on."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session

    def get(self, url: str, params: Any = None, **kwargs: Any) -> requests.Response:
        key = (url, repr(sorted(dict(params or {}).items())))
        answer = KEPT.get(key)
        if answer is None:
            answer = self._session.get(url, params=params, **kwargs)
            if 200 <= answer.status_code < 300:
                KEPT.keep(key, answer)  # requests has read the body already: it can be shared
        return answer

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._session.post(url, **kwargs)

    def close(self) -> None:
        self._session.close()
