"""A planned query read and answered: one connection, one transaction, one statement for each list,
relation and lookup of the plan whatever the number of rows, and the answer written field by field from
the rows, as the resolvers would write it.

Rows are read by position (a row's layout is found once per statement): on 2,000 tasks, looking fields up
by name cost more than everything else the answer needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import select
from strawberry.types.arguments import convert_arguments

from aurum.compiled.assembling import (
    columns_of,
    overdue_flags,
    part_answer,
    progress_answer,
    recurrence_answer,
)
from aurum.compiled.entities import Entity
from aurum.compiled.plan import (
    COMPUTED_COLUMNS,
    Computed,
    ConnectionPlan,
    NodeRoot,
    ObjectPlan,
    QueryPlan,
    Related,
    Scalar,
    Typename,
)
from aurum.compiled.statements import LEFT, Statements, fetch, rows_left
from aurum.graphql.types import Progress
from aurum.ids import parse_global_id
from aurum.models import IDS, USER, among, the_ids, the_user
from aurum.pagination import Ordering, Page, PageArgs, page_statement, paged, row_cursor
from aurum.task.graphql import names_its_level
from aurum.task.kinds import recurrence_of
from aurum.task.loaders import dependencies_statement, dependency_statuses_statement
from aurum.task.model import CLOSED_STATUSES
from aurum.task.progress import progress_statement

Answer = dict[str, Any]
Layout = dict[str, int]
TIMEZONE = "SELECT timezone FROM users WHERE id = $1"
PROGRESS_LEVELS = {"Pillar": "pillar", "Area": "area", "Project": "project"}
ID_ONLY: Layout = {"id": 0}


# Fields that write the tasks waited for; canStart alone needs only their status.
WRITES_WAITED_FOR = ("blockedBy", "dependencies")


@dataclass
class Waits:
    """What the tasks of one list wait for, read once for all the fields that ask (canStart, blockedBy,
    dependencies): whole rows when some field writes them, else only their status."""

    whole: bool
    read: tuple[dict[Any, list[Any]], Layout] | None = None


class TooManyRows(Exception):
    """The request read as many rows as it may."""


class Fallback(Exception):
    """Something the resolvers answer (an error to report, a type the compiled path does not read)."""


def layout_of(rows: Sequence[Any]) -> Layout:
    """Where each column is in the rows (asyncpg's records)."""
    return {name: index for index, name in enumerate(rows[0].keys())} if rows else {}


class Reading:
    def __init__(
        self,
        connection: Any,
        statements: Statements,
        user_id: uuid.UUID,
        variables: VariableValues,
        schema: Any,
        most_rows: int,
    ) -> None:
        self.connection = connection  # asyncpg's, in the request's one transaction
        self.statements = statements
        self.most_rows = most_rows
        self.user_id = user_id
        self.variables = variables
        self.schema = schema  # Strawberry's: its argument conversion turns inputs into the domains' types
        self.now = datetime.now(UTC)
        self.rows_read = 0
        self._zone: ZoneInfo | None = None

    async def answer(self, plan: QueryPlan) -> Answer:
        data: Answer = {}
        for field in plan.fields:
            if isinstance(field, Typename):
                data[field.key] = field.name
            elif isinstance(field, NodeRoot):
                data[field.key] = await self._nodes(field)
            else:
                ordering, pages, layout = await self._pages(field.plan, None)
                [data[field.key]] = await self._connections(
                    field.plan, ordering, [pages.get(None, Page())], layout
                )
        return data

    async def rows_answered(self, plan: ObjectPlan, rows: Sequence[Any]) -> list[Answer]:
        """The objects of these rows (read with at least the plan's columns), as the plan writes them."""
        return await self._objects(plan, rows, layout_of(rows))

    async def by_id(self, plan: ObjectPlan, object_id: uuid.UUID) -> Answer | None:
        """The object of this id, if the user has one."""
        return (await self._by_ids(plan, {object_id}, referenced=False)).get(object_id)

    async def zone(self) -> ZoneInfo:
        if self._zone is None:
            self._zone = ZoneInfo(await self.connection.fetchval(TIMEZONE, self.user_id))
        return self._zone

    async def _read(self, key: Any, build: Any, keep: object = None, ids: Any = None) -> Sequence[Any]:
        """The rows of the statement ``build`` makes (compiled once for ``key``), no more than the request
        may still read (one more tells it would)."""
        compiled = self.statements.get(key, lambda: build().limit(rows_left()), keep)
        given = {USER: self.user_id, IDS: ids, LEFT: self.most_rows - self.rows_read + 1}
        rows = await fetch(self.connection, compiled, given)
        self.rows_read += len(rows)
        if self.rows_read > self.most_rows:
            raise TooManyRows
        return rows

    # --- lists -----------------------------------------------------------------------------------------

    async def _pages(
        self, plan: ConnectionPlan, parents: list[Any] | None
    ) -> tuple[Ordering, dict[Any, Page], Layout]:
        entity, table = plan.entity, plan.entity.table
        raw = get_argument_values(plan.definition, plan.node, self.variables)
        registry, config = self.schema.schema_converter.scalar_registry, self.schema.config
        given = convert_arguments(raw, plan.field.arguments, scalar_registry=registry, config=config)
        args = PageArgs(given.get("first"), given.get("after"), given.get("last"), given.get("before"))
        args.validate()
        filter, order_by = given.get("filter"), given.get("order_by")
        ordering = entity.ordering(order_by)
        # The overdue filter compares with now: such a statement is built for each request.
        zone = await self.zone() if getattr(filter, "overdue", None) is not None else None
        key = None if zone is not None else ("page", id(plan), args, repr(filter), repr(order_by))

        def build() -> Any:
            where = [table.c.user_id == the_user(), *entity.conditions(filter, zone)]
            partition = None
            if plan.child is not None:
                partition = table.c[plan.child.parent]
                where.append(among(partition, the_ids()))
                if plan.child.top_level and not names_its_level(filter):
                    where.append(table.c.parent_id.is_(None))
            columns = [table.c[name] for name in sorted(columns_of(plan))]
            return page_statement(table, where, ordering, args, partition, columns)

        rows = await self._read(key, build, plan, parents)
        layout = layout_of(rows)
        return ordering, paged(rows, args, layout), layout

    async def _connections(
        self, plan: ConnectionPlan, ordering: Ordering, pages: list[Page], layout: Layout
    ) -> list[Answer]:
        rows = [row for page in pages for row in page.rows]
        written = {}
        for part in plan.parts:
            for object_plan in part.plans:
                written[id(object_plan)] = await self._objects(object_plan, rows, layout)
        answers = []
        start = 0
        for page in pages:
            end = start + len(page.rows)
            cursors = [row_cursor(ordering, row, layout) for row in page.rows] if plan.wants_cursors else []
            objects = {key: value[start:end] for key, value in written.items()}
            answers.append({part.key: part_answer(part, page, cursors, objects) for part in plan.parts})
            start = end
        return answers

    # --- objects ---------------------------------------------------------------------------------------

    async def _objects(self, plan: ObjectPlan, rows: Sequence[Any], layout: Layout) -> list[Answer]:
        if not rows:  # no layout either: the tasks waited for, when there are none
            return []
        answers: list[Answer] = [{} for _ in rows]
        later = []
        for field in plan.fields:
            key = field.key
            if isinstance(field, Scalar):
                at, convert = layout[field.leaf.column], field.leaf.convert
                if convert is None:
                    for answer, row in zip(answers, rows, strict=True):
                        answer[key] = row[at]
                else:
                    for answer, row in zip(answers, rows, strict=True):
                        answer[key] = convert(row[at])
            elif isinstance(field, Typename):
                for answer in answers:
                    answer[key] = field.name
            else:
                for answer in answers:
                    answer[key] = None  # its place in the answer; filled below
                later.append(field)
        waits = Waits(any(isinstance(f, Computed) and f.kind in WRITES_WAITED_FOR for f in later))
        for field in later:
            await self._fill(plan.entity, field, rows, layout, answers, waits)
        return answers

    async def _fill(
        self,
        entity: Entity,
        field: Any,
        rows: Sequence[Any],
        layout: Layout,
        answers: list[Answer],
        waits: Waits,
    ) -> None:
        key = field.key
        if isinstance(field, Related):
            at = layout[field.column]
            found = await self._by_ids(field.plan, {row[at] for row in rows} - {None}, referenced=True)
            values: list[Any] = [found.get(row[at]) for row in rows]
        elif isinstance(field, Computed):
            values = await self._computed(entity, field, rows, layout, waits)
        else:
            at = layout["id"]
            ordering, pages, below = await self._pages(field.plan, [row[at] for row in rows])
            values = await self._connections(
                field.plan, ordering, [pages.get(r[at], Page()) for r in rows], below
            )
        for answer, value in zip(answers, values, strict=True):
            answer[key] = value

    async def _by_ids(self, plan: ObjectPlan, ids: set[Any], *, referenced: bool) -> dict[Any, Answer]:
        """The objects of these ids; ``referenced``: ids read from foreign keys, so the rows exist."""
        if not ids:
            return {}
        if referenced and plan.columns == {"id"}:  # only the id is asked of the rows: the keys name it
            refs = [(i,) for i in ids]
            return dict(zip(ids, await self._objects(plan, refs, ID_ONLY), strict=True))
        table = plan.entity.table
        columns = tuple(sorted(plan.columns))

        def build() -> Any:
            mine = table.c.user_id == the_user()
            return select(*(table.c[name] for name in columns)).where(among(table.c.id, the_ids()), mine)

        rows = await self._read(("by id", table.name, columns), build, ids=list(ids))
        layout = layout_of(rows)
        at = layout.get("id", 0)
        return dict(zip((r[at] for r in rows), await self._objects(plan, rows, layout), strict=True))

    async def _computed(
        self, entity: Entity, field: Computed, rows: Sequence[Any], layout: Layout, waits: Waits
    ) -> list[Any]:
        kind, ids = field.kind, [row[layout["id"]] for row in rows]
        if kind == "isOverdue":
            return overdue_flags(rows, layout, await self.zone(), self.now)
        if kind == "recurrence":
            named = [SimpleNamespace(**{n: row[layout[n]] for n in COMPUTED_COLUMNS[kind]}) for row in rows]
            return [recurrence_answer(recurrence_of(columns), field.parts) for columns in named]
        if kind in ("progress", "completionPercent"):
            level = PROGRESS_LEVELS[entity.name]
            rows = await self._read(("progress", level), lambda: progress_statement(level), ids=ids)
            counts = {row[2]: (row[0], row[1]) for row in rows}
            progress = [Progress.of(*counts.get(i, (0, 0))) for i in ids]
            if kind == "completionPercent":
                return [p.percent for p in progress]
            return [progress_answer(p, field.parts) for p in progress]
        if waits.read is None:
            waits.read = await self._dependencies(ids, waits.whole)
        waiting, below = waits.read
        status = below.get("status", 0)
        if kind == "canStart":
            return [all(d[status] in CLOSED_STATUSES for d in waiting[i]) for i in ids]
        assert field.plan is not None
        listed = [
            [d for d in waiting[i] if kind == "dependencies" or d[status] not in CLOSED_STATUSES] for i in ids
        ]
        written = iter(await self._objects(field.plan, [d for ds in listed for d in ds], below))
        return [[next(written) for _ in ds] for ds in listed]

    async def _dependencies(self, ids: list[Any], whole: bool) -> tuple[dict[Any, list[Any]], Layout]:
        found: dict[Any, list[Any]] = {i: [] for i in ids}
        if whole:
            rows = await self._read(("dependencies",), dependencies_statement, ids=ids)
        else:
            rows = await self._read(("dependencies", "status"), dependency_statuses_statement, ids=ids)
        layout = layout_of(rows)
        for row in rows:
            found[row[layout["_waiting"]]].append(row)
        return found, layout

    # --- node(id:), nodes(ids:) ------------------------------------------------------------------------

    async def _nodes(self, field: NodeRoot) -> Any:
        raw = get_argument_values(field.definition, field.node, self.variables)
        ids = raw["ids"] if field.many else [raw["id"]]
        if len(ids) > 100:
            raise Fallback("too many ids")
        wanted = [parse_global_id(str(i)) for i in ids]
        if any(w is None or w[0] not in field.plans for w in wanted):
            raise Fallback("an id the resolvers answer")
        found: dict[Any, Answer] = {}
        for type_name in sorted({w[0] for w in wanted if w is not None}):
            ids_of_type = {w[1] for w in wanted if w is not None and w[0] == type_name}
            objects = await self._by_ids(field.plans[type_name], ids_of_type, referenced=False)
            found.update(((type_name, object_id), answer) for object_id, answer in objects.items())
        answers = [found.get(w) for w in wanted]
        return answers if field.many else answers[0]
