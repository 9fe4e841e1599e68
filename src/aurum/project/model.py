from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import PRIORITIES, Archivable, Base, UserOwned, one_of
from aurum.search.vector import search_index, search_vector

PROJECT_STATUSES = ("planning", "active", "on_hold", "completed", "cancelled")
# A project on hold, completed or cancelled asks nothing of today, whatever tasks it still holds.
UNDER_WAY_STATUSES = ("planning", "active")


class Project(Archivable, UserOwned, Base):
    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        ForeignKeyConstraint(["area_id", "user_id"], ["areas.id", "areas.user_id"], ondelete="CASCADE"),
        Index("ix_projects_area_list", "area_id", "user_id", "sort_order", "id"),
        Index("ix_projects_user_list", "user_id", "archived", "sort_order", "id"),
        search_index("projects"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint("importance BETWEEN 1 AND 5", name="importance_range"),
        CheckConstraint(one_of("status", PROJECT_STATUSES), name="status_valid"),
        CheckConstraint(one_of("priority", PRIORITIES), name="priority_valid"),
        CheckConstraint("archived = (archived_at IS NOT NULL)", name="archived_at_set"),
    )

    area_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    icon: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'planning'"))
    priority: Mapped[str] = mapped_column(String(16), server_default=text("'medium'"))
    importance: Mapped[int] = mapped_column(Integer, server_default=text("3"))
    deadline: Mapped[date | None] = mapped_column(Date)
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    search_vector: Mapped[str] = search_vector()
