from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import PRIORITIES, Base, UserOwned, one_of
from aurum.search.vector import search_index, search_vector

TASK_STATUSES = ("todo", "in_progress", "review", "completed", "skipped")
# Statuses that close a task: nothing more to do about it (a skipped occurrence of a recurring task is closed
# without having been done).
CLOSED_STATUSES = ("completed", "skipped")
KANBAN_COLUMNS = ("todo", "in_progress", "review", "done")
ENERGIES = ("low", "medium", "high")
CATEGORIES = ("deep_work", "creative", "admin", "communication", "errand", "other")
FREQUENCIES = ("daily", "weekly", "monthly")


class Task(UserOwned, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        UniqueConstraint("id", "project_id"),
        ForeignKeyConstraint(
            ["project_id", "user_id"], ["projects.id", "projects.user_id"], ondelete="CASCADE"
        ),
        # A subtask lives in its parent's project; moving the parent carries its subtasks along.
        ForeignKeyConstraint(
            ["parent_id", "project_id"],
            ["tasks.id", "tasks.project_id"],
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        Index("ix_tasks_project_list", "project_id", "user_id", "sort_order", "id"),
        Index("ix_tasks_parent_list", "parent_id", "project_id", "sort_order", "id"),
        Index("ix_tasks_user_list", "user_id", "sort_order", "id"),
        Index("ix_tasks_user_due", "user_id", "due_date", "id"),
        # The recent completions the priority scores weigh (aurum.hrm.partial.effort).
        Index(
            "ix_tasks_user_completed",
            "user_id",
            "completed_at",
            postgresql_where=text("completed_at IS NOT NULL"),
        ),
        search_index("tasks"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint(one_of("status", TASK_STATUSES), name="status_valid"),
        CheckConstraint(one_of("priority", PRIORITIES), name="priority_valid"),
        CheckConstraint(one_of("kanban_column", KANBAN_COLUMNS), name="kanban_column_valid"),
        CheckConstraint(f"energy IS NULL OR {one_of('energy', ENERGIES)}", name="energy_valid"),
        CheckConstraint(f"category IS NULL OR {one_of('category', CATEGORIES)}", name="category_valid"),
        CheckConstraint("(status = 'completed') = (completed_at IS NOT NULL)", name="completed_at_set"),
        CheckConstraint("due_time IS NULL OR due_date IS NOT NULL", name="due_time_needs_date"),
        CheckConstraint(
            "estimated_minutes IS NULL OR estimated_minutes BETWEEN 1 AND 10080", name="estimate_range"
        ),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        CheckConstraint(
            "(scheduled_start IS NULL) = (scheduled_end IS NULL) AND "
            "(scheduled_end IS NULL OR scheduled_end > scheduled_start)",
            name="scheduled_span",
        ),
        CheckConstraint(
            f"recurrence_frequency IS NULL OR {one_of('recurrence_frequency', FREQUENCIES)}",
            name="recurrence_frequency_valid",
        ),
        CheckConstraint(
            "recurrence_frequency IS NOT NULL OR (recurrence_interval IS NULL AND recurrence_weekdays IS NULL"
            " AND recurrence_month_day IS NULL AND recurrence_end_date IS NULL AND recurrence_count IS NULL)",
            name="recurrence_fields_need_frequency",
        ),
        CheckConstraint(
            "recurrence_interval IS NULL OR recurrence_interval BETWEEN 1 AND 365", name="interval_range"
        ),
        CheckConstraint(
            "recurrence_month_day IS NULL OR recurrence_month_day BETWEEN 1 AND 31", name="month_day_range"
        ),
        CheckConstraint(
            "recurrence_count IS NULL OR recurrence_count BETWEEN 1 AND 1000", name="count_range"
        ),
        CheckConstraint(
            "recurrence_weekdays IS NULL OR recurrence_weekdays <@ ARRAY[0,1,2,3,4,5,6]::smallint[]",
            name="weekdays_valid",
        ),
        # The occurrences of a recurring task: one per number in each series, so completing an occurrence
        # twice (a retry, a race, reopening) can never make its next occurrence twice.
        UniqueConstraint("recurrence_series_id", "recurrence_index"),
        CheckConstraint(
            "(recurrence_series_id IS NULL) = (recurrence_index IS NULL)", name="recurrence_series_complete"
        ),
        CheckConstraint(
            "recurrence_index IS NULL OR recurrence_index >= 1", name="recurrence_index_positive"
        ),
        CheckConstraint(
            "recurrence_frequency IS NULL OR recurrence_series_id IS NOT NULL", name="recurring_in_series"
        ),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    search_vector: Mapped[str] = search_vector()
    status: Mapped[str] = mapped_column(String(16), server_default=text("'todo'"))
    priority: Mapped[str] = mapped_column(String(16), server_default=text("'medium'"))
    kanban_column: Mapped[str] = mapped_column(String(16), server_default=text("'todo'"))
    due_date: Mapped[date | None] = mapped_column(Date)
    due_time: Mapped[time | None] = mapped_column(Time)
    reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    start_date: Mapped[date | None] = mapped_column(Date)
    defer_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    estimated_minutes: Mapped[int | None] = mapped_column(Integer)
    energy: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(16))
    subtasks_required: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    recurrence_frequency: Mapped[str | None] = mapped_column(String(16))
    recurrence_interval: Mapped[int | None] = mapped_column(Integer)
    recurrence_weekdays: Mapped[list[int] | None] = mapped_column(ARRAY(SmallInteger))
    recurrence_month_day: Mapped[int | None] = mapped_column(Integer)
    recurrence_end_date: Mapped[date | None] = mapped_column(Date)
    recurrence_count: Mapped[int | None] = mapped_column(Integer)
    recurrence_series_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recurrence_index: Mapped[int | None] = mapped_column(Integer)


class TaskDependency(Base):
    """``task_id`` cannot start before ``depends_on_id`` is completed."""

    __tablename__ = "task_dependencies"
    __table_args__ = (
        ForeignKeyConstraint(["task_id", "user_id"], ["tasks.id", "tasks.user_id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["depends_on_id", "user_id"], ["tasks.id", "tasks.user_id"], ondelete="CASCADE"),
        Index("ix_task_dependencies_depends_on", "depends_on_id", "user_id"),
        Index("ix_task_dependencies_user", "user_id", "task_id"),
        CheckConstraint("task_id <> depends_on_id", name="not_self"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    depends_on_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
