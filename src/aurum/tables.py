"""Every model, imported once so that ``Base.metadata`` is complete (Alembic and tests use it)."""

from aurum.account.model import AccountExport
from aurum.apikey.model import ApiKey
from aurum.area.model import Area
from aurum.auth.model import AuthSession, PasswordResetToken, RefreshToken, User
from aurum.calendar.model import Calendar, CalendarFeed  # noqa: F401  (busy time, feeds)
from aurum.events.model import Event
from aurum.hrm.kept_plan import PlanBlock  # noqa: F401  (kept plans)
from aurum.hrm.model import (  # noqa: F401  (the HRM tables)
    AiUsage,
    AnalysisRun,
    HrmFeedback,
    HrmPreferences,
    HrmRule,
    HrmRuleWeight,
    Insight,
    PillarRating,
    ProjectRating,
    ScoreChange,
    ScoreState,
    TaskScore,
)
from aurum.journal.model import JournalEntry, JournalTemplate  # noqa: F401  (the journal tables)
from aurum.models import Base
from aurum.notification.model import Notification, NotificationPreferences  # noqa: F401  (notifications)
from aurum.persisted.model import PersistedDocument  # noqa: F401  (documents by their hash)
from aurum.pillar.model import Pillar
from aurum.project.model import Project
from aurum.resource.model import Resource  # noqa: F401  (files)
from aurum.task.model import Task, TaskDependency
from aurum.timetrack.model import TimeEntry  # noqa: F401  (time spent)

metadata = Base.metadata

__all__ = [
    "AccountExport",
    "ApiKey",
    "Area",
    "AuthSession",
    "Event",
    "PasswordResetToken",
    "Pillar",
    "Project",
    "RefreshToken",
    "Task",
    "TaskDependency",
    "User",
    "metadata",
]
