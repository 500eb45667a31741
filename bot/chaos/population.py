"""The run's users, spread over what makes mornings hard: timezones (half and quarter hours, both
hemispheres' daylight saving, the date line), work days, delivery times (midnight among them) and
channels (email, Slack, both, neither, unsubscribed).

They are made through the product's own services (``core.users.create_user``,
``core.leads.add_lead``), then back-dated (the users, their leads and the leads' first actions) to
:data:`JOINED_BEFORE` before the simulated window starts: the very first tick owes most of them a
morning already past (a catch-up after an outage, in effect), the first Monday owes them last week's
summary, and every plan of the window has actions in it to press. Everything is drawn from the
run's seed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import text

from core.db import unit_of_work
from core.leads import add_lead
from core.models import Channel, SlackUserLink, UserSettings
from core.users import create_user

#: How long before the simulated start the users joined.
JOINED_BEFORE = timedelta(days=8)
TEAM_ID = "TCHAOS"
EMAIL_DOMAIN = "chaos.nextbestmove.invalid"
#: Users created per unit of work.
BATCH = 50

TIMEZONES = (
    "Pacific/Pago_Pago", "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver",
    "America/Phoenix", "America/Chicago", "America/New_York", "America/Havana", "America/Santiago",
    "America/Sao_Paulo", "America/St_Johns", "Atlantic/Azores", "UTC", "Europe/London", "Europe/Paris",
    "Europe/Berlin", "Africa/Cairo", "Europe/Moscow", "Asia/Tehran", "Asia/Dubai", "Asia/Kabul", "Asia/Kolkata",
    "Asia/Kathmandu", "Asia/Yangon", "Asia/Bangkok", "Asia/Shanghai", "Australia/Eucla", "Asia/Tokyo",
    "Australia/Adelaide", "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Auckland", "Pacific/Chatham",
    "Pacific/Tongatapu", "Pacific/Kiritimati",
)
#: Work-day patterns (ISO weekdays) and their weights; "random" draws a subset.
WORK_DAYS: tuple[tuple[tuple[int, ...] | None, int], ...] = (
    ((1, 2, 3, 4, 5), 50), ((1, 2, 3, 4, 5, 6, 7), 10), ((1, 2, 3, 4, 5, 6), 8), ((7, 1, 2, 3, 4), 8), (None, 24),
)
#: Delivery times outside the usual morning, a tenth of the users: midnight, late night, noon.
ODD_TIMES = (time(0, 0), time(0, 15), time(23, 45), time(12, 30), time(18, 0), time(2, 30))
FIRST = ("Ada", "Bea", "Carl", "Dev", "Eun", "Femi", "Gus", "Hana", "Ivo", "Jin", "Kofi", "Lena", "Mo", "Nia")
LAST = ("Stone", "Diaz", "Okafor", "Tanaka", "Novak", "Haddad", "Silva", "Kowalski", "Moreau", "Lindqvist")


@dataclass(frozen=True)
class Channels:
    email: bool
    unsubscribed: bool
    slack_linked: bool
    slack_enabled: bool


#: Channel mixes and their weights.
CHANNEL_MIXES: tuple[tuple[Channels, int], ...] = (
    (Channels(email=True, unsubscribed=False, slack_linked=False, slack_enabled=False), 40),
    (Channels(email=True, unsubscribed=False, slack_linked=True, slack_enabled=True), 35),
    (Channels(email=False, unsubscribed=False, slack_linked=True, slack_enabled=True), 12),
    (Channels(email=True, unsubscribed=True, slack_linked=True, slack_enabled=True), 4),
    (Channels(email=True, unsubscribed=False, slack_linked=True, slack_enabled=False), 5),
    (Channels(email=False, unsubscribed=False, slack_linked=False, slack_enabled=False), 4),
)


@dataclass(frozen=True)
class Seeded:
    user_id: uuid.UUID
    email: str
    slack_user_id: str | None


def _work_days(rng: random.Random) -> list[int]:
    patterns = [p for p, _ in WORK_DAYS]
    chosen = rng.choices(patterns, weights=[w for _, w in WORK_DAYS])[0]
    if chosen is None:
        return sorted(rng.sample(range(1, 8), rng.randint(1, 5)))
    return list(chosen)


def _delivery_time(rng: random.Random) -> time:
    if rng.random() < 0.1:
        return rng.choice(ODD_TIMES)
    minutes = rng.randrange(5 * 60, 11 * 60, 15)
    return time(minutes // 60, minutes % 60)


def seed_users(*, count: int, seed: int, token: str, start: datetime) -> list[Seeded]:
    """Create ``count`` users (with 3 to 6 leads each), joined :data:`JOINED_BEFORE` before ``start``."""
    rng = random.Random(seed)
    mixes = [m for m, _ in CHANNEL_MIXES]
    weights = [w for _, w in CHANNEL_MIXES]
    seeded: list[Seeded] = []
    for first in range(0, count, BATCH):
        with unit_of_work(service=True) as session:
            for n in range(first, min(first + BATCH, count)):
                mix = rng.choices(mixes, weights=weights)[0]
                email = f"chaos-{token}-{n}@{EMAIL_DOMAIN}"
                user = create_user(session, email=email, name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                                   timezone=rng.choice(TIMEZONES), slack=mix.slack_enabled)
                settings = session.get_one(UserSettings, user.id)
                settings.delivery_time = _delivery_time(rng)
                settings.work_days = _work_days(rng)
                settings.email_enabled = mix.email
                settings.email_unsubscribed_at = start - JOINED_BEFORE if mix.unsubscribed else None
                slack_user_id = f"U{n:06d}" if mix.slack_linked else None
                if slack_user_id:
                    session.add(SlackUserLink(user_id=user.id, team_id=TEAM_ID, slack_user_id=slack_user_id))
                for k in range(rng.randint(3, 6)):
                    add_lead(session, user=user, name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                             url=f"https://www.linkedin.com/in/chaos-{n}-{k}", channel=Channel.CLI)
                seeded.append(Seeded(user.id, email, slack_user_id))
            session.flush()
            joined = {"joined": start - JOINED_BEFORE, "ids": [s.user_id for s in seeded[first:]]}
            session.execute(text("UPDATE users SET created_at = :joined WHERE id = ANY(:ids)"), joined)
            session.execute(text("UPDATE leads SET created_at = :joined WHERE user_id = ANY(:ids)"), joined)
            session.execute(text("UPDATE actions SET created_at = :joined, due_date = CAST(:joined AS date) "
                                 "WHERE user_id = ANY(:ids)"), joined)
    return seeded
