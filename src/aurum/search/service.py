"""Search: PostgreSQL full-text search over the viewer's objects, ranked, with snippets, in one statement.

How a query is read:
- ``websearch_to_tsquery`` parses it as people type into search boxes: words must all occur, ``"a phrase"`` in
  that order, ``or`` between alternatives, ``-word`` must not occur. It never fails, whatever the characters.
- Words match in any of their forms or as written: the query is read twice, stemmed (``english``) and as
  written (``simple``), and either reading may match (the vectors hold both kinds of lexemes,
  ``aurum.search.vector``). So "Zebras" finds "zebra", "running" finds "run", and a query of stop words only
  ("the") still finds them as written. Accents matter ("cafe" does not find "café": core PostgreSQL has no
  unaccent). Either reading matching also means an exclusion of a stop word (``-the``) excludes nothing, and
  a phrase with a stop word in it matches any word in its place, as in English search anywhere.
- The last word also matches as a prefix of a word as written while it is a plain word (letters and digits),
  so ``gro`` finds "groceries" and ``plann`` "Planning", or else as a whole word in any of its forms: the
  prefix query is built only from such a word, never from raw input.

Ranking: ``ts_rank`` with a name (A) match weighing 1.0 and a description or answer (B) match 0.4, so a
name match ranks first; archived rows are still found (search is where one looks for what was put away) but
their score is halved, so active ones come first. Ties go to the most recently changed.

One statement: the sources are ranked together (``UNION ALL``), the best ``first`` are kept, and only those
are joined back to their rows and given snippets. Adding a source is one more ``Source``.

Snippets: ``ts_headline`` marks the words whose lexemes match, in one configuration at a time, so each text
is marked twice (``english`` marks other forms, ``simple`` prefixes and stop words) and the version with more
marks is kept; the description's matches come first, then the template answers', then the name.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Select,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.errors import InvalidInput
from aurum.search.vector import ANSWERS_PATH, COLUMN, CONFIGS, PREFIX_CONFIG, STEMMED_CONFIG

MAX_QUERY_LENGTH = 200
DEFAULT_FIRST = 20
MAX_FIRST = 50
DEMOTED_FACTOR = 0.5
WEIGHTS = "'{0.1, 0.2, 0.4, 1.0}'::float4[]"  # D, C, B (description, answers), A (name)
MARK, UNMARK = "<mark>", "</mark>"
TITLE_HEADLINE = f"StartSel={MARK}, StopSel={UNMARK}, HighlightAll=true"
BODY_HEADLINE = (
    f'StartSel={MARK}, StopSel={UNMARK}, MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=" … "'
)
ANSWER_SEPARATOR = " · "  # between a journal entry's answers in its snippet
PLAIN_WORD = re.compile(r"[^\W_]+")
KIND = re.compile(r"[A-Z][A-Za-z]*")


@dataclass(frozen=True)
class Source:
    """A searchable table: rows of type ``kind`` whose ``search_vector`` is built from ``title`` (weight A),
    ``body`` and, when named, the ``answers`` of a JSONB list of ``{prompt, answer}`` (weight B), as its
    model's ``search_vector(title, body, answers)`` says. ``demoted`` rows (archived ones) rank lower;
    ``hidden`` rows (trashed ones) are left out altogether."""

    kind: str
    table: Table
    title: str = "name"
    body: str = "description"
    answers: str | None = None
    demoted: Callable[[Table], ColumnElement[bool]] | None = None
    hidden: Callable[[Table], ColumnElement[bool]] | None = None

    def __post_init__(self) -> None:
        if not KIND.fullmatch(self.kind):  # it becomes an SQL literal
            raise ValueError(f"not a type name: {self.kind!r}")


@dataclass(frozen=True)
class Hit:
    kind: str
    row: Any  # the source row's columns as attributes, as the GraphQL types' from_row expect
    score: float
    snippet: str | None


@dataclass(frozen=True)
class Terms:
    """The query as PostgreSQL will read it: ``words`` for websearch_to_tsquery and, separately, the last word
    to match as a prefix (``None`` when the last word is not a plain word)."""

    words: str
    prefix: str | None


def parse(query: str | None, first: int | None) -> tuple[Terms, int]:
    """Check the arguments (BAD_USER_INPUT naming the argument) and split off the prefix word."""
    if query is None or not query.strip():
        raise InvalidInput("'query' needs at least one word", ["query"])
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"'query' must have at most {MAX_QUERY_LENGTH} characters", ["query"])
    first = DEFAULT_FIRST if first is None else first
    if not 1 <= first <= MAX_FIRST:
        raise InvalidInput(f"'first' must be between 1 and {MAX_FIRST}", ["first"])
    words = query.split()
    *head, last = words
    # A prefix only where it cannot change what the rest means: a plain last word, not an alternative
    # ("a or b") and not inside an open quote ('"secret pl').
    plain = PLAIN_WORD.fullmatch(last) is not None
    after_or = bool(head) and head[-1].lower() == "or"
    quoted = " ".join(head).count('"') % 2 == 1
    if plain and not after_or and not quoted:
        return Terms(" ".join(head), last), first
    return Terms(" ".join(words), None), first


def regconfig(config: str) -> ColumnElement[Any]:
    if config not in CONFIGS:  # it becomes an SQL literal
        raise ValueError(f"not a search configuration: {config!r}")
    return literal_column(f"'{config}'::regconfig")


def either(parts: Sequence[ColumnElement[Any]], operator: str) -> ColumnElement[Any]:
    query = parts[0]
    for part in parts[1:]:
        query = query.op(operator, return_type=TSQUERY)(part)
    return query


def tsquery(terms: Terms) -> ColumnElement[Any]:
    """Each reading of the words may match (an empty reading, of stop words only, drops out of ``||`` and
    ``&&``); the last word matches as a prefix as written or else as a word in any of its forms."""
    parts: list[ColumnElement[Any]] = []
    if terms.words:
        words: ColumnElement[str] = bindparam("words", terms.words)
        readings = [func.websearch_to_tsquery(regconfig(c), words, type_=TSQUERY) for c in CONFIGS]
        parts.append(either(readings, "||").self_group())
    if terms.prefix is not None:
        prefix = func.to_tsquery(
            regconfig(PREFIX_CONFIG), bindparam("prefix", f"{terms.prefix}:*"), type_=TSQUERY
        )
        stemmed = func.plainto_tsquery(
            regconfig(STEMMED_CONFIG), bindparam("last", terms.prefix), type_=TSQUERY
        )
        parts.append(either([prefix, stemmed], "||").self_group())
    return either(parts, "&&")


def html_escaped(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """Text safe to place in HTML before the marks are added: & < > and " escaped (ts_headline's parser reads
    the entities as single tokens, so words and matches are unchanged)."""
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        text = func.replace(text, raw, entity)
    return text


def matches(source: Source, user_id: uuid.UUID, query: ColumnElement[Any]) -> Select[Any]:
    """The viewer's matching rows of one source with their scores."""
    table = source.table
    vector = table.c[COLUMN]
    score: ColumnElement[Any] = func.ts_rank(literal_column(WEIGHTS), vector, query)
    if source.demoted is not None:
        score = score * case(
            (source.demoted(table), literal_column(str(DEMOTED_FACTOR))), else_=literal_column("1")
        )
    conditions = [table.c.user_id == user_id, vector.op("@@")(query)]
    if source.hidden is not None:
        conditions.append(~source.hidden(table))
    return select(
        literal_column(f"'{source.kind}'").label("kind"),
        table.c.id.label("id"),
        cast(score, Float).label("score"),
        table.c.updated_at.label("changed"),
    ).where(*conditions)


