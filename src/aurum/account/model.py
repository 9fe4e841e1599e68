from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, UserOwned


class AccountExport(UserOwned, Base):
    """A personal data export, downloadable by its owner until it expires."""

    __tablename__ = "account_exports"
    __table_args__ = (Index("ix_account_exports_user_id", "user_id"),)

    content: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
