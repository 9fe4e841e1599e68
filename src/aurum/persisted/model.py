"""The table of persisted documents: a document's text by its SHA-256, shared by every client.

Not user data (two people sending the same text share its row), so no row-level security; but the app role
may only read and add rows (the migration takes UPDATE and DELETE from it), and PostgreSQL itself checks
that each hash is the hash of its text, so no bug or injection can make a hash stand for another text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base

MAX_DOCUMENT_BYTES = 32_768
"""The largest text kept (UTF-8 bytes). The clients' largest operation is 1.3 KB, and a document at the token
limit is well under this; a larger one still runs when sent whole, it is only not kept."""

SHA256_OF_DOCUMENT = "sha256 = encode(sha256(convert_to(document, 'UTF8')), 'hex')"
DOCUMENT_SIZE = f"octet_length(document) <= {MAX_DOCUMENT_BYTES}"


class PersistedDocument(Base):
    __tablename__ = "persisted_documents"
    __table_args__ = (
        CheckConstraint(SHA256_OF_DOCUMENT, name="sha256_of_document"),
        CheckConstraint(DOCUMENT_SIZE, name="document_size"),
    )

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
