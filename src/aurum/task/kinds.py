"""The kinds a task's fields take over GraphQL: status, kanban column, energy, category, recurrence."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

import strawberry

from aurum.task import rules


@strawberry.enum(description="Where a task stands.")
class TaskStatus(Enum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"
    COMPLETED = "completed"
    SKIPPED = strawberry.enum_value(
        "skipped",
        description="An occurrence of a recurring task closed without being done (taskSkip); it counts as "
        "neither open nor completed, and shows in the DONE column.",
    )


@strawberry.enum(description="The kanban column a task shows in; it follows the status.")
class KanbanColumn(Enum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"
    DONE = "done"


@strawberry.enum(description="How much energy a task takes.")
class Energy(Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@strawberry.enum(description="The kind of work a task is.")
class TaskCategory(Enum):
    DEEP_WORK = "deep_work"
    CREATIVE = "creative"
    ADMIN = "admin"
    COMMUNICATION = "communication"
    ERRAND = "errand"
    OTHER = "other"


@strawberry.enum(description="How often a task repeats.")
class Frequency(Enum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@strawberry.enum(description="A day of the week.")
class Weekday(Enum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


@strawberry.type(description="How a task repeats.")
class Recurrence:
    frequency: Frequency = strawberry.field(description="Daily, weekly or monthly.")
    interval: int = strawberry.field(description="Every N days, weeks or months.")
    weekdays: list[Weekday] | None = strawberry.field(description="For weekly rules: on these days.")
    month_day: int | None = strawberry.field(
        description="For monthly rules: this day (clamped to month end)."
    )
    end_date: date | None = strawberry.field(description="No occurrence after this date.")
    count: int | None = strawberry.field(description="At most this many occurrences.")


@strawberry.input(description="How a task repeats.")
class RecurrenceInput:
    frequency: Frequency = strawberry.field(description="Daily, weekly or monthly.")
    interval: int = strawberry.field(default=1, description="Every N days, weeks or months (1–365).")
    weekdays: list[Weekday] | None = strawberry.field(
        default=None, description="Weekly rules: on these days."
    )
    month_day: int | None = strawberry.field(
        default=None, description="Monthly rules: 1–31, clamped to month end."
    )
    end_date: date | None = strawberry.field(default=None, description="No occurrence after this date.")
    count: int | None = strawberry.field(default=None, description="At most this many occurrences (1–1000).")

    def to_rule(self) -> rules.Recurrence:
        return rules.Recurrence(
            frequency=self.frequency.value,
            interval=self.interval,
            weekdays=tuple(sorted({w.value for w in self.weekdays})) if self.weekdays else None,
            month_day=self.month_day,
            end_date=self.end_date,
            count=self.count,
        )


def recurrence_of(row: Any) -> Recurrence | None:
    if row.recurrence_frequency is None:
        return None
    return Recurrence(
        frequency=Frequency(row.recurrence_frequency),
        interval=row.recurrence_interval or 1,
        weekdays=[Weekday(d) for d in row.recurrence_weekdays] if row.recurrence_weekdays else None,
        month_day=row.recurrence_month_day,
        end_date=row.recurrence_end_date,
        count=row.recurrence_count,
    )
