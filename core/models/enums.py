"""Every enumerated type of the schema, as Python enums whose values are the database labels."""

from __future__ import annotations

import enum


class LeadStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SNOOZED = "SNOOZED"
    ARCHIVED = "ARCHIVED"


class ActionType(enum.StrEnum):
    OUTREACH = "OUTREACH"
    FOLLOW_UP = "FOLLOW_UP"
    NURTURE = "NURTURE"
    CALL_PREP = "CALL_PREP"
    POST_CALL = "POST_CALL"
    CONTENT = "CONTENT"
    FAST_WIN = "FAST_WIN"


class ActionState(enum.StrEnum):
    NEW = "NEW"
    SENT = "SENT"
    REPLIED = "REPLIED"
    SNOOZED = "SNOOZED"
    DONE = "DONE"
    ARCHIVED = "ARCHIVED"


class ActionOrigin(enum.StrEnum):
    """Why an action exists; the planner ranks reply follow-ups first, for instance."""

    USER = "USER"  # created by the user
    LEAD_ADDED = "LEAD_ADDED"  # the OUTREACH made when a lead is added
    SENT = "SENT"  # a FOLLOW_UP or NURTURE after an action was sent
    REPLY = "REPLY"  # "Reply to <name>" after a lead replied
    CALL = "CALL"  # CALL_PREP / POST_CALL around a logged call
    COLD = "COLD"  # NURTURE for a lead untouched for 21 days


class Channel(enum.StrEnum):
    """Where a change came from (action events) or went to (deliveries)."""

    SLACK = "slack"
    EMAIL = "email"
    CLI = "cli"
    SYSTEM = "system"


class CallSource(enum.StrEnum):
    """Who logged a call (``logged_calls.source``): a person (``nbm call``, ``/nbm call``, the Log-a-call
    form), or the system (a call found in the calendar, the demo's seed). Only a person's call is
    something the user did (``days_active``); the system's stays the system's when the calendar event
    that made it is gone."""

    PERSON = "person"
    SYSTEM = "system"


class DeliveryKind(enum.StrEnum):
    PLAN = "plan"
    WEEKLY_SUMMARY = "weekly_summary"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # recorded before sending: a crash here means "send again"
    SENT = "sent"
    FAILED = "failed"


class CalendarProvider(enum.StrEnum):
    GOOGLE = "google"
    OUTLOOK = "outlook"
    ICS = "ics"  # a private iCal address (migration 0009)


class CalendarConnectionStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    ERROR = "error"
    DISCONNECTED = "disconnected"


class CapacityLevel(enum.StrEnum):
    MICRO = "micro"
    LIGHT = "light"
    STANDARD = "standard"
    HEAVY = "heavy"
    DEFAULT = "default"


class SubscriptionStatus(enum.StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class ContentPromptType(enum.StrEnum):
    WIN_POST = "WIN_POST"
    INSIGHT_POST = "INSIGHT_POST"


class ContentPromptStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    POSTED = "POSTED"
    ARCHIVED = "ARCHIVED"
