"""persisted documents: GraphQL documents by their SHA-256 (Apollo's automatic persisted queries), shared by
every client; PostgreSQL checks each hash against its text, and the app role may read and add rows, never
change or remove one

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aurum.rls import APP_ROLE

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as they were at this revision (aurum.persisted.model may move on).
SHA256_OF_DOCUMENT = "sha256 = encode(sha256(convert_to(document, 'UTF8')), 'hex')"
DOCUMENT_SIZE = "octet_length(document) <= 32768"


def upgrade() -> None:
    op.create_table(
        "persisted_documents",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(SHA256_OF_DOCUMENT, name=op.f("ck_persisted_documents_sha256_of_document")),
        sa.CheckConstraint(DOCUMENT_SIZE, name=op.f("ck_persisted_documents_document_size")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_persisted_documents")),
    )
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON persisted_documents FROM {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("persisted_documents")
