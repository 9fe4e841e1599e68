"""Pure rules about tasks: due moments in the person's time zone, recurrence rules, status and kanban."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from aurum.errors import InvalidInput
from aurum.validation import Checks

KANBAN_OF_STATUS = {"todo": "todo", "in_progress": "in_progress", "review": "review", "completed": "done"}
END_OF_DAY = time(23, 59, 59, 999999)


def due_moment(due_date: date, due_time: time | None, zone: ZoneInfo) -> datetime:
    """When a task falls due: its due time, or the end of its due day, in the person's time zone."""
    return datetime.combine(due_date, due_time or END_OF_DAY, tzinfo=zone)


def is_overdue(
    status: str, due_date: date | None, due_time: time | None, zone: ZoneInfo, now: datetime
) -> bool:
    if status == "completed" or due_date is None:
        return False
    return due_moment(due_date, due_time, zone) < now


def parse_due_time(value: str, field: list[str]) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{field[-1]}' must be a time such as '09:30' or '17:00'", field) from None
    if parsed.tzinfo is not None:
        raise InvalidInput(f"'{field[-1]}' is read in your time zone: leave the offset out", field)
    return parsed.replace(microsecond=0)


@dataclass(frozen=True)
class Recurrence:
    frequency: str
    interval: int = 1
    weekdays: tuple[int, ...] | None = None
    month_day: int | None = None
    end_date: date | None = None
    count: int | None = None

    def columns(self) -> dict[str, object]:
        return {
            "recurrence_frequency": self.frequency,
            "recurrence_interval": self.interval,
            "recurrence_weekdays": list(self.weekdays) if self.weekdays else None,
            "recurrence_month_day": self.month_day,
            "recurrence_end_date": self.end_date,
            "recurrence_count": self.count,
        }


NO_RECURRENCE: dict[str, object] = dict.fromkeys(Recurrence("daily").columns())


def check_recurrence(rule: Recurrence, due_date: date | None, field: list[str]) -> None:
    """Refuse rules that could never produce a sensible next occurrence."""
    checks = Checks()

    def fail(message: str, name: str) -> None:
        checks.errors.append(InvalidInput(message, [*field, name]))

    if due_date is None:
        checks.errors.append(
            InvalidInput("A recurring task needs a due date to repeat from", ["input", "dueDate"])
        )
    if not 1 <= rule.interval <= 365:
        fail("'interval' must be between 1 and 365", "interval")
    if rule.frequency == "weekly" and not rule.weekdays:
        fail("A weekly rule needs at least one weekday", "weekdays")
    if rule.frequency != "weekly" and rule.weekdays:
        fail("Weekdays apply only to a weekly rule", "weekdays")
    if rule.frequency == "monthly" and rule.month_day is None:
        fail(
            "A monthly rule needs the day of the month (1–31; past the month's end means its last day)",
            "monthDay",
        )
    if rule.frequency != "monthly" and rule.month_day is not None:
        fail("'monthDay' applies only to a monthly rule", "monthDay")
    if rule.month_day is not None and not 1 <= rule.month_day <= 31:
        fail("'monthDay' must be between 1 and 31", "monthDay")
    if rule.count is not None and not 1 <= rule.count <= 1000:
        fail("'count' must be between 1 and 1000", "count")
    if rule.end_date is not None and due_date is not None and rule.end_date < due_date:
        fail("'endDate' is before the task's due date", "endDate")
    checks.raise_any()


def status_columns(status: str, now: datetime) -> dict[str, object]:
    """The columns that follow from a status: completion time and kanban column."""
    return {
        "status": status,
        "completed_at": now if status == "completed" else None,
        "kanban_column": KANBAN_OF_STATUS[status],
    }
