"""The hourly housekeeping job purges calendar OAuth flows no callback can use any more, a day after they
expired (used or not), as it purges old calendar sync logs: each held an encrypted PKCE verifier or
msal flow, and nothing else ever deleted them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import Secret
from core.db import set_context
from core.jobs import tasks
from core.models import CalendarProvider, OAuthFlowState
from tests.factories import make_user

AT = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def test_the_hour_purges_flows_expired_over_a_day_ago_used_or_not(service: Session, redis: Redis) -> None:
    user = make_user(service)
    began = {"used two days ago": (AT - timedelta(days=2), True),
             "left two days ago": (AT - timedelta(days=2), False),
             "left 23 hours ago": (AT - timedelta(hours=23), False),
             "used 5 minutes ago": (AT - timedelta(minutes=5), True),
             "under way": (AT - timedelta(minutes=5), False)}
    for state, (at, used) in began.items():
        service.add(OAuthFlowState(user_id=user.id, provider=CalendarProvider.GOOGLE, state=state,
                                   payload=Secret("{}"), created_at=at, expires_at=at + timedelta(minutes=10),
                                   used_at=at + timedelta(minutes=1) if used else None))
    service.flush()

    said = tasks.housekeeping(AT.isoformat())

    set_context(service, service=True)
    kept = service.scalars(select(OAuthFlowState.state).execution_options(populate_existing=True)
                           .order_by(OAuthFlowState.created_at, OAuthFlowState.state)).all()
    assert kept == ["left 23 hours ago", "under way", "used 5 minutes ago"]
    assert "flow_states_purged=2" in said  # the job's log line
