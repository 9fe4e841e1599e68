"""The every-minute notification scan and the daily purge (ARQ cron jobs).

A definer function lists the users with something to notify; the scan then acts as each of them (row-level
security applies) and inserts every kind of notification with ``ON CONFLICT DO NOTHING`` on the dedupe key
``(user_id, type, subject_id, occasion)``, so each fires once however often the scan runs, then queues the
emails that are due (quiet hours deferred them to their end). Every function takes ``now`` for tests.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import func, select, text

from aurum.db import Actor, unit_of_work
from aurum.notification import email
from aurum.notification.service import RETENTION, Preferences, email_time, preferences_of
from aurum.project.model import UNDER_WAY_STATUSES
from aurum.resources import Resources

log = structlog.get_logger(__name__)

OPEN = "t.status NOT IN ('completed', 'skipped')"
# As `today` asks it: the task's project is planning or active, and nothing above it is archived. Reminders
# were asked for and come regardless.
UNDER_WAY = (
    "EXISTS (SELECT 1 FROM projects up JOIN areas ua ON ua.id = up.area_id"
    " JOIN pillars ul ON ul.id = ua.pillar_id"
    f" WHERE up.id = t.project_id AND up.status IN ({', '.join(repr(s) for s in UNDER_WAY_STATUSES)})"
    " AND NOT (up.archived OR ua.archived OR ul.archived))"
)
# The moment a task is due, in the user's zone: at its due time, or when its due day is over.
DUE_AT = (
    "(CASE WHEN t.due_time IS NOT NULL THEN (t.due_date + t.due_time) AT TIME ZONE :zone "
    "ELSE (t.due_date + 1)::timestamp AT TIME ZONE :zone END)"
)
# How a due moment reads: the due day as the person set it ("23 Nov 2026", English month names whatever the
# server's locale) and, with a due time, that time: both are already the person's wall clock. DUE_AT is only
# for comparing with now (for a date-only task it is the next midnight, which must never be shown).
LOCAL_TODAY = "(:now AT TIME ZONE :zone)::date"


def day_text(day: str) -> str:
    return f"to_char({day}, 'FMDD Mon YYYY')"


def at_time(clock: str | None) -> str:
    """SQL text appending ' at 15:00' when the time column ``clock`` is set."""
    return f" || coalesce(' at ' || left({clock}::text, 5), '')" if clock else ""


def due_on(day: str, clock: str | None = None) -> str:
    """SQL text: 'on 23 Nov 2026', then the time if set."""
    return f"('on ' || {day_text(day)}{at_time(clock)})"


def due_when(day: str, clock: str | None = None) -> str:
    """SQL text for a moment ahead: 'today (23 Nov 2026)', 'tomorrow (…)' or 'on …', then the time if set
    (the date stays for a message read on a later day)."""
    date = day_text(day)
    return (
        f"(CASE WHEN {day} = {LOCAL_TODAY} THEN 'today (' || {date} || ')' "
        f"WHEN {day} = {LOCAL_TODAY} + 1 THEN 'tomorrow (' || {date} || ')' "
        f"ELSE 'on ' || {date} END{at_time(clock)})"
    )


TASK_DUE_WHEN = due_when("t.due_date", "t.due_time")
TASK_DUE_ON = due_on("t.due_date", "t.due_time")
# A reminder says when its task is (or was) due, if it has a due date.
REMINDER_DUE = (
    f"coalesce(CASE WHEN {DUE_AT} <= :now THEN ' It was due ' || {TASK_DUE_ON} "
    f"ELSE ' It is due ' || {TASK_DUE_WHEN} END || '.', '')"
)
INSERT = (
    "INSERT INTO notifications "
    "(user_id, type, title, body, subject_type, subject_id, occasion, scheduled_for, read_at) "
)
ON_CONFLICT = " ON CONFLICT (user_id, type, subject_id, occasion) DO NOTHING"
VALUES = "CAST(:email_at AS timestamptz), CAST(:read_at AS timestamptz)"

KINDS: dict[str, str] = {
    "TASK_REMINDER": f"""SELECT t.user_id, 'TASK_REMINDER', left('Reminder: ' || t.name, 200),
        'It is time for "' || t.name || '".' || {REMINDER_DUE}, 'Task', t.id,
        to_char(t.reminder_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), {VALUES}
      FROM tasks t WHERE t.user_id = :uid AND {OPEN} AND t.reminder_at IS NOT NULL
        AND t.reminder_at - make_interval(mins => :lead) <= :now
        AND t.reminder_at > :now - interval '7 days'""",
    "TASK_DUE": f"""SELECT t.user_id, 'TASK_DUE', left('Due soon: ' || t.name, 200),
        '"' || t.name || '" is due ' || {TASK_DUE_WHEN} || '.',
        'Task', t.id, t.due_date::text || coalesce(' ' || t.due_time::text, ''), {VALUES}
      FROM tasks t WHERE t.user_id = :uid AND {OPEN} AND {UNDER_WAY} AND t.due_date IS NOT NULL
        AND {DUE_AT} > :now AND {DUE_AT} <= :now + make_interval(hours => :hours)""",
    "TASK_OVERDUE": f"""SELECT t.user_id, 'TASK_OVERDUE', left('Overdue: ' || t.name, 200),
        '"' || t.name || '" was due ' || {TASK_DUE_ON} || '.',
        'Task', t.id, '', {VALUES}
      FROM tasks t WHERE t.user_id = :uid AND {OPEN} AND {UNDER_WAY}
        AND t.due_date IS NOT NULL AND {DUE_AT} <= :now""",
    "PROJECT_DEADLINE": f"""SELECT p.user_id, 'PROJECT_DEADLINE',
        left(CASE WHEN p.deadline = l.today THEN 'Deadline today: ' ELSE 'Deadline tomorrow: ' END
             || p.name, 200),
        'The project "' || p.name || '" is due ' || {due_when("p.deadline")} || '.', 'Project', p.id,
        p.deadline::text || CASE WHEN p.deadline = l.today THEN '/today' ELSE '/tomorrow' END, {VALUES}
      FROM projects p, (SELECT (:now AT TIME ZONE :zone)::date AS today) l
      WHERE p.user_id = :uid AND NOT p.archived AND p.status NOT IN ('completed', 'cancelled')
        AND p.deadline IN (l.today, l.today + 1)""",
    # Open tasks whose dependencies are all completed, the last of them lately and after it was added.
    "UNBLOCKED_TASK": f"""SELECT t.user_id, 'UNBLOCKED_TASK', left('Ready to start: ' || t.name, 200),
        'Everything "' || t.name || '" waited for is done.', 'Task', t.id, '', {VALUES}
      FROM tasks t WHERE t.user_id = :uid AND {OPEN} AND {UNDER_WAY}
        AND EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks p ON p.id = d.depends_on_id
                    WHERE d.task_id = t.id AND p.completed_at > d.created_at
                      AND p.completed_at > :now - interval '1 day')
        AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks p ON p.id = d.depends_on_id
                        WHERE d.task_id = t.id AND p.status <> 'completed')""",
}
STATEMENTS = {
    kind: text(INSERT + body.replace(":now", "CAST(:now AS timestamptz)") + ON_CONFLICT)
    for kind, body in KINDS.items()
}
CANDIDATES = text("SELECT user_id, timezone, email FROM aurum_notification_candidates(:now)")
DUE_EMAILS = text(
    "UPDATE notifications SET sent_at = :now "
    "WHERE user_id = :uid AND sent_at IS NULL AND scheduled_for <= :now RETURNING title, body"
)
DROP_EMAILS = text(
    "UPDATE notifications SET scheduled_for = NULL WHERE user_id = :uid AND sent_at IS NULL "
    "AND scheduled_for IS NOT NULL"
)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def notify_user(
    resources: Resources, user_id: uuid.UUID, zone: ZoneInfo, address: str, now: datetime
) -> int:
    """Insert whatever is due for one user, as that user; then queue their due emails. Returns the number
    of notifications created."""
    created = 0
    async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
        preferences: Preferences = await preferences_of(uow.session, user_id)
        params: dict[str, Any] = {
            "uid": user_id,
            "now": now,
            "zone": zone.key,
            "email_at": email_time(now, zone, preferences) if preferences.email_enabled else None,
            "read_at": None if preferences.in_app_enabled else now,
            "lead": preferences.reminder_lead_minutes,
            "hours": preferences.due_soon_hours,
        }
        for kind, statement in STATEMENTS.items():
            if preferences.wants(kind):
                result = await uow.session.execute(statement, params)
                created += int(getattr(result, "rowcount", 0) or 0)
        if preferences.email_enabled:
            due = (await uow.session.execute(DUE_EMAILS, {"uid": user_id, "now": now})).all()
        else:
            await uow.session.execute(DROP_EMAILS, {"uid": user_id})
            due = []
    if due:
        await email.send(resources, address, due)
    return created


async def scan_notifications(ctx: dict[str, Any], now: datetime | None = None) -> int:
    """Every minute: reminders, due soon, overdue, project deadlines, unblocked tasks, and deferred emails."""
    resources: Resources = ctx["resources"]
    now = now or datetime.now(UTC)
    async with resources.sessionmaker() as session, session.begin():
        users = (await session.execute(CANDIDATES, {"now": now})).all()
    created = 0
    for user_id, timezone, address in users:
        try:
            created += await notify_user(resources, user_id, zone_of(timezone), address, now)
        except Exception:  # one user's failure must not starve the others
            log.exception("notification scan failed for a user", user_id=str(user_id))
    if created:
        log.info("notifications created", rows=created, users=len(users))
    return created


async def purge_notifications(ctx: dict[str, Any], now: datetime | None = None) -> int:
    """Hourly: delete notifications older than 30 days, for every user at once."""
    resources: Resources = ctx["resources"]
    before = (now or datetime.now(UTC)) - RETENTION
    async with resources.sessionmaker() as session, session.begin():
        purged = int(await session.scalar(select(func.aurum_purge_notifications(before))) or 0)
    log.info("old notifications purged", rows=purged)
    return purged
