"""The searchable text of a table, for its model: a stored generated ``search_vector`` and its GIN index.

The title weighs A and the body B, so a match in a name ranks above one in a description. The ``simple``
configuration lowercases words and nothing else: no stemming and no stop words, so text in any language is
indexed alike and every word can be found (prefix matching of the last word makes up for the missing stems).
PostgreSQL keeps the column current on every insert and update; no trigger or application code is involved.
"""

from __future__ import annotations

from sqlalchemy import Computed, Index
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import MappedColumn, mapped_column

CONFIG = "simple"
COLUMN = "search_vector"


def vector_sql(title: str = "name", body: str = "description") -> str:
    return (
        f"setweight(to_tsvector('{CONFIG}'::regconfig, coalesce({title}, '')), 'A') || "
        f"setweight(to_tsvector('{CONFIG}'::regconfig, coalesce({body}, '')), 'B')"
    )


def search_vector(title: str = "name", body: str = "description") -> MappedColumn[str]:
    """The generated column; deferred, so loading a model object does not fetch it."""
    return mapped_column(TSVECTOR, Computed(vector_sql(title, body), persisted=True), deferred=True)


def search_index(table: str) -> Index:
    """The GIN index on the vector (``user_id`` cannot join a GIN index without btree_gin; the search filters
    by user next to it, and row-level security again)."""
    return Index(f"ix_{table}_{COLUMN}", COLUMN, postgresql_using="gin")
