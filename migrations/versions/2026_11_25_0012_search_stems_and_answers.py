"""search finds word forms and template answers: every search vector indexes its texts twice, stemmed
('english') and as written ('simple'), and a journal entry's vector takes in its template answers

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 23:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Frozen here as it was written (aurum.search.vector.vector_sql then): the title weighs A, the body and the
# answers B; all 'english' (stemmed) lexemes first, then all 'simple' (as written) ones.
def vector(title: str, body: str, answers: str | None = None) -> str:
    texts = [(f"coalesce({title}, '')", "A"), (f"coalesce({body}, '')", "B")]
    if answers is not None:
        texts.append((f"coalesce(jsonb_path_query_array({answers}, '$[*].answer'), '[]'::jsonb)", "B"))
    return " || ".join(
        f"setweight(to_tsvector('{config}'::regconfig, {text}), '{weight}')"
        for config in ("english", "simple")
        for text, weight in texts
    )


# As 0005 and 0006 wrote them.
def simple_vector(title: str, body: str) -> str:
    return (
        f"setweight(to_tsvector('simple'::regconfig, coalesce({title}, '')), 'A') || "
        f"setweight(to_tsvector('simple'::regconfig, coalesce({body}, '')), 'B')"
    )


NEW = {
    "pillars": vector("name", "description"),
    "areas": vector("name", "description"),
    "projects": vector("name", "description"),
    "tasks": vector("name", "description"),
    "journal_entries": vector("title", "content", "template_answers"),
}
OLD = {
    "pillars": simple_vector("name", "description"),
    "areas": simple_vector("name", "description"),
    "projects": simple_vector("name", "description"),
    "tasks": simple_vector("name", "description"),
    "journal_entries": simple_vector("title", "content"),
}


def rebuild(table: str, expression: str) -> None:
    """PostgreSQL 16 cannot change a generated column's expression: drop it (and its index with it) and add it
    again, which rewrites the table once. The change-log triggers skip ``search_vector`` by name (0005, 0006),
    so they stay as they are."""
    op.drop_index(f"ix_{table}_search_vector", table_name=table, postgresql_using="gin")
    op.drop_column(table, "search_vector")
    op.add_column(
        table,
        sa.Column(
            "search_vector", postgresql.TSVECTOR(), sa.Computed(expression, persisted=True), nullable=False
        ),
    )
    op.create_index(f"ix_{table}_search_vector", table, ["search_vector"], postgresql_using="gin")


def upgrade() -> None:
    for table, expression in NEW.items():
        rebuild(table, expression)


def downgrade() -> None:
    for table, expression in reversed(OLD.items()):
        rebuild(table, expression)
