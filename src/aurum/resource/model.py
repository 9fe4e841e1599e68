from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, CheckConstraint, ForeignKeyConstraint, Index, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, UserOwned, one_of

KINDS = ("DOCUMENT", "IMAGE", "SPREADSHEET", "PRESENTATION", "ARCHIVE", "OTHER")
# The parents a file can hang on, by their column; each is a composite key so the parent is the owner's.
PARENT_COLUMNS = {
    "pillar_id": "pillars",
    "area_id": "areas",
    "project_id": "projects",
    "task_id": "tasks",
    "journal_entry_id": "journal_entries",
}


class Resource(UserOwned, Base):
    __tablename__ = "resources"
    __table_args__ = (
        *(
            ForeignKeyConstraint([column, "user_id"], [f"{table}.id", f"{table}.user_id"], ondelete="CASCADE")
            for column, table in PARENT_COLUMNS.items()
        ),
        Index("ix_resources_user_list", "user_id", "created_at", "id"),
        *(Index(f"ix_resources_{column}", column, "user_id") for column in PARENT_COLUMNS),
        CheckConstraint(f"num_nonnulls({', '.join(PARENT_COLUMNS)}) <= 1", name="one_parent"),
        CheckConstraint(one_of("kind", KINDS), name="kind_known"),
        CheckConstraint("size >= 0", name="size_positive"),
        CheckConstraint("char_length(filename) BETWEEN 1 AND 255", name="filename_length"),
    )

    pillar_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    area_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    project_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    task_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    journal_entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
