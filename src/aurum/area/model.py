from __future__ import annotations

import uuid

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Archivable, Base, UserOwned
from aurum.search.vector import search_index, search_vector


class Area(Archivable, UserOwned, Base):
    __tablename__ = "areas"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        # The composite key makes "an area belongs to a pillar of the same user" a database fact.
        ForeignKeyConstraint(["pillar_id", "user_id"], ["pillars.id", "pillars.user_id"], ondelete="CASCADE"),
        Index("ix_areas_pillar_list", "pillar_id", "user_id", "sort_order", "id"),
        Index("ix_areas_user_list", "user_id", "archived", "sort_order", "id"),
        search_index("areas"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint("importance BETWEEN 1 AND 5", name="importance_range"),
        CheckConstraint("archived = (archived_at IS NOT NULL)", name="archived_at_set"),
    )

    pillar_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    icon: Mapped[str | None] = mapped_column(String(64))
    color: Mapped[str | None] = mapped_column(String(32))
    importance: Mapped[int] = mapped_column(Integer, server_default=text("3"))
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    search_vector: Mapped[str] = search_vector()
