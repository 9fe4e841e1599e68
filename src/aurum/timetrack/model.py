from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKeyConstraint, Index, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, UserOwned, one_of

SOURCES = ("timer", "manual")
MAX_ENTRY_HOURS = 24


class TimeEntry(UserOwned, Base):
    """Time spent on a task: a timer (open while ``ended_at`` is null; one per person) or a manual entry."""

    __tablename__ = "time_entries"
    __table_args__ = (
        ForeignKeyConstraint(["task_id", "user_id"], ["tasks.id", "tasks.user_id"], ondelete="CASCADE"),
        Index("ix_time_entries_task_id_user_id_started_at", "task_id", "user_id", "started_at"),
        Index("ix_time_entries_user_id_started_at", "user_id", "started_at"),
        # One running timer per person: starting another stops the first.
        Index("uq_time_entries_running", "user_id", unique=True, postgresql_where=text("ended_at IS NULL")),
        CheckConstraint(one_of("source", SOURCES), name="source_valid"),
        CheckConstraint("ended_at IS NULL OR ended_at > started_at", name="ends_after_start"),
        CheckConstraint(
            f"ended_at IS NULL OR ended_at - started_at <= interval '{MAX_ENTRY_HOURS} hours'",
            name="at_most_a_day",
        ),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(16))
