"""Every model, importable from one place; importing this package registers all tables."""

from core.models.actions import ACTION_LOG, ACTION_SENT_AT, Action, ActionEvent, LoggedCall
from core.models.base import Base
from core.models.billing import BillingCustomer, BillingEvent, BillingSubscription
from core.models.calendar import CalendarConnection, CalendarEventCall, CalendarSyncLog, OAuthFlowState
from core.models.deliveries import Delivery
from core.models.enums import (
    ActionOrigin,
    ActionState,
    ActionType,
    CalendarConnectionStatus,
    CalendarProvider,
    CallSource,
    CapacityLevel,
    Channel,
    ContentPromptStatus,
    ContentPromptType,
    DeliveryKind,
    DeliveryStatus,
    LeadStatus,
    SubscriptionStatus,
)
from core.models.leads import Lead
from core.models.plans import DailyPlan, DailyPlanAction
from core.models.slack import SlackInstallation, SlackPlanMessage, SlackUserLink
from core.models.slack_events import SlackEvent
from core.models.summaries import ContentPrompt, WeeklySummary
from core.models.users import CapacityOverride, User, UserSettings

__all__ = [
    "ACTION_LOG", "ACTION_SENT_AT", "Action", "ActionEvent", "ActionOrigin", "ActionState", "ActionType", "Base",
    "BillingCustomer",
    "BillingEvent", "BillingSubscription", "CalendarConnection", "CalendarConnectionStatus", "CalendarEventCall",
    "CalendarProvider", "CalendarSyncLog", "CallSource", "CapacityLevel", "CapacityOverride", "Channel",
    "ContentPrompt", "ContentPromptStatus", "ContentPromptType", "DailyPlan", "DailyPlanAction", "Delivery",
    "DeliveryKind", "DeliveryStatus", "Lead", "LeadStatus", "LoggedCall", "OAuthFlowState",
    "SlackEvent", "SlackInstallation", "SlackPlanMessage", "SlackUserLink", "SubscriptionStatus", "User",
    "UserSettings", "WeeklySummary",
]
