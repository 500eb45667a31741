"""People pressing Done / Sent / Replied on the plan DMs they received, through the real web app.

Each plan DM the fake Slack receives is, with the run's ``press_share``, read by its person, who
presses one button of one item still open in it (an action is pressed at most once in a run, so
"applied once" means exactly one transition to that state in ``action_events``). The press is the
``block_actions`` request Slack would send, signed with the signing secret, to ``nbm web``'s
``/slack/events``; some are sent two or three times at once (a double click, Slack's retry with
``X-Slack-Retry-Num``).

Then the person waits to see what happened, as a person does: the change is in the database, or
the app answered on the press's ``response_url`` (an apology: "please try again"), or nothing
happened at all. Unless the change is there, they press again, up to :data:`MAX_TRIES` times. A try
that got neither the change nor an answer is counted as *silent*: the app acknowledged the press
(200) and then dropped it without a word.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from bot.chaos.fake_slack import FakeSlack, Posted
from bot.chaos.population import TEAM_ID
from bot.slack import ids
from core.db import unit_of_work
from core.models import ActionEvent, ActionState

#: Presses of one person before giving up (each after the previous one visibly failed or timed out).
MAX_TRIES = 6
#: Real seconds a person waits for a press to show its effect or an answer.
PATIENCE = 20.0
#: Presses under way at once.
CONCURRENT = 4


@dataclass
class Press:
    number: int
    action_id: uuid.UUID
    state: ActionState
    action: dict[str, Any]
    message: Posted
    #: Extra identical requests sent with the first one (0: a single press).
    repeats: int
    tries: int = 0
    requests: int = 0
    http_failures: int = 0
    answered: int = 0
    silent: int = 0
    replies: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def slack_user(self) -> str:
        return self.message.channel.removeprefix("D")


def pressable(message: Posted) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """(action id, button) for each Done / Sent / Replied button of a plan DM's open items."""
    if ids.plan_day(message.blocks) is None:
        return []
    buttons = []
    for block in message.blocks:
        block_id = str(block.get("block_id", ""))
        if block.get("type") != "actions" or not block_id.startswith(f"{ids.Surface.PLAN.value}|"):
            continue
        try:
            _, action_id = ids.parse_item_block_id(block_id)
        except Exception:
            continue
        buttons += [(action_id, {**element, "block_id": block_id}) for element in block.get("elements", [])
                    if element.get("action_id") in ids.MARKS]
    return buttons


def events_to(action_id: uuid.UUID, state: ActionState) -> int:
    """How many times ``action_id`` went to ``state`` (``action_events``, the service's view)."""
    with unit_of_work(service=True) as session:
        return int(session.scalar(select(func.count()).select_from(ActionEvent).where(
            ActionEvent.action_id == action_id, ActionEvent.to_state == state)) or 0)


class Presser:
    def __init__(self, *, slack: FakeSlack, web_base: str, signing_secret: str, share: float, seed: int) -> None:
        self._slack, self._url, self._share = slack, f"{web_base}/slack/events", share
        self._verifier = SignatureVerifier(signing_secret)
        self._rng = random.Random(seed)
        self._seen = 0
        self._pressed: set[uuid.UUID] = set()
        self.presses: list[Press] = []
        self._pool = ThreadPoolExecutor(max_workers=CONCURRENT, thread_name_prefix="chaos-press")
        self._futures: list[Future[None]] = []
        self._stopping = threading.Event()
        self._closing = threading.Event()  # presses under way give up (the run is ending early)
        self._thread = threading.Thread(target=self._watch, name="chaos-presser", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop_pressing(self) -> None:
        """No new presses from now on; those under way carry on."""
        self._stopping.set()
        self._thread.join()

    def settled(self) -> bool:
        return all(f.done() for f in self._futures)

    def close(self) -> None:
        """End the presses: once they have settled, at once; else (the run is cut short) they give up."""
        self._closing.set()
        if self._thread.is_alive():
            self.stop_pressing()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            posted = self._slack.posted_snapshot()
            for message in posted[self._seen:]:
                if message.delivery_id and self._rng.random() < self._share:
                    self._choose(message)
            self._seen = len(posted)

    def _choose(self, message: Posted) -> None:
        choices = [(a, b) for a, b in pressable(message) if a not in self._pressed]
        if not choices:
            return
        action_id, button = self._rng.choice(choices)
        self._pressed.add(action_id)
        press = Press(len(self.presses) + 1, action_id, ids.MARKS[button["action_id"]], button, message,
                      repeats=self._rng.choices((0, 1, 2), weights=(6, 3, 1))[0])
        self.presses.append(press)
        delay = self._rng.uniform(0.0, 3.0)  # the person reads the message first
        self._futures.append(self._pool.submit(self._press, press, delay))

    def _press(self, press: Press, delay: float) -> None:
        if self._closing.wait(delay):
            return
        for attempt in range(1, MAX_TRIES + 1):
            press.tries = attempt
            name = f"press-{press.number}-{attempt}"
            copies = 1 + (press.repeats if attempt == 1 else 0)
            outcomes = self._send_copies(press, name, copies)
            press.requests += copies
            press.http_failures += outcomes.count(False)
            if self._wait(press, name):
                press.applied = True
                return
            if self._closing.wait(1.0):  # a moment before trying again
                return

    def _send_copies(self, press: Press, name: str, copies: int) -> list[bool]:
        """Send ``copies`` identical presses at once (a double click); whether each got a 200."""
        outcomes: list[bool] = []
        senders = [threading.Thread(target=lambda c=copy: outcomes.append(self._send(press, name, c)))
                   for copy in range(copies)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        return outcomes

    def _wait(self, press: Press, name: str) -> bool:
        """Whether the press took effect; False once an answer came without it, or patience ran out."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and not self._closing.is_set():
            try:
                if events_to(press.action_id, press.state):
                    return True
            except Exception:  # the database connection was cut under us: look again
                pass
            replies = self._slack.replies_to(name)
            answers = [r for r in replies if str(r.get("replace_original")).lower() not in ("true", "1")]
            if answers:
                time.sleep(0.5)  # an apology may come with the change made after all (a redraw failed)
                try:
                    applied = events_to(press.action_id, press.state) > 0
                except Exception:
                    applied = False
                if not applied:
                    press.answered += 1
                    press.replies += [str(a.get("text", ""))[:120] for a in answers]
                return applied
            time.sleep(0.25)
        press.silent += 1
        return False

    def _send(self, press: Press, response_name: str, copy: int) -> bool:
        """Send the press as Slack would; whether the app answered 200."""
        message = press.message
        payload = {
            "type": "block_actions", "user": {"id": press.slack_user, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID, "domain": "chaos"}, "api_app_id": "ACHAOS", "trigger_id": f"trigger-{uuid.uuid4()}",
            "actions": [{"type": "button", "action_id": press.action["action_id"], "block_id": press.action["block_id"],
                         "value": press.action.get("value"), "action_ts": f"{time.time():.6f}"}],
            "container": {"type": "message", "channel_id": message.channel, "message_ts": message.ts,
                          "is_ephemeral": False},
            "response_url": self._slack.response_url(response_name),
            "channel": {"id": message.channel}, "message": {"ts": message.ts, "blocks": message.blocks},
        }
        body = urlencode({"payload": json.dumps(payload)})
        timestamp = str(int(time.time()))
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body) or ""
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
                   "X-Slack-Signature": signature}
        if copy % 2 == 1:  # every other copy is Slack's own retry of the same request
            headers |= {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        request = urllib.request.Request(self._url, data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False