def statement(sources: Sequence[Source], user_id: uuid.UUID, terms: Terms, first: int) -> Select[Any]:
    query = tsquery(terms)
    ranked = union_all(*(matches(s, user_id, query) for s in sources))
    best = ranked.order_by(
        literal_column("score").desc(), literal_column("changed").desc(), literal_column("id")
    ).limit(first)
    hits = best.subquery("hits")
    rows = [s.table.alias(f"s{i}") for i, s in enumerate(sources)]
    columns: list[ColumnElement[Any]] = [hits.c.kind, hits.c.score]
    for i, row in enumerate(rows):
        columns += [c.label(f"s{i}_{c.name}") for c in row.c if c.name != COLUMN]
    # Exactly one source row joins each hit: coalesce picks its title, body and answers.
    title = func.coalesce(*(row.c[s.title] for s, row in zip(sources, rows, strict=True)))
    body = func.coalesce(*(row.c[s.body] for s, row in zip(sources, rows, strict=True)))
    answers = func.coalesce(
        *(answers_text(row, s.answers) for s, row in zip(sources, rows, strict=True) if s.answers), null()
    )
    snippets = [
        func.ts_headline(regconfig(config), html_escaped(text), query, options).label(f"{name}_{config}")
        for name, text, options in (
            ("title", title, TITLE_HEADLINE),
            ("body", body, BODY_HEADLINE),
            ("answers", answers, BODY_HEADLINE),
        )
        for config in CONFIGS
    ]
    joined: FromClause = hits
    for source, row in zip(sources, rows, strict=True):
        on = and_(hits.c.kind == source.kind, row.c.id == hits.c.id, row.c.user_id == user_id)
        joined = joined.outerjoin(row, on)
    return (
        select(*columns, *snippets)
        .select_from(joined)
        .order_by(hits.c.score.desc(), hits.c.changed.desc(), hits.c.id)
    )


