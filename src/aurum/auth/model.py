from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, Timestamped


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
        Index("uq_users_username_lower", func.lower(text("username")), unique=True),
        CheckConstraint("char_length(email) BETWEEN 3 AND 320", name="email_length"),
        CheckConstraint("char_length(display_name) BETWEEN 1 AND 100", name="display_name_length"),
        CheckConstraint(
            "monthly_alignment_goal IS NULL OR monthly_alignment_goal BETWEEN 1 AND 100000", name="goal_range"
        ),
    )

    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(100))
    username: Mapped[str | None] = mapped_column(String(50))
    timezone: Mapped[str] = mapped_column(String(64), server_default=text("'UTC'"))
    onboarding_completed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    monthly_alignment_goal: Mapped[int | None] = mapped_column(Integer)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
