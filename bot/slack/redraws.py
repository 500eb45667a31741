"""Redrawing a user's Slack surfaces after a press, off the request path and coalesced.

A press redraws the message it came from at once, from its own unit of work
(``bot.slack.surfaces.shown_after_press``); when the change shows nowhere else, only its row. The
rest of what shows the plan — App Home, today's plan DM, and a message whose row alone was
redrawn (for its streak) — is drawn whole by the RQ job :func:`redraw_surfaces`, which
:func:`request_redraw` schedules:

* **Coalesced.** Time is cut into windows of :data:`WINDOW_SECONDS`; the job of a user's window
  has the deterministic id ``slack-redraw-<user>-<window>`` and is scheduled for the window's end.
  Every press of that window finds it already scheduled, so ten presses in a second redraw once.
* **Never stale.** A job reads the data when it runs, after the end of its window, so it draws
  every press committed in that window (each press asks after its commit). Should the window's job
  have started already (a worker whose clock runs ahead), the press asks for the next window's
  job instead: a job that might have read before the press committed never counts as its redraw.
* **Every message whose row alone was redrawn.** Such a press names its message (channel, ts, the
  day it shows) in a Redis set of the user's before it asks for the job; the job takes the whole
  set when it starts, so a message named after that is left to the job the press then asks for
  (the started job does not count). A job that fails puts what it took back.
* **Never in the way.** Asking costs one Redis round trip when the window's job is waiting already,
  two when it schedules the job (one more for each window whose job turns out to have started, or
  that another press scheduled in between). When Redis cannot be reached,
  the press is still applied and its message redrawn; the failure is logged and the other surfaces
  catch up at the next redraw. A redraw that fails is the job's: Slack's refusals are logged per
  surface, anything else is retried by RQ, and the press it follows was committed long before.

The job needs RQ's scheduler (``nbm worker`` runs it), since it is scheduled for a moment to come.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime

from redis import Redis
from redis.client import Pipeline
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus

from bot.slack.delivery import reach
from bot.slack.errors import SlackDeliveryError
from bot.slack.surfaces import Message, redraw
from core.clock import utcnow
from core.queue import get_queue
from core.text import plural

log = logging.getLogger("nbm.slack.redraws")

#: Presses closer together than this share one redraw.
WINDOW_SECONDS = 1
#: The job, by dotted name (a worker imports it).
JOB = "bot.slack.redraws.redraw_surfaces"
#: A finished job is kept this long, so that later presses of its window see it has run.
KEEP_SECONDS = 600
#: A job that has not started cannot have read anything yet.
_NOT_STARTED = {JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.DEFERRED}
#: Windows tried after the current one before giving up (each a job already running or run).
_WINDOWS_AHEAD = 3
_NOT_STARTED_NAMES = {status.value for status in _NOT_STARTED}


def job_id(user_id: uuid.UUID, window: int) -> str:
    return f"slack-redraw-{user_id}-{window}"


def pressed_key(user_id: uuid.UUID | str) -> str:
    """The Redis set of the messages pressed since the user's last redraw."""
    return f"nbm:slack-redraw:{user_id}:pressed"


def request_redraw(user_id: uuid.UUID, *, pressed: Message | None = None, queue: Queue | None = None) -> bool:
    """Make sure a redraw of the user's App Home, plan DM and ``pressed`` message runs after this
    moment (module docstring).

    True when this call scheduled the job, False when a job not yet started was already waiting.
    Called after the change it follows was committed. Raises when Redis cannot be reached.

    One round trip when the window's job is waiting already (presses in a burst after the first):
    ``pressed`` named and the job's status read together, in that order, so that a job read as not
    started takes the name when it starts. A job is built only when one is to be scheduled.
    """
    queue = queue or get_queue()
    window = int(utcnow().timestamp() // WINDOW_SECONDS)
    pipe = queue.connection.pipeline(transaction=False)
    if pressed is not None and pressed.day is not None:
        _keep(pipe, user_id, [_named(pressed).encode()])
    pipe.hget(Job.key_for(job_id(user_id, window)), "status")
    status = pipe.execute()[-1]
    for ahead in range(_WINDOWS_AHEAD):
        wanted = job_id(user_id, window + ahead)
        if ahead:
            status = queue.connection.hget(Job.key_for(wanted), "status")
        if _not_started(status):
            return False
        if status is None:  # none for this window yet: schedule it, unless another press just did
            at = datetime.fromtimestamp((window + ahead + 1) * WINDOW_SECONDS, UTC)
            try:
                queue.enqueue_at(at, JOB, str(user_id), job_id=wanted, unique=True, result_ttl=KEEP_SECONDS,
                                 failure_ttl=86400, retry=Retry(max=2, interval=[5, 30]))
                return True
            except DuplicateJobError:
                if _not_started(queue.connection.hget(Job.key_for(wanted), "status")):
                    return False
    log.warning("the redraws of user %s for the next %d windows have all started; none scheduled",
                user_id, _WINDOWS_AHEAD)
    return False


def _not_started(status: object) -> bool:
    """Whether a job's status, as read from its hash, says it is waiting still (None: no such job)."""
    return isinstance(status, bytes) and status.decode() in _NOT_STARTED_NAMES


def _named(message: Message) -> str:
    return f"{message.channel}|{message.ts}|{message.day.isoformat() if message.day else ''}"


def _message(name: bytes) -> Message | None:
    parts = name.decode().split("|")
    try:
        channel, ts, day = parts
        return Message(channel, ts, date.fromisoformat(day))
    except ValueError:  # not three parts, or not a day: not one of ours
        return None


def _keep(pipe: Pipeline, user_id: uuid.UUID | str, names: Iterable[bytes]) -> None:
    """Add ``names`` to the user's pressed messages, which are forgotten after :data:`KEEP_SECONDS`
    untaken, when ``pipe`` executes."""
    pipe.sadd(pressed_key(user_id), *names)
    pipe.expire(pressed_key(user_id), KEEP_SECONDS)


def _take_pressed(connection: Redis, user_id: str) -> list[bytes]:
    pipe = connection.pipeline()
    pipe.smembers(pressed_key(user_id))
    pipe.delete(pressed_key(user_id))
    names, _ = pipe.execute()
    return sorted(names)


def redraw_surfaces(user_id: str) -> str:
    """The job: redraw App Home, today's plan DM and the messages named since the last redraw,
    from the data as it is now."""
    connection = get_queue().connection
    names = _take_pressed(connection, user_id)
    try:
        client, recipient = reach(uuid.UUID(user_id))
    except SlackDeliveryError as error:
        return f"not redrawn: {error}"
    pressed = [message for message in map(_message, names) if message is not None]
    try:
        redraw(client, slack_user_id=recipient.slack_user_id, user_id=uuid.UUID(user_id), pressed=pressed)
    except Exception:
        if names:  # for the retry
            pipe = connection.pipeline()
            _keep(pipe, user_id, names)
            pipe.execute()
        raise
    return f"redrawn, with {plural(len(pressed), 'pressed message')}"