async def search(
    session: AsyncSession, sources: Sequence[Source], user_id: uuid.UUID, query: str, first: int | None
) -> list[Hit]:
    terms, first = parse(query, first)
    result = await session.execute(statement(sources, user_id, terms, first))
    index = {s.kind: i for i, s in enumerate(sources)}
    hits = []
    for found in result.mappings():
        i = index[found["kind"]]
        prefix = f"s{i}_"
        row = SimpleNamespace(
            **{c.name: found[prefix + c.name] for c in sources[i].table.c if c.name != COLUMN}
        )
        hits.append(Hit(found["kind"], row, round(found["score"], 6), snippet(found)))
    return hits


def answers_text(row: FromClause, column: str) -> ColumnElement[Any]:
    """A row's template answers as one text, in their order (NULL when there are none)."""
    path: ColumnElement[Any] = literal_column(f"'{ANSWERS_PATH}'::jsonpath")
    elements = (
        func.jsonb_array_elements_text(func.jsonb_path_query_array(row.c[column], path))
        .table_valued("value", with_ordinality="n")
        .render_derived(name="answer")
    )
    separator: ColumnElement[Any] = literal_column(f"'{ANSWER_SEPARATOR}'")
    return (
        select(func.string_agg(elements.c.value, aggregate_order_by(separator, elements.c.n)))
        .select_from(elements)
        .scalar_subquery()
    )


def best(found: Any, name: str) -> str | None:
    """The text's headline with the most marks (``simple``'s on a tie), or ``None`` when neither has one."""
    headlines = [found[f"{name}_{config}"] for config in (PREFIX_CONFIG, STEMMED_CONFIG)]
    marked = [h for h in headlines if h is not None and MARK in h]
    return max(marked, key=lambda h: h.count(MARK), default=None)


def snippet(found: Any) -> str | None:
    """The description around the matches when they are there, else the template answers around theirs,
    else the (marked) name."""
    for name in ("body", "answers", "title"):
        marked = best(found, name)
        if marked is not None:
            return marked
    title: str | None = found[f"title_{PREFIX_CONFIG}"]
    return title
