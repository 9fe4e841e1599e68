"""The searchable text of a table, for its model: a stored generated ``search_vector`` and its GIN index.

The title weighs A and the body (and a journal entry's template answers) B, so a match in a name ranks above
one in a description. Every text is indexed twice (``CONFIGS``):

- ``english``: stemmed, stop words left out, so "Zebras" finds "zebra" and "running" finds "run";
- ``simple``: lowercased and nothing more, so every word as written can still be found (stop words, words in
  other languages) and the last word of a query can match as a prefix of a written word ("plann" finds
  "Planning", whose English stem is "plan").

All the ``english`` lexemes come first, then all the ``simple`` ones: ``||`` numbers the right side's
positions after the left side's, so a phrase can straddle the seam between two texts (the last word of one and
the first of the next); this order adds one new seam (the last text's end to the title's start) to the
title-to-body one there always was, where text by text would add one per text (each text's end to its start).
The expression is frozen in migrations: a change needs one (tests/test_search_forms.py compares the two).
Template answers (JSONB, a list of ``{prompt, answer}``) are indexed by their ``answer`` strings only: the
prompts are the template's words, not the person's. ``to_tsvector`` of JSONB indexes its string values.
PostgreSQL keeps the column current on every insert and update; no trigger or application code is involved.
"""

from __future__ import annotations

from sqlalchemy import Computed, Index
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import MappedColumn, mapped_column

STEMMED_CONFIG = "english"  # words stemmed, stop words left out
PREFIX_CONFIG = "simple"  # words as written: a query's last word matches as a prefix of these
CONFIGS = (STEMMED_CONFIG, PREFIX_CONFIG)  # the order of the lexemes in the vector
COLUMN = "search_vector"
ANSWERS_PATH = "$[*].answer"  # the answers of a JSONB list of {prompt, answer}


def answers_sql(column: str) -> str:
    """The answers of a template-answers column as a JSONB array of strings (empty when there are none)."""
    return f"coalesce(jsonb_path_query_array({column}, '{ANSWERS_PATH}'), '[]'::jsonb)"


def vector_sql(title: str = "name", body: str = "description", answers: str | None = None) -> str:
    """The generated column's expression; migrations freeze a copy of it, character for character."""
    texts = [(f"coalesce({title}, '')", "A"), (f"coalesce({body}, '')", "B")]
    if answers is not None:
        texts.append((answers_sql(answers), "B"))
    return " || ".join(
        f"setweight(to_tsvector('{config}'::regconfig, {text}), '{weight}')"
        for config in CONFIGS
        for text, weight in texts
    )


def search_vector(
    title: str = "name", body: str = "description", answers: str | None = None
) -> MappedColumn[str]:
    """The generated column; deferred, so loading a model object does not fetch it."""
    return mapped_column(TSVECTOR, Computed(vector_sql(title, body, answers), persisted=True), deferred=True)


def search_index(table: str) -> Index:
    """The GIN index on the vector (``user_id`` cannot join a GIN index without btree_gin; the search filters
    by user next to it, and row-level security again)."""
    return Index(f"ix_{table}_{COLUMN}", COLUMN, postgresql_using="gin")
