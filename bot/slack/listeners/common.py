"""What every listener shares: the request with its person, the ephemeral reply, and the guard
that turns errors into a friendly answer.

The guard acknowledges a request that was not acknowledged yet (Slack shows an error after 3 s
otherwise), then answers: a typed core error with its own message, anything else with a short
apology while the details go to the log. A slash command or a message button is answered
ephemerally through its ``response_url``; a press in App Home, which has none, with a small modal;
App Home opening, which has neither, by publishing the answer as the Home tab itself. A plan asked
for without service (core.billing.status.NoService) is answered with its sentence and the Subscribe
button of ``/nbm billing`` wherever a reply can hold one.

Two kinds of odd input are the person's to fix, not bugs, and get a message that says what is
accepted instead of the apology:

* text they typed (a command's words, a form's fields) holding a character that cannot be saved:
  NUL, which PostgreSQL refuses in any text, or a lone surrogate, which is not a character and
  cannot be written as UTF-8. It is refused before the listener runs, so nothing changes; in a form
  the refusal shows on the field, which stays open with what was typed.
* a form submitted without a field its listener reads (opened before a release changed it): the
  listener's ``KeyError`` for a field the submission does not hold.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.slack.acting import acting_as_slack_user
from bot.slack.billing import no_service_reply
from bot.slack.blocks.home import notice_home
from bot.slack.blocks.modals import notice_modal
from bot.slack.blocks.text import Block, escape
from bot.slack.errors import SlackDeliveryError, api_error_code, log, log_unexpected, user_message
from bot.slack.identity import resolve_user
from bot.slack.redraws import request_redraw
from bot.slack.surfaces import Message, redraw
from core.billing.status import NoService
from core.errors import NbmError, ValidationError
from core.models import User

#: NUL and lone surrogates: see the module docstring.
UNSAVABLE = re.compile("[\x00\ud800-\udfff]")
UNSAVABLE_TEXT = ("that text holds a character that cannot be saved (a NUL, or half of a broken emoji); type it "
                  "again without it: any letter, digit, punctuation or whole emoji is fine")
STALE_FORM = ("this form has no {field!r} field (it may have changed since it was opened), so nothing was saved; "
              "close it and open it again")


class FieldError(ValidationError):
    """Input refused on one field of a modal: the message shows under that field, and the modal stays open."""

    def __init__(self, message: str, *, block: str) -> None:
        super().__init__(message)
        self.block = block


@dataclass
class Request:
    """One Slack request as the listeners see it: what Slack sent, and how to answer this person."""

    ack: Ack
    body: dict[str, Any]
    client: WebClient
    context: BoltContext
    respond: Respond | None
    _user_id: uuid.UUID | None = field(default=None, repr=False)

    @property
    def slack_user_id(self) -> str:
        return str(self.context.user_id)

    @property
    def acked(self) -> bool:
        return self.ack.response is not None

    @property
    def user_id(self) -> uuid.UUID:
        """Our user behind this Slack user (:meth:`meet`)."""
        return self.meet()

    def meet(self) -> uuid.UUID:
        """Our user behind this Slack user, created (or linked by email) on first contact
        (``bot.slack.identity``). An answer that reads nothing of theirs (the help) calls it too: any
        contact makes a Slack user a NextBestMove user (PRODUCT.md), whatever they asked first."""
        if self._user_id is None:
            self._user_id = resolve_user(self.client, team_id=self.context.team_id or "",
                                         enterprise_id=self.context.enterprise_id,
                                         slack_user_id=self.slack_user_id)
        return self._user_id

    @property
    def can_respond(self) -> bool:
        """Whether Slack gave a response_url (commands and message presses; App Home has none)."""
        return bool(self.context.response_url) and self.respond is not None

    def reply(self, text: str, *, blocks: list[Block] | None = None) -> None:
        """An answer only this person sees."""
        if self.can_respond:
            assert self.respond is not None
            self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        elif self.body.get("trigger_id"):
            self.open_modal(notice_modal("NextBestMove", text))
        elif (self.body.get("event") or {}).get("type") == "app_home_opened":
            self.client.views_publish(user_id=self.slack_user_id, view=notice_home(text))

    def replace(self, text: str, *, blocks: list[Block]) -> None:
        """Redraw the ephemeral message pressed in (only its response_url can reach it)."""
        if self.can_respond:
            assert self.respond is not None
            self.respond(text=text, blocks=blocks, replace_original=True)

    def open_modal(self, view: Block) -> None:
        self.client.views_open(trigger_id=self.body["trigger_id"], view=view)

    def redraw(self, pressed: Message | None = None) -> None:
        """Redraw App Home, today's plan DM and ``pressed`` now, in this request."""
        redraw(self.client, slack_user_id=self.slack_user_id, user_id=self.user_id,
               pressed=(pressed,) if pressed is not None else ())

    @contextmanager
    def acting(self) -> Iterator[tuple[Session, User]]:
        """The request's one unit of work, as the person making it (``bot.slack.acting.acting_as_slack_user``)."""
        with acting_as_slack_user(team_id=self.context.team_id or "", slack_user_id=self.slack_user_id,
                                  first_contact=lambda: self.user_id) as (session, user):
            self._user_id = user.id
            yield session, user

    def redraw_later(self, pressed: Message | None = None) -> None:
        """Have App Home, today's plan DM and ``pressed`` redrawn by the coalesced job
        (``bot.slack.redraws``).

        Called once the change is committed. Redis out of reach costs this redraw only: the change
        is saved and the pressed row already shows it, so the failure is logged, not raised."""
        try:
            request_redraw(self.user_id, pressed=pressed)
        except Exception:
            log.warning("could not schedule the redraw of App Home after a change by user %s", self.user_id,
                        exc_info=True)


