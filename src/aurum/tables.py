"""Every model, imported once so that ``Base.metadata`` is complete (Alembic and tests use it)."""

from aurum.area.model import Area
from aurum.auth.model import User
from aurum.models import Base
from aurum.pillar.model import Pillar
from aurum.project.model import Project
from aurum.task.model import Task, TaskDependency

metadata = Base.metadata

__all__ = ["Area", "Pillar", "Project", "Task", "TaskDependency", "User", "metadata"]
