from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, UserOwned, one_of

KINDS = ("upload", "subscription")
MAX_CALENDAR_BYTES = 5 * 1024 * 1024


class Calendar(UserOwned, Base):
    """A calendar whose events are busy time: an uploaded file, or a URL refreshed by a job. Its last good
    text is kept whole, so recurring series are expanded for whatever days a plan asks."""

    __tablename__ = "calendars"
    __table_args__ = (
        Index("ix_calendars_user_id_created_at", "user_id", "created_at"),
        Index("ix_calendars_refreshed_at", "refreshed_at"),
        CheckConstraint(one_of("kind", KINDS), name="kind_valid"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint("(kind = 'subscription') = (url IS NOT NULL)", name="url_for_subscriptions"),
        CheckConstraint(f"octet_length(content) <= {MAX_CALENDAR_BYTES}", name="content_size"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    event_count: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    refresh_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class CalendarFeed(UserOwned, Base):
    """A private address calendar apps subscribe to: the token is in its URL, kept here as its SHA-256."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (Index("ix_calendar_feeds_user_id_created_at", "user_id", "created_at"),)

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    prefix: Mapped[str] = mapped_column(String(24))
    last_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
