"""The demo user: a realistic book of leads and three weeks of history, for `nbm demo` and `nbm dev`.

History cannot go through the services (they act *now*), so past actions and their events are
written as rows dated in the past, exactly as the services would have written them then. Today's
state goes through the services: new leads, a call booked for tomorrow, and the plan. The user
joined when that history begins (a summary covers only weeks its user lived, core.summaries.service).
Running the demo again replaces the demo user, so its history always ends today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.actions.records import create_action
from core.calls import log_call
from core.clock import local_now, local_today, utcnow, zone
from core.leads import add_lead
from core.models import Action, ActionEvent, ActionOrigin, ActionState, ActionType, Channel, Lead, User
from core.streaks import refresh_streak
from core.users import create_user, find_user_by_email, get_settings_for

DEMO_EMAIL = "demo@nextbestmove.localhost"
DEMO_NAME = "Dana Demo"

#: (name, LinkedIn slug, notes)
NEW_LEADS = [
    ("Priya Raman", "priya-raman", "Head of Ops at Fernway; met at SaaStr"),
    ("Tom Okafor", "tom-okafor", "Founder, Ledgerly; wants a pricing review"),
    ("Lucía Fernández", "lucia-fernandez", "VP Marketing at Brightloop"),
    ("Ben Hartley", "ben-hartley", None),
]

#: (name, slug, days ago the outreach was created, [(days ago, new state), ...])
HISTORY = [
    ("Ann Lee", "ann-lee", 20, [(19, ActionState.SENT), (12, ActionState.REPLIED), (11, ActionState.DONE)]),
    ("Marcus Chen", "marcus-chen", 18, [(17, ActionState.SENT), (2, ActionState.DONE)]),
    ("Sofia Rossi", "sofia-rossi", 15, [(14, ActionState.SENT), (8, ActionState.REPLIED)]),
    ("Jamal Wright", "jamal-wright", 12, [(5, ActionState.DONE)]),
    ("Hannah Becker", "hannah-becker", 10, [(9, ActionState.SENT), (4, ActionState.REPLIED)]),
    ("Oliver Grant", "oliver-grant", 8, [(6, ActionState.DONE)]),
    ("Chloé Martin", "chloe-martin", 7, [(7, ActionState.SENT)]),
    ("Diego Alvarez", "diego-alvarez", 5, [(3, ActionState.DONE)]),
    ("Emily Novak", "emily-novak", 4, [(2, ActionState.SENT)]),
    ("Kenji Sato", "kenji-sato", 3, [(1, ActionState.DONE)]),
]

#: The demo user joined at the start of the local day its history begins.
JOINED_DAYS_AGO = max(created_days_ago for _, _, created_days_ago, _ in HISTORY)


@dataclass(frozen=True)
class DemoUser:
    user_id: object
    email: str


def seed_demo(session: Session, *, timezone: str = "America/New_York", due_now: bool = False) -> DemoUser:
    """Replace the demo user with a fresh one (service context) and return who it is.

    ``due_now`` (``nbm dev``) makes every day a work day and the delivery time a minute ago, so the
    next tick delivers the morning. The streak is stored as the seeded history makes it, as the
    completions would have left it, so what is sent first says the streak the history shows."""
    zone(timezone)
    existing = find_user_by_email(session, DEMO_EMAIL)
    if existing is not None:
        session.execute(delete(User).where(User.id == existing.id))
    user = create_user(session, email=DEMO_EMAIL, name=DEMO_NAME, timezone=timezone)
    now = utcnow()
    user.created_at = datetime.combine(local_today(timezone, at=now) - timedelta(days=JOINED_DAYS_AGO), time(0),
                                       zone(timezone))
    for name, slug, created_days_ago, steps in HISTORY:
        _history(session, user=user, name=name, slug=slug, created_days_ago=created_days_ago, steps=steps, now=now)
    for name, slug, notes in NEW_LEADS:
        add_lead(session, user=user, name=name, url=f"https://www.linkedin.com/in/{slug}", notes=notes,
                 channel=Channel.SYSTEM)
    today = local_today(timezone, at=now)
    first_new = session.query(Lead).filter_by(user_id=user.id, name=NEW_LEADS[0][0]).one()
    log_call(session, user=user, lead_id=first_new.id, call_date=today + timedelta(days=1), channel=Channel.SYSTEM)
    create_action(session, user=user, action_type=ActionType.FAST_WIN, due_date=today, channel=Channel.SYSTEM,
                  description="Accept the 3 pending LinkedIn invitations")
    create_action(session, user=user, action_type=ActionType.CONTENT, due_date=today, channel=Channel.SYSTEM,
                  description="Post what you learned from this week's calls")
    if due_now:
        preferences = get_settings_for(session, user)
        preferences.work_days = [1, 2, 3, 4, 5, 6, 7]
        preferences.delivery_time = _one_minute_ago(timezone)
    refresh_streak(session, user=user)
    return DemoUser(user_id=user.id, email=user.email)


def _one_minute_ago(timezone: str) -> time:
    """The local time a minute ago (midnight in the day's first minute, which has no earlier time today)."""
    now = local_now(timezone)
    earlier = now - timedelta(minutes=1)
    return (earlier if earlier.date() == now.date() else now.replace(hour=0, minute=0)).time().replace(
        second=0, microsecond=0)


def _history(
    session: Session, *, user: User, name: str, slug: str, created_days_ago: int,
    steps: list[tuple[int, ActionState]], now: datetime,
) -> None:
    """A lead whose outreach went through ``steps`` in the past, at 10:00 local on those days."""
    tz = zone(user.timezone)

    def at(days_ago: int) -> datetime:
        local_day = (now.astimezone(tz) - timedelta(days=days_ago)).date()
        return datetime.combine(local_day, time(10), tz)

    created = at(created_days_ago)
    lead = Lead(user_id=user.id, name=name, url=f"https://www.linkedin.com/in/{slug}", created_at=created)
    session.add(lead)
    session.flush()
    action = Action(user_id=user.id, person_id=lead.id, action_type=ActionType.OUTREACH, state=ActionState.NEW,
                    due_date=created.date(), origin=ActionOrigin.LEAD_ADDED, auto_created=True, created_at=created)
    session.add(action)
    session.flush()
    events = [ActionEvent(user_id=user.id, action_id=action.id, from_state=None, to_state=ActionState.NEW,
                          channel=Channel.SYSTEM, created_at=created)]
    previous = ActionState.NEW
    for days_ago, state in steps:
        events.append(ActionEvent(user_id=user.id, action_id=action.id, from_state=previous, to_state=state,
                                  channel=Channel.SLACK, created_at=at(days_ago)))
        if state in (ActionState.DONE, ActionState.REPLIED):
            action.completed_at = at(days_ago)
        previous = state
    action.state = previous
    session.add_all(events)
    session.flush()
    last_days_ago = steps[-1][0]
    if previous == ActionState.SENT:  # the follow-up the SENT rule made, due three days later
        _past_followup(session, user=user, lead=lead, source=action, created=at(last_days_ago),
                       due=at(last_days_ago - 3).date(), origin=ActionOrigin.SENT, description=None)
    elif previous == ActionState.REPLIED:  # "Reply to …", handled the next day if the reply is old
        _past_followup(session, user=user, lead=lead, source=action, created=at(last_days_ago),
                       due=at(last_days_ago).date(), origin=ActionOrigin.REPLY, description=f"Reply to {name}",
                       done_at=at(last_days_ago - 1) if last_days_ago > 5 else None)


def _past_followup(
    session: Session, *, user: User, lead: Lead, source: Action, created: datetime, due: date,
    origin: ActionOrigin, description: str | None, done_at: datetime | None = None,
) -> None:
    action = Action(user_id=user.id, person_id=lead.id, action_type=ActionType.FOLLOW_UP, due_date=due,
                    origin=origin, auto_created=True, description=description, source_action_id=source.id,
                    created_at=created, state=ActionState.DONE if done_at else ActionState.NEW, completed_at=done_at)
    session.add(action)
    session.flush()
    session.add(ActionEvent(user_id=user.id, action_id=action.id, from_state=None, to_state=ActionState.NEW,
                            channel=Channel.SYSTEM, created_at=created))
    if done_at:
        session.add(ActionEvent(user_id=user.id, action_id=action.id, from_state=ActionState.NEW,
                                to_state=ActionState.DONE, channel=Channel.SLACK, created_at=done_at))
    session.flush()
