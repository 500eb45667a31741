"""The data ``benchmarks.press`` presses on: its users, their plans and actions, and the signed presses."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from benchmarks.harness import BenchUsers, insert_rows
from benchmarks.press_rig import TS_PREFIX
from core.clock import local_today, utcnow
from core.crypto import Secret
from core.db import unit_of_work
from core.models import (
    Action,
    ActionState,
    ActionType,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Lead,
    SlackInstallation,
    SlackUserLink,
    User,
)

#: Where the delivered plan DM of each user is, so the redraw job has a message to update.
DELIVERED_TS = "1699999999.000001"



@dataclass
class Seeded:
    team_id: str
    installation_id: uuid.UUID
    user_ids: list[uuid.UUID]
    slack_users: list[str]
    #: For each user (by index): the actions to press (none of them in today's plan), today's plan
    #: DM as the app drew it (JSON), and the actions of that plan's rows.
    actions: list[list[uuid.UUID]]
    message: list[str]
    rows: list[list[uuid.UUID]]
    action_ids: list[uuid.UUID] = field(default_factory=list)


def seed(bench: BenchUsers, *, users: int, actions_each: int) -> Seeded:
    """Users linked to Slack in one workspace, each with ``actions_each`` outreaches due today (one
    lead each) besides those of today's plan, which the planner builds (5 items) and which was
    delivered as a Slack DM."""
    from bot.slack.blocks.plan import plan_message
    from core.planner.view import plan_view_building_if_missing

    now = utcnow()
    team = f"TB{bench.token}"
    with unit_of_work(service=True) as session:
        people = bench.add(session, count=users, created_at=now - timedelta(days=30),
                           settings=lambda n, tz: {"slack_enabled": True, "email_enabled": False})
        installation = SlackInstallation(team_id=team, team_name="Bench", bot_token=Secret("xoxb-bench"),
                                         bot_id="BBENCH", bot_user_id="UBENCHBOT",
                                         bot_scopes="chat:write,commands,im:history,im:write,users:read")
        session.add(installation)
        leads: list[dict[str, Any]] = []
        actions: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        slack_users: list[str] = []
        action_ids: list[uuid.UUID] = []
        per_user: list[list[uuid.UUID]] = []
        for n, (user_id, tz) in enumerate(people):
            today = local_today(tz, at=now)
            mine = []
            for k in range(actions_each + 5):
                lead_id, action_id = uuid.uuid4(), uuid.uuid4()
                leads.append({"id": lead_id, "user_id": user_id, "name": f"Lead {n}-{k}",
                              "url": f"https://www.linkedin.com/in/bench-{n}-{k}"})
                actions.append({"id": action_id, "user_id": user_id, "person_id": lead_id,
                                "action_type": ActionType.OUTREACH, "state": ActionState.NEW, "due_date": today})
                mine.append(action_id)
            per_user.append(mine)
            action_ids += mine
            slack_users.append(f"U{bench.token}{n}")
            links.append({"id": uuid.uuid4(), "user_id": user_id, "team_id": team,
                          "slack_user_id": f"U{bench.token}{n}", "dm_channel_id": f"D{bench.token}{n}"})
            deliveries.append({"id": uuid.uuid4(), "user_id": user_id, "kind": DeliveryKind.PLAN,
                               "channel": Channel.SLACK, "period": today, "status": DeliveryStatus.SENT,
                               "attempts": 1, "external_id": f"D{bench.token}{n}:{DELIVERED_TS}", "sent_at": now})
        insert_rows(session, Lead, leads)
        insert_rows(session, Action, actions)
        insert_rows(session, SlackUserLink, links)
        insert_rows(session, Delivery, deliveries)
        session.flush()
        installation_id = installation.id
    messages, rows = [], []
    for n, (user_id, _) in enumerate(people):  # today's plan, as the morning builds it, and its DM
        with unit_of_work(user_id=user_id) as session:
            view = plan_view_building_if_missing(session, user=session.get_one(User, user_id))
        messages.append(json.dumps(plan_message(view)[1]))
        rows.append([item.action_id for item in view.items])
        per_user[n] = [action_id for action_id in per_user[n] if action_id not in rows[-1]][:actions_each]
    return Seeded(team_id=team, installation_id=installation_id, user_ids=[user_id for user_id, _ in people],
                  slack_users=slack_users, actions=per_user, message=messages, rows=rows, action_ids=action_ids)


def forget_installation(seeded: Seeded) -> None:
    with unit_of_work(service=True) as session:
        installation = session.get(SlackInstallation, seeded.installation_id)
        if installation is not None:
            session.delete(installation)


def reset_actions(seeded: Seeded) -> None:
    """Put every pressed action back to NEW (between the floor and ours: both press the same actions)."""
    from sqlalchemy import update

    with unit_of_work(service=True) as session:
        for start in range(0, len(seeded.action_ids), 5000):
            session.execute(update(Action).where(Action.id.in_(seeded.action_ids[start:start + 5000]))
                            .values(state=ActionState.NEW, completed_at=None))


def press_bodies(seeded: Seeded, presses: Sequence[tuple[int, int]], *, first: int = 0,
                 button: str = "done") -> list[str]:
    """Presses of ``button`` (done or sent), each ``(user, k)`` on that user's k-th action, numbered
    from ``first``.

    Each press comes from the user's plan DM as drawn in the morning, its rows in turn showing the
    pressed action (a plan row's action swapped for it), so every press is on a row of its message
    and a real change, never a repeat."""
    bodies = []
    for n, (who, k) in enumerate(presses, start=first):
        action_id = seeded.actions[who][k]
        rows = seeded.rows[who]
        blocks = json.loads(seeded.message[who].replace(str(rows[k % len(rows)]), str(action_id)))
        ts = f"{TS_PREFIX}{n:06d}"
        channel = f"D{seeded.slack_users[who][1:]}"
        payload = {
            "type": "block_actions", "user": {"id": seeded.slack_users[who], "team_id": seeded.team_id},
            "team": {"id": seeded.team_id, "domain": "bench"}, "api_app_id": "ABENCH", "token": "legacy",
            "trigger_id": f"trigger-{n}", "response_url": f"{{fake}}/respond/{ts}",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "channel": {"id": channel, "name": "directmessage"},
            "message": {"type": "message", "ts": ts, "text": "Your next best moves", "blocks": blocks},
            "actions": [{"type": "button", "action_id": f"nbm_{button}", "block_id": f"plan|{action_id}",
                         "value": str(action_id), "action_ts": ts}],
        }
        bodies.append(json.dumps(payload))
    return bodies


def round_robin(users: int, count: int) -> list[tuple[int, int]]:
    """``count`` presses over ``users`` users in turn, each on the user's next action."""
    return [(n % users, n // users) for n in range(count)]
