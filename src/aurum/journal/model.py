"""Journal entries and the user's own journal templates (the built-in ones are code: ``templates.py``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, UserOwned, one_of
from aurum.search.vector import search_index, search_vector

TEMPLATE_TYPES = (
    "daily_reflection",
    "gratitude",
    "goal_setting",
    "weekly_review",
    "mood_tracker",
    "learning_log",
    "creative_writing",
    "problem_solving",
    "habit_tracker",
    "custom",
)
SENTIMENT_LABELS = ("positive", "neutral", "negative")
SENTIMENT_SOURCES = ("rules", "llm")


class JournalTemplate(UserOwned, Base):
    __tablename__ = "journal_templates"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        Index("ix_journal_templates_user_list", "user_id", "name", "id"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint(one_of("type", TEMPLATE_TYPES), name="type_valid"),
    )

    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40), server_default=text("'custom'"))
    description: Mapped[str | None] = mapped_column(Text)
    prompts: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    default_tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default=text("'{}'"))


class JournalEntry(UserOwned, Base):
    __tablename__ = "journal_entries"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        Index("ix_journal_entries_user_list", "user_id", "created_at", "id"),
        Index("ix_journal_entries_template_id", "template_id"),
        search_index("journal_entries"),
        CheckConstraint("char_length(title) <= 200", name="title_length"),
        CheckConstraint("char_length(content) <= 100000", name="content_length"),
        CheckConstraint("mood IS NULL OR mood BETWEEN 1 AND 5", name="mood_range"),
        CheckConstraint("energy IS NULL OR energy BETWEEN 1 AND 5", name="energy_range"),
        CheckConstraint("cardinality(tags) <= 20", name="tags_count"),
        CheckConstraint(
            f"builtin_template IS NULL OR {one_of('builtin_template', TEMPLATE_TYPES)}",
            name="builtin_template_valid",
        ),
        CheckConstraint("template_id IS NULL OR builtin_template IS NULL", name="one_template"),
        CheckConstraint(
            f"sentiment_label IS NULL OR {one_of('sentiment_label', SENTIMENT_LABELS)}",
            name="sentiment_label_valid",
        ),
        CheckConstraint(
            f"sentiment_source IS NULL OR {one_of('sentiment_source', SENTIMENT_SOURCES)}",
            name="sentiment_source_valid",
        ),
    )

    title: Mapped[str] = mapped_column(String(200), server_default=text("''"))
    content: Mapped[str] = mapped_column(Text, server_default=text("''"))
    mood: Mapped[int | None] = mapped_column(SmallInteger)
    energy: Mapped[int | None] = mapped_column(SmallInteger)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default=text("'{}'"))
    # A user template (the row goes: the entry keeps its answers) or a built-in one (its type).
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("journal_templates.id", ondelete="SET NULL")
    )
    builtin_template: Mapped[str | None] = mapped_column(String(40))
    template_answers: Mapped[Any | None] = mapped_column(JSONB)
    word_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    sentiment_keywords: Mapped[list[str] | None] = mapped_column(ARRAY(String(50)))
    sentiment_themes: Mapped[list[str] | None] = mapped_column(ARRAY(String(50)))
    sentiment_source: Mapped[str | None] = mapped_column(String(10))
    trashed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search_vector: Mapped[str] = search_vector("title", "content", "template_answers")