Handler = Callable[[Request], None]


def guarded(handler: Handler) -> Callable[..., None]:
    """A Bolt listener running ``handler`` with the guard described in the module docstring."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext,
                 respond: Respond | None = None) -> None:
        request = Request(ack=ack, body=body, client=client, context=context, respond=respond)
        try:
            refuse_unsavable(body)
            handler(request)
        except Exception as error:
            answer_error(request, missing_field(body, error) or error, where=handler.__name__)

    # Named after the handler for Bolt's logs; not functools.wraps: Bolt injects arguments by the
    # parameter names of the unwrapped function, and these are the listener's own.
    listener.__name__ = listener.__qualname__ = handler.__name__
    return listener


def refuse_unsavable(body: dict[str, Any]) -> None:
    """Refuse typed text holding a character that cannot be saved (module docstring)."""
    for block, text in typed_text(body):
        if UNSAVABLE.search(text):
            raise FieldError(UNSAVABLE_TEXT, block=block) if block else ValidationError(UNSAVABLE_TEXT)


def typed_text(body: dict[str, Any]) -> Iterator[tuple[str | None, str]]:
    """``(block, text)`` for what a person typed: a command's words (no block), each field of a form."""
    if body.get("command") and isinstance(body.get("text"), str):
        yield None, body["text"]
    values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    for block, elements in values.items():
        yield from ((block, text) for text in _strings(elements))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _strings(item)


def missing_field(body: dict[str, Any], error: Exception) -> ValidationError | None:
    """The refusal for a form submitted without a field its listener reads, when ``error`` is that
    (a ``KeyError`` for a field the submission does not hold); None for anything else."""
    view = body.get("view") or {}
    fields = (view.get("state") or {}).get("values") or {}
    missing = error.args[0] if isinstance(error, KeyError) and error.args else None
    if body.get("type") != "view_submission" or not isinstance(missing, str) or missing in fields:
        return None
    log.warning("a %s form came without its %r field", view.get("callback_id"), missing)
    return ValidationError(STALE_FORM.format(field=missing))


def answer_error(request: Request, error: Exception, *, where: str) -> None:
    """Answer ``error`` as the module docstring says; a failing answer is logged, never raised (the
    original error is already in the log, and Bolt would only log it again)."""
    if isinstance(error, SlackApiError | SlackDeliveryError):
        code = api_error_code(error) if isinstance(error, SlackApiError) else str(error)
        log.warning("Slack refused a call in %s: %s", where, code)
    elif not isinstance(error, NbmError):
        log_unexpected(error, where=where, body=request.body)
    text = escape(user_message(error))
    if not request.acked:
        if request.body.get("type") == "view_submission" and isinstance(error, FieldError):
            request.ack(response_action="errors", errors={error.block: user_message(error)})
            return
        if request.body.get("type") == "view_submission":
            request.ack(response_action="update", view=notice_modal("Not saved", text))
            return
        request.ack()
    try:
        if isinstance(error, NoService):
            said, blocks = no_service_reply(error)
            request.reply(said, blocks=blocks)
        else:
            request.reply(text)
    except Exception:
        log.warning("could not send an error answer in %s", where, exc_info=True)
