from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, Timestamped, UserOwned, one_of

SIGN_IN_METHODS = ("password", "google", "reset")


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
    google_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    # When the person last proved they receive mail at ``email`` (Google sign-in, a password reset).
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The avatar: a Resource of the user's (resources.user_id cascades from users, so this FK is added after).
    avatar_resource_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("resources.id", ondelete="SET NULL", use_alter=True), index=True
    )


class AuthSession(UserOwned, Base):
    """One signed-in device: the family its refresh tokens belong to. Revoking it ends them all."""

    __tablename__ = "auth_sessions"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        Index("ix_auth_sessions_user_id", "user_id"),
        # The revocation cache is rebuilt from the sessions ended lately (aurum.auth.revocation).
        Index("ix_auth_sessions_revoked_at", "revoked_at", postgresql_where=text("revoked_at IS NOT NULL")),
        CheckConstraint(one_of("method", SIGN_IN_METHODS), name="method_valid"),
    )

    method: Mapped[str] = mapped_column(String(20))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    client_address: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(String(40))


class RefreshToken(UserOwned, Base):
    """An opaque refresh token, kept only as its SHA-256. Used once: using it again revokes the family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["session_id", "user_id"], ["auth_sessions.id", "auth_sessions.user_id"], ondelete="CASCADE"
        ),
        Index("ix_refresh_tokens_session_id_user_id", "session_id", "user_id"),
        Index("ix_refresh_tokens_user_id", "user_id"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordResetToken(UserOwned, Base):
    """A single-use reset token sent by email, kept only as its SHA-256."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = (Index("ix_password_reset_tokens_user_id", "user_id"),)

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
