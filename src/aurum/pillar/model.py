from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Archivable, Base, UserOwned
from aurum.search.vector import search_index, search_vector


class Pillar(Archivable, UserOwned, Base):
    __tablename__ = "pillars"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        Index("ix_pillars_user_list", "user_id", "archived", "sort_order", "id"),
        search_index("pillars"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint(
            "time_allocation IS NULL OR time_allocation BETWEEN 0 AND 100", name="time_allocation_range"
        ),
        CheckConstraint("archived = (archived_at IS NOT NULL)", name="archived_at_set"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    icon: Mapped[str | None] = mapped_column(String(64))
    color: Mapped[str | None] = mapped_column(String(32))
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    time_allocation: Mapped[int | None] = mapped_column(Integer)
    vision_statement: Mapped[str | None] = mapped_column(Text)
    search_vector: Mapped[str] = search_vector()
