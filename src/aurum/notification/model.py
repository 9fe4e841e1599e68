"""Notifications (in-app, optionally emailed) and each user's notification preferences."""

from __future__ import annotations

import uuid
from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, UserOwned, one_of

NOTIFICATION_TYPES = (
    "TASK_REMINDER",
    "TASK_DUE",
    "TASK_OVERDUE",
    "PROJECT_DEADLINE",
    "UNBLOCKED_TASK",
    "RECURRING_TASK",
    "INSIGHT",
    "QUOTA_WARNING",
)


class Notification(UserOwned, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # Each kind fires once per subject and occasion (a reminder time, a due date …): inserts use
        # ON CONFLICT DO NOTHING on this key.
        UniqueConstraint("user_id", "type", "subject_id", "occasion", name="uq_notifications_dedupe"),
        Index("ix_notifications_user_list", "user_id", "created_at", "id"),
        Index("ix_notifications_user_pending_email", "user_id", "scheduled_for"),
        CheckConstraint(one_of("type", NOTIFICATION_TYPES), name="type_valid"),
        CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="title_length"),
    )

    type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, server_default=text("''"))
    # What it is about: a global-id type name and a row id (no foreign key: it may be any kind, and a
    # notification outlives a deleted subject, which then reads as null).
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    occasion: Mapped[str] = mapped_column(String(64), server_default=text("''"))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When its email is (or was) due: null when no email is wanted. Quiet hours push it to their end.
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationPreferences(UserOwned, Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", name="uq_notification_preferences_user_id"),
        CheckConstraint("reminder_lead_minutes BETWEEN 0 AND 1440", name="lead_range"),
        CheckConstraint("due_soon_hours BETWEEN 1 AND 168", name="due_soon_range"),
    )

    email_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    in_app_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    muted_types: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'"))
    quiet_hours_start: Mapped[time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time)
    reminder_lead_minutes: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    due_soon_hours: Mapped[int] = mapped_column(Integer, server_default=text("24"))
