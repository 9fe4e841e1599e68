"""Every model, imported once so that ``Base.metadata`` is complete (Alembic and tests use it)."""

from aurum.account.model import AccountExport
from aurum.apikey.model import ApiKey
from aurum.area.model import Area
from aurum.auth.model import AuthSession, PasswordResetToken, RefreshToken, User
from aurum.events.model import Event
from aurum.models import Base
from aurum.pillar.model import Pillar
from aurum.project.model import Project
from aurum.task.model import Task, TaskDependency

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
