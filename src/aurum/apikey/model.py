from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, UserOwned

SCOPES = ("read", "write")


class ApiKey(UserOwned, Base):
    """A key for an integrator: the secret is shown once and kept only as its SHA-256."""

    __tablename__ = "api_keys"
    __table_args__ = (
        Index("ix_api_keys_user_id_created_at", "user_id", "created_at"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint(
            "cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write']::varchar[]", name="scopes_valid"
        ),
    )

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(10)))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
