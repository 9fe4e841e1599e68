"""``search(query:, first:)`` over GraphQL: the sources and how their rows become nodes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry
from strawberry import Info

from aurum.area.graphql import Area
from aurum.area.model import Area as AreaModel
from aurum.graphql.context import Context
from aurum.graphql.types import Node
from aurum.journal.graphql import JournalEntry
from aurum.journal.model import JournalEntry as JournalEntryModel
from aurum.models import table_of
from aurum.pillar.graphql import Pillar
from aurum.pillar.model import Pillar as PillarModel
from aurum.project.graphql import Project
from aurum.project.model import Project as ProjectModel
from aurum.search import service
from aurum.search.service import DEFAULT_FIRST, MAX_FIRST, MAX_QUERY_LENGTH, Source
from aurum.task.graphql import Task
from aurum.task.model import Task as TaskModel


@dataclass(frozen=True)
class Searchable:
    """A source of hits and the GraphQL type its rows become."""

    source: Source
    node: Callable[[Any], Node]


def archived(table: Any) -> Any:
    return table.c.archived


def trashed(table: Any) -> Any:
    return table.c.trashed_at.is_not(None)


# One entry per searchable type (its model needs ``search_vector()`` and ``search_index(...)``).
SEARCHABLE = (
    Searchable(Source("Pillar", table_of(PillarModel), demoted=archived), Pillar.from_row),
    Searchable(Source("Area", table_of(AreaModel), demoted=archived), Area.from_row),
    Searchable(Source("Project", table_of(ProjectModel), demoted=archived), Project.from_row),
    Searchable(Source("Task", table_of(TaskModel)), Task.from_row),
    Searchable(
        Source(
            "JournalEntry",
            table_of(JournalEntryModel),
            "title",
            "content",
            answers="template_answers",
            hidden=trashed,
        ),
        JournalEntry.from_row,
    ),
)
SOURCES = tuple(s.source for s in SEARCHABLE)
NODES = {s.source.kind: s.node for s in SEARCHABLE}


@strawberry.type(description="One result of `search`: what matched, how well, and where.")
class SearchHit:
    node: Node = strawberry.field(description="The matching pillar, area, project, task or journal entry.")
    score: float = strawberry.field(
        description="Relevance, higher first: a name match weighs more than a description match, and "
        "archived objects count half."
    )
    snippet: str | None = strawberry.field(
        description="The matching part of the description (or else of a journal entry's template answers, or "
        "else the name) as HTML: the text is escaped "
        "and each match is wrapped in `<mark>…</mark>`, so it can be shown as HTML as it is."
    )


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description="Full-text search over the viewer's pillars, areas, projects, tasks and journal entries "
        "(not those in the trash), best first. "
        "Words must all occur, in any form (any case; 'zebras' finds 'zebra'; the last word may be the start "
        'of one); `"a phrase"`, `or` and `-word` work as in web search. Archived objects are included, '
        "ranked lower. A journal entry's template answers are searched with its content."
    )
    async def search(
        self,
        info: Info[Context, None],
        query: Annotated[
            str,
            strawberry.argument(
                description=f"What to look for: 1 to {MAX_QUERY_LENGTH} characters, at least one word."
            ),
        ],
        first: Annotated[
            int | None,
            strawberry.argument(description=f"How many hits to return, 1 to {MAX_FIRST}."),
        ] = DEFAULT_FIRST,
    ) -> list[SearchHit]:
        ctx = info.context
        user_id = ctx.user_id
        service.parse(query, first)  # refuse bad arguments before taking a connection
        async with ctx.reading() as session:
            hits = await service.search(session, SOURCES, user_id, query, first)
        return [SearchHit(node=NODES[h.kind](h.row), score=h.score, snippet=h.snippet) for h in hits]
