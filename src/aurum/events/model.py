"""The change log: one row per change of a user's data, written by triggers in the changing transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, one_of

OPERATIONS = ("CREATED", "UPDATED", "DELETED", "ARCHIVED")
ACTORS = ("user", "api_key", "worker", "system")


class Event(Base):
    """Append-only; doubles as the audit log. ``id`` is the cursor subscribers resume from."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_user_id_id", "user_id", "id"),
        Index("ix_events_unpublished", "id", postgresql_where=text("published_at IS NULL")),
        Index("ix_events_occurred_at", "occurred_at"),
        CheckConstraint(one_of("operation", OPERATIONS), name="operation_valid"),
        CheckConstraint(one_of("actor_type", ACTORS), name="actor_valid"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    operation: Mapped[str] = mapped_column(String(10))
    changed_fields: Mapped[list[str]] = mapped_column(ARRAY(String(63)), server_default=text("'{}'"))
    actor_type: Mapped[str] = mapped_column(String(10), server_default=text("'system'"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    request_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
