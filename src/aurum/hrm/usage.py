"""The per-user monthly ledger of AI model calls (``ai_usage``) and its quota.

A call is counted before it is made, and only while under the quota (one atomic upsert), so concurrent jobs
never overspend. Crossing 80 % of the quota notifies the person once a month (occasion ``YYYY-MM``), and so
does using the last call (occasion ``YYYY-MM:exhausted``): both as QUOTA_WARNING notifications, whose email
follows the person's notification preferences and quiet hours. Each function acts as the user (row-level
security) in a transaction of its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.db import Actor, UnitOfWork, unit_of_work
from aurum.notification.notify import Notified, notify, send_now
from aurum.resources import Resources

WORKER = Actor("worker")
WARNING = "QUOTA_WARNING"

RESERVE = text(
    "INSERT INTO ai_usage AS u (user_id, month, calls) VALUES (:uid, :month, 1) "
    "ON CONFLICT (user_id, month) DO UPDATE "
    "SET calls = u.calls + 1, updated_at = now(), version = u.version + 1 WHERE u.calls < :quota "
    "RETURNING u.calls"
)
TOKENS = text(
    "INSERT INTO ai_usage AS u (user_id, month, input_tokens, output_tokens) VALUES (:uid, :month, :i, :o) "
    "ON CONFLICT (user_id, month) DO UPDATE SET input_tokens = u.input_tokens + :i, "
    "output_tokens = u.output_tokens + :o, updated_at = now(), version = u.version + 1"
)
CACHE_HIT = text(
    "INSERT INTO ai_usage AS u (user_id, month, cached_calls) VALUES (:uid, :month, 1) "
    "ON CONFLICT (user_id, month) DO UPDATE "
    "SET cached_calls = u.cached_calls + 1, updated_at = now(), version = u.version + 1"
)
LEDGER = text(
    "SELECT calls, cached_calls, input_tokens, output_tokens FROM ai_usage "
    "WHERE user_id = :uid AND month = :month"
)
NOTIFIED = text(
    "SELECT EXISTS (SELECT 1 FROM notifications WHERE user_id = :uid AND type = :type "
    "AND subject_id = :uid AND occasion = :occasion)"
)


@dataclass(frozen=True)
class Reservation:
    allowed: bool
    used: int  # calls this month, this one included when allowed
    quota: int
    month: date


@dataclass(frozen=True)
class Usage:
    month: date
    used: int
    quota: int
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def left(self) -> int:
        return max(self.quota - self.used, 0)


def month_of(now: datetime) -> date:
    """The ledger's month: the first day of the calendar month, in UTC."""
    return now.astimezone(UTC).date().replace(day=1)


def warning_threshold(quota: int) -> int:
    """The call that reaches 80 % of the quota, rounded up (under 5 calls: the last one, which says so)."""
    return -(-quota * 4 // 5)


async def reserve_call(
    resources: Resources, user_id: uuid.UUID, now: datetime | None = None, *, quota: int | None = None
) -> Reservation:
    """Count one model call if the person is under this month's quota (default: the setting); notify when
    it crosses 80 % or uses the last call."""
    now = now or datetime.now(UTC)
    quota = resources.settings.ai_monthly_quota if quota is None else quota
    month = month_of(now)
    notified: Notified | None = None
    async with unit_of_work(resources.sessionmaker, user_id, WORKER) as uow:
        params = {"uid": user_id, "month": month, "quota": quota}
        used = await uow.session.scalar(RESERVE, params) if quota > 0 else None
        if used is None:
            row = (await uow.session.execute(LEDGER, params)).first()
            return Reservation(False, row.calls if row else 0, quota, month)
        if used >= warning_threshold(quota):
            notified = await warn(uow, used, quota, month, now)
    if notified is not None:
        resources.announce(user_id)
        await send_now(resources, user_id, notified, now)  # its email now, not at the next minute's scan
    return Reservation(True, used, quota, month)


async def warn(uow: UnitOfWork, used: int, quota: int, month: date, now: datetime) -> Notified | None:
    """Create this month's quota notification (at 80 %, and again when exhausted) unless it exists or the
    person muted the kind."""
    left = quota - used
    if left > 0:
        occasion = f"{month:%Y-%m}"
        title = f"{left} of your {quota} AI calls left this month"
        body = (
            f"You have used {used} of this month's {quota} AI calls; {left} left. When they run out, "
            "the HRM carries on from its rules alone until next month."
        )
    else:
        occasion = f"{month:%Y-%m}:exhausted"
        title = f"All {quota} AI calls used this month"
        body = (
            f"You have used all {quota} AI calls of this month. Until next month the HRM works from its "
            "rules alone, and its insights say so."
        )
    # Every call past 80 % gets here: one cheap look first, rather than the whole of notify() each time.
    if await uow.session.scalar(NOTIFIED, {"uid": uow.user_id, "type": WARNING, "occasion": occasion}):
        return None
    return await notify(uow, WARNING, ("User", uow.user_id), occasion, title, body, now)


async def record_tokens(
    resources: Resources, user_id: uuid.UUID, input_tokens: int, output_tokens: int, *, month: date
) -> None:
    """Add what a call cost to the month it was counted in."""
    async with unit_of_work(resources.sessionmaker, user_id, WORKER) as uow:
        params = {"uid": user_id, "month": month, "i": input_tokens, "o": output_tokens}
        await uow.session.execute(TOKENS, params)


async def record_cache_hit(resources: Resources, user_id: uuid.UUID, now: datetime | None = None) -> None:
    """An answer served from the cache: counted apart, never against the quota."""
    async with unit_of_work(resources.sessionmaker, user_id, WORKER) as uow:
        await uow.session.execute(CACHE_HIT, {"uid": user_id, "month": month_of(now or datetime.now(UTC))})


async def usage_of(
    session: AsyncSession, user_id: uuid.UUID, quota: int, now: datetime | None = None
) -> Usage:
    """This month's ledger for a person, in a transaction acting as them."""
    month = month_of(now or datetime.now(UTC))
    row = (await session.execute(LEDGER, {"uid": user_id, "month": month})).first()
    if row is None:
        return Usage(month, 0, quota)
    return Usage(month, row.calls, quota, row.cached_calls, row.input_tokens, row.output_tokens)
