"""What a person sees when something goes wrong, and how Slack's own errors are told apart.

* A typed core error (:class:`core.errors.NbmError`) carries a message written for a person: it is
  shown as it is, ephemerally, with its first letter capitalised.
* Anything else is a bug: it is logged with the request's context (team, user, what was pressed or
  typed, never a token or a note's text) and the person gets a short apology, never a traceback.
* Slack API errors that delivery callers must react to become :class:`SlackUnreachable` (this user
  cannot be reached in Slack until something changes: retrying is pointless),
  :class:`SlackRateLimited` (try again after ``retry_after`` seconds) or :class:`SlackDown` (Slack's
  own trouble: try again later). The Web API client already waits out one 429 by itself,
  honouring ``Retry-After``.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from core.errors import NbmError

log = logging.getLogger("nbm.slack")

APOLOGY = "Sorry, something went wrong on our side. It has been logged; please try again in a minute."

class SlackDeliveryError(Exception):
    """A message could not be delivered in Slack."""


class SlackUnreachable(SlackDeliveryError):
    """This user cannot be reached in Slack now (app uninstalled, account deactivated, DM gone…)."""

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


class SlackRateLimited(SlackDeliveryError):
    """Slack still answers 429 after the client waited once; try again after ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Slack is rate limiting us; try again in {retry_after} s")
        self.retry_after = retry_after


class SlackDown(SlackDeliveryError):
    """Slack answered 5xx or a documented temporary error (``code``: its error, else the HTTP
    status): the same call may work later."""

    def __init__(self, code: str) -> None:
        super().__init__(f"Slack is having trouble ({code}); try again later")
        self.code = code


def user_message(error: BaseException) -> str:
    """The text a person sees for ``error``: Slack's own trouble (a 5xx, ``internal_error``…) is named
    as Slack's, since our apology would say the fault is ours and logged, and another try later is
    what helps."""
    if isinstance(error, NbmError):
        text = str(error)
        return text[:1].upper() + text[1:]
    if isinstance(error, SlackApiError) and isinstance(delivery_error(error), SlackDown):
        error = delivery_error(error)
    if isinstance(error, SlackDown):
        return f"Slack is having trouble right now ({error.code}); please try again in a few minutes."
    if isinstance(error, SlackRateLimited):
        return f"Slack is busy right now; please try again in {error.retry_after} seconds."
    if isinstance(error, SlackUnreachable):
        return (f"Slack would not let me message you ({error.error}). If the app was removed from this "
                "workspace, ask an admin to install it again.")
    return APOLOGY


def api_error_code(error: SlackApiError) -> str:
    return str((error.response.data or {}).get("error", "unknown_error")) if error.response is not None else ""


#: Error codes Slack documents as passing trouble on its side: worth another try later.
SLACK_TROUBLE = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


def delivery_error(error: SlackApiError) -> SlackDeliveryError:
    """The delivery error a Slack API error stands for (the caller decides to retry or not).

    Only a 429 and Slack's own trouble are worth another try; any other refusal
    (``account_inactive``, ``channel_not_found``, ``invalid_auth``…) needs something to change
    first (a reinstall, a reactivated account), so the user is unreachable until then."""
    code = api_error_code(error)
    status = error.response.status_code if error.response is not None else 0
    if status == 429:
        return SlackRateLimited(_retry_after(error.response.headers))
    if status >= 500 or code in SLACK_TROUBLE:
        return SlackDown(code or str(status))
    return SlackUnreachable(f"Slack refused the message: {code}", error=code)


def _retry_after(headers: Any) -> int:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(int(raw), 1)
            except ValueError:
                break
    return 60


def describe_request(body: dict[str, Any]) -> dict[str, Any]:
    """The request's context for a log line: who and what, without tokens or free text."""
    user = body.get("user") or {}
    team = body.get("team") or {}
    actions = body.get("actions") or [{}]
    return {
        "type": body.get("type") or ("slash_command" if body.get("command") else None),
        "team": body.get("team_id") or team.get("id"),
        "user": body.get("user_id") or (user.get("id") if isinstance(user, dict) else user),
        "command": body.get("command"),
        "subcommand": (body.get("text") or "").split(" ", 1)[0][:20] or None,
        "action": actions[0].get("action_id"),
        "view": (body.get("view") or {}).get("callback_id"),
        "event": (body.get("event") or {}).get("type"),
    }


def log_unexpected(error: BaseException, *, where: str, body: dict[str, Any]) -> None:
    log.error("unexpected error in %s: %s", where, describe_request(body), exc_info=error)
