"""The headers of a page reached through a signed link (email pages, billing pages).

The link's token is in the address, so the page is never cached, never sent on as a referrer,
never indexed, never framed, and runs no script: the one policy both kinds of page share.
"""

from __future__ import annotations

from flask import Response


def private(response: Response, *, form_action: str = "'self'") -> Response:
    """``response`` with those headers; ``form_action`` is where the page's forms may post."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action {form_action}; "
        "frame-ancestors 'none'",
    )
    return response
