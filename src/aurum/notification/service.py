"""Notifications without GraphQL: preferences, quiet hours, marking read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aurum import crud
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput, NotFound
from aurum.models import table_of
from aurum.notification.model import NOTIFICATION_TYPES, Notification, NotificationPreferences

NOTIFICATIONS = table_of(Notification)
PREFERENCES = table_of(NotificationPreferences)
MAX_MARK_READ = 100
RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class Preferences:
    email_enabled: bool = False
    in_app_enabled: bool = True
    muted_types: frozenset[str] = field(default_factory=frozenset)
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    reminder_lead_minutes: int = 0
    due_soon_hours: int = 24

    @classmethod
    def of(cls, row: Any | None) -> Preferences:
        if row is None:
            return cls()
        return cls(
            email_enabled=row.email_enabled,
            in_app_enabled=row.in_app_enabled,
            muted_types=frozenset(row.muted_types),
            quiet_hours_start=row.quiet_hours_start,
            quiet_hours_end=row.quiet_hours_end,
            reminder_lead_minutes=row.reminder_lead_minutes,
            due_soon_hours=row.due_soon_hours,
        )

    def wants(self, kind: str) -> bool:
        return kind not in self.muted_types and (self.in_app_enabled or self.email_enabled)


def quiet_until(now: datetime, zone: ZoneInfo, start: time | None, end: time | None) -> datetime | None:
    """The end of the quiet window ``now`` falls in (as UTC), or None outside quiet hours. Windows are wall
    clock times in ``zone`` and may wrap midnight (22:00–07:00); equal ends mean no quiet hours."""
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    day = local.date()
    if start < end:
        if not start <= clock < end:
            return None
    elif clock >= start:
        day += timedelta(days=1)
    elif clock >= end:
        return None
    ends = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
    # A window ending inside a spring-forward gap ends when the clock reaches it: never before now.
    return ends if ends > now else None


def email_time(now: datetime, zone: ZoneInfo, preferences: Preferences) -> datetime:
    """When an email made now may go: now, or the end of the quiet window."""
    return quiet_until(now, zone, preferences.quiet_hours_start, preferences.quiet_hours_end) or now


async def preferences_of(session: AsyncSession, user_id: uuid.UUID) -> Preferences:
    row = (await session.execute(select(PREFERENCES).where(PREFERENCES.c.user_id == user_id))).first()
    return Preferences.of(row)


def check_preferences(values: dict[str, Any]) -> dict[str, Any]:
    """Validated column values from the provided input fields (types: the enabled ones)."""
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name == "types":
            if value is None:
                raise InvalidInput("'types' cannot be null (send [] to mute every kind)", ["input", "types"])
            enabled = {getattr(v, "value", v) for v in value}
            checked["muted_types"] = sorted(set(NOTIFICATION_TYPES) - enabled)
        elif name in ("email_enabled", "in_app_enabled"):
            if value is None:
                raise InvalidInput(f"'{name}' cannot be null", ["input", camel(name)])
            checked[name] = value
        elif name == "reminder_lead_minutes":
            if value is None or not 0 <= value <= 1440:
                raise InvalidInput("'reminderLeadMinutes' must be 0–1440", ["input", "reminderLeadMinutes"])
            checked[name] = value
        elif name == "due_soon_hours":
            if value is None or not 1 <= value <= 168:
                raise InvalidInput("'dueSoonHours' must be 1–168", ["input", "dueSoonHours"])
            checked[name] = value
        else:  # quiet hours: a time or null
            checked[name] = wall_clock(value, ["input", camel(name)])
    return checked


def wall_clock(value: time | None, field: list[str]) -> time | None:
    """A quiet-hours end: a time of day on the person's own clock, so an offset has no meaning there."""
    if value is None:
        return None
    if value.tzinfo is not None:
        raise InvalidInput(f"'{field[-1]}' is read in your time zone: leave the offset out", field)
    return value.replace(microsecond=0)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def update_preferences(uow: UnitOfWork, values: dict[str, Any]) -> None:
    checked = check_preferences(values)
    await crud.upsert_own_row(uow, PREFERENCES, checked)
    row = (await uow.session.execute(select(PREFERENCES).where(PREFERENCES.c.user_id == uow.user_id))).one()
    if (row.quiet_hours_start is None) != (row.quiet_hours_end is None):
        raise InvalidInput("Give both ends of the quiet hours, or neither", ["input", "quietHoursEnd"])
    # Checked only when they change, so an unrelated update is not refused over a pair saved before.
    changed = {"quiet_hours_start", "quiet_hours_end"} & checked.keys()
    if changed and row.quiet_hours_start is not None and row.quiet_hours_start == row.quiet_hours_end:
        field = "quietHoursStart" if changed == {"quiet_hours_start"} else "quietHoursEnd"
        raise InvalidInput(
            "Quiet hours must start and end at different times (for none, set both to null)",
            ["input", field],
        )


async def mark_read(uow: UnitOfWork, ids: list[uuid.UUID]) -> int:
    if len(ids) > MAX_MARK_READ:
        raise InvalidInput(f"Mark at most {MAX_MARK_READ} notifications at once", ["input", "ids"])
    wanted = set(ids)
    found = set(
        (
            await uow.session.scalars(
                select(NOTIFICATIONS.c.id).where(
                    NOTIFICATIONS.c.user_id == uow.user_id, NOTIFICATIONS.c.id.in_(wanted)
                )
            )
        ).all()
    )
    if wanted - found:
        raise NotFound("No Notification with this id", ["input", "ids"])
    result = await uow.session.execute(
        update(NOTIFICATIONS)
        .where(NOTIFICATIONS.c.id.in_(found), NOTIFICATIONS.c.read_at.is_(None))
        .values(read_at=func.now(), updated_at=func.now(), version=NOTIFICATIONS.c.version + 1)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def mark_all_read(uow: UnitOfWork) -> int:
    result = await uow.session.execute(
        update(NOTIFICATIONS)
        .where(NOTIFICATIONS.c.user_id == uow.user_id, NOTIFICATIONS.c.read_at.is_(None))
        .values(read_at=func.now(), updated_at=func.now(), version=NOTIFICATIONS.c.version + 1)
    )
    return int(getattr(result, "rowcount", 0) or 0)
