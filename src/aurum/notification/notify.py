"""One notification made now by the app itself (an insight, a quota warning), with the person's preferences
applied as the scheduled kinds have them: muted kinds are not made, in-app off stores it read, email waits for
the end of quiet hours. Once per subject and occasion."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import text

from aurum.db import UnitOfWork
from aurum.notification.scheduler import INSERT, ON_CONFLICT, VALUES, notify_user, zone_of
from aurum.notification.service import email_time, preferences_of
from aurum.resources import Resources

log = structlog.get_logger(__name__)

NOTIFY = text(
    INSERT
    + f"VALUES (:uid, :type, :title, :body, :subject_type, :subject_id, :occasion, {VALUES})"
    + ON_CONFLICT
)
ACCOUNT = text("SELECT timezone::text, email::text FROM users WHERE id = :uid")


@dataclass(frozen=True)
class Notified:
    """A notification was made; whether its email may go now, and where."""

    zone: ZoneInfo
    address: str
    email_now: bool


async def notify(
    uow: UnitOfWork,
    kind: str,
    subject: tuple[str, uuid.UUID],
    occasion: str,
    title: str,
    body: str,
    now: datetime,
) -> Notified | None:
    """Make the notification unless the person muted its kind or it exists for this subject and occasion."""
    session, user_id = uow.session, uow.user_id
    preferences = await preferences_of(session, user_id)
    if not preferences.wants(kind):
        return None
    zone_name, address = (await session.execute(ACCOUNT, {"uid": user_id})).one()
    zone = zone_of(zone_name)
    email_at = email_time(now, zone, preferences) if preferences.email_enabled else None
    params = {
        "uid": user_id,
        "type": kind,
        "title": title[:200],
        "body": body,
        "subject_type": subject[0],
        "subject_id": subject[1],
        "occasion": occasion,
        "email_at": email_at,
        "read_at": None if preferences.in_app_enabled else now,
    }
    created = await session.execute(NOTIFY, params)
    if not getattr(created, "rowcount", 0):
        return None
    return Notified(zone, str(address), email_now=email_at is not None and email_at <= now)


async def send_now(resources: Resources, user_id: uuid.UUID, notified: Notified, now: datetime) -> None:
    """After commit: send its email through the scan's own step; if that fails, the next scan sends it."""
    if not notified.email_now:
        return
    try:
        await notify_user(resources, user_id, notified.zone, notified.address, now)
    except Exception:
        log.warning("notification email not sent now; the scan will", exc_info=True)
