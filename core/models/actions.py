"""Actions, their append-only event log, and logged calls."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
    column,
    func,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, created_at, pg_enum, updated_at, uuid_pk
from core.models.enums import ActionOrigin, ActionState, ActionType, CallSource, Channel
from core.models.leads import Lead

#: States in which an action is still to be done (for the one-open-auto-action-per-lead rule).
PENDING_STATES_SQL = "state IN ('NEW', 'SNOOZED')"


class Action(Base):
    """Something the user should do, usually for a lead (``person_id``, the design's name).

    ``due_date`` is a *local* date in the user's timezone. The design's check
    ``due_date >= DATE(created_at)`` read the server's timezone and refused a user's own "today";
    the check kept here only refuses dates before the earliest local date anywhere on Earth at
    creation (UTC-12), and the service layer validates against the user's own timezone.

    Two partial unique indexes are the real guarantee of the follow-up rules: at most one pending
    auto-created action per lead and type, and at most one SENT action waiting per lead.

    Every reference names a row of the same user (migration 0012): ``UNIQUE (id, user_id)`` is what
    the composite foreign keys of actions, events and plans point at, and ``SET NULL (column)``
    clears only the reference, never ``user_id``.
    """

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        ForeignKeyConstraint(["person_id", "user_id"], ["leads.id", "leads.user_id"], ondelete="SET NULL (person_id)"),
        ForeignKeyConstraint(["source_action_id", "user_id"], ["actions.id", "actions.user_id"],
                             ondelete="SET NULL (source_action_id)"),
        ForeignKeyConstraint(["logged_call_id", "user_id"], ["logged_calls.id", "logged_calls.user_id"],
                             ondelete="CASCADE"),
        CheckConstraint(
            "due_date >= ((created_at AT TIME ZONE 'UTC')::date - 1)", name="valid_due_date"
        ),
        Index("idx_actions_user_id", "user_id"),
        Index("idx_actions_person_id", "person_id"),
        Index("idx_actions_state", "state"),
        Index("idx_actions_due_date", "due_date"),
        Index("idx_actions_user_state_due", "user_id", "state", "due_date"),
        Index("idx_actions_snooze_until", "snooze_until", postgresql_where="state = 'SNOOZED'"),
        Index(
            "actions_one_pending_auto_per_lead_type",
            "person_id",
            "action_type",
            unique=True,
            postgresql_where=f"auto_created AND person_id IS NOT NULL AND {PENDING_STATES_SQL}",
        ),
        Index("idx_actions_source_action_id", "source_action_id", postgresql_where="source_action_id IS NOT NULL"),
        Index("idx_actions_logged_call_id", "logged_call_id", postgresql_where="logged_call_id IS NOT NULL"),
        Index(
            "actions_one_sent_per_lead",
            "person_id",
            unique=True,
            postgresql_where="state = 'SENT' AND person_id IS NOT NULL",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID | None] = mapped_column()
    action_type: Mapped[ActionType] = mapped_column(pg_enum(ActionType, "action_type"))
    state: Mapped[ActionState] = mapped_column(
        pg_enum(ActionState, "action_state"), server_default=ActionState.NEW.value, default=ActionState.NEW
    )
    description: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date]
    completed_at: Mapped[datetime | None]
    snooze_until: Mapped[date | None]
    notes: Mapped[str | None] = mapped_column(Text)
    auto_created: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    origin: Mapped[ActionOrigin] = mapped_column(
        pg_enum(ActionOrigin, "action_origin"), server_default=ActionOrigin.USER.value, default=ActionOrigin.USER
    )
    source_action_id: Mapped[uuid.UUID | None]
    logged_call_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    lead: Mapped[Lead | None] = relationship(foreign_keys=[person_id])


class ActionEvent(Base):
    """One state change of an action: append-only (a trigger refuses UPDATE).

    ``from_state`` is NULL for the creation of the action. Weekly numbers come from here, not from
    current state, so an action REPLIED then DONE still counts as a reply. An undo is an event too,
    naming the change it takes back (``undoes_event_id``); the view ``action_log`` (migration 0006,
    :data:`ACTION_LOG`) leaves out both, and is what every figure reads.
    """

    __tablename__ = "action_events"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        ForeignKeyConstraint(["action_id", "user_id"], ["actions.id", "actions.user_id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["undoes_event_id", "user_id"], ["action_events.id", "action_events.user_id"],
                             ondelete="CASCADE"),
        Index("idx_action_events_user_created", "user_id", "created_at"),
        Index("idx_action_events_action_id", "action_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    action_id: Mapped[uuid.UUID]
    from_state: Mapped[ActionState | None] = mapped_column(pg_enum(ActionState, "action_state"))
    to_state: Mapped[ActionState] = mapped_column(pg_enum(ActionState, "action_state"))
    channel: Mapped[Channel] = mapped_column(pg_enum(Channel, "event_channel"))
    created_at: Mapped[datetime] = created_at()
    undoes_event_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    #: The due date this change replaced, when it moved it (a snooze), so that an undo restores it.
    due_date_before: Mapped[date | None]


#: The event log as it stands (a view): no undone change and no undo. Not a mapped table, so the
#: schema comparison leaves it alone; queries select from it like from ``action_events``.
ACTION_LOG = table(
    "action_log",
    column("id", UUID(as_uuid=True)),
    column("user_id", UUID(as_uuid=True)),
    column("action_id", UUID(as_uuid=True)),
    column("from_state", pg_enum(ActionState, "action_state")),
    column("to_state", pg_enum(ActionState, "action_state")),
    column("channel", pg_enum(Channel, "event_channel")),
    column("created_at", DateTime(timezone=True)),
)

#: SQL: when the action of the enclosing query was sent. The log as it stands says it: the action's
#: last change to SENT that was not undone. An action with no such event (one from before the log)
#: counts from its creation, never from ``updated_at``: every later edit (a note, a due date) moves
#: that, and editing an action must not make it look freshly sent, nor reorder the waiting list.
ACTION_SENT_AT = func.coalesce(
    select(func.max(ACTION_LOG.c.created_at))
    .where(ACTION_LOG.c.action_id == Action.id, ACTION_LOG.c.to_state == ActionState.SENT)
    .correlate(Action)
    .scalar_subquery(),
    Action.created_at,
)


class LoggedCall(Base):
    """A call the user booked with a lead on a (local) date; counted in ``calls_booked``.

    Logging the same call twice is one call. ``source`` says who logged it (:class:`CallSource`).
    """

    __tablename__ = "logged_calls"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        ForeignKeyConstraint(["lead_id", "user_id"], ["leads.id", "leads.user_id"], ondelete="CASCADE"),
        UniqueConstraint("lead_id", "call_date"),
        Index("idx_logged_calls_user_date", "user_id", "call_date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID]
    call_date: Mapped[date]
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[CallSource] = mapped_column(pg_enum(CallSource, "call_source"),
                                               server_default=CallSource.PERSON.value)
    created_at: Mapped[datetime] = created_at()
