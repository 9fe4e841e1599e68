"""``taskCreate`` compiled: the write and its payload in one transaction on asyncpg, without SQLAlchemy's ORM
or graphql-core visiting each field.

A create through the resolvers cost about 6 ms of the API's CPU, most of it the ORM's insert and Strawberry
executing the payload field by field. Here the document's selection is planned once (the task as the read
path plans an object, ``userErrors`` and ``__typename``), the input checked by the task service's own
checks, and the task inserted by one statement compiled once per set of columns, which also checks the
project (``INSERT … SELECT … WHERE EXISTS``, under row-level security) and returns the columns the payload
asks for; what else the payload names is read by the compiled read path in the same transaction. The answer
is the resolvers' to the byte (tests/test_compiled_creates.py).

Left to the resolvers: a subtask (``parentId``), dependencies, a recurrence, a task selection with lists of
rows below it (``subtasks``) or fields the read path does not know (``score``), several root fields, and
anything refused before it runs (a read-only key, a GET, the cost limit or budget).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import asyncpg
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    OperationDefinitionNode,
    located_error,
)
from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import ClauseElement, bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert
from strawberry.types.field import StrawberryField

from aurum.compiled.entities import TASK
from aurum.compiled.plan import Computed, Nested, ObjectPlan, Planner, Related, Unplannable
from aurum.compiled.reading import Answer, Reading
from aurum.compiled.statements import Statements, fetch
from aurum.db import RAW_WRITE_AS_USER, Actor
from aurum.errors import Conflict, DomainError, DomainErrors, NotFound
from aurum.graphql.extensions import format_error, operation_timeout
from aurum.graphql.mutations import optional_id
from aurum.graphql.types import UserError
from aurum.ids import decode_id
from aurum.project.graphql import TABLE as PROJECTS
from aurum.task import service
from aurum.task.graphql import TABLE as TASKS
from aurum.task.mutations import FIELDS_NOT_COLUMNS, TaskCreateInput

ROOT = "taskCreate"
USER_ERROR_FIELDS = frozenset({"field", "message", "code", "__typename"})
PROJECT_EXISTS = "SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1 AND user_id = $2)"
COLLIDED = "This change collided with another one made at the same time; try again"


@dataclass(frozen=True, slots=True)
class Piece:
    """A field of the payload: ``kind`` is task, userErrors or __typename."""

    key: str
    kind: str
    plan: ObjectPlan | None = None  # the task's
    parts: tuple[tuple[str, str], ...] = ()  # userErrors' fields: (response key, field name)


@dataclass(frozen=True)
class CreatePlan:
    roots: tuple[tuple[str, str], ...]  # the root's fields in order: (response key, taskCreate | __typename)
    node: FieldNode  # where the input is
    definition: GraphQLField
    field: StrawberryField
    pieces: tuple[Piece, ...]
    cost: int = 0  # what the resolvers would charge for it: its payload's objects, whatever the input

    @property
    def task(self) -> ObjectPlan | None:
        return next((p.plan for p in self.pieces if p.plan is not None), None)


def plan_create(
    planner: Planner, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> CreatePlan | None:
    """The plan of a mutation whose one root field is ``taskCreate`` (beside any ``__typename``)."""
    mutation = planner.schema.mutation_type
    if operation.operation.value != "mutation" or mutation is None:
        return None
    planner.fragments = fragments
    try:
        collected = planner.collect(mutation, [operation])
        roots = tuple((key, nodes[0].name.value) for key, nodes in collected.items())
        creates = [key for key, name in roots if name == ROOT]
        if len(creates) != 1 or any(name not in (ROOT, "__typename") for _, name in roots):
            return None
        nodes = collected[creates[0]]
        payload = _type(planner, mutation.fields[ROOT].type)
        pieces = tuple(
            _piece(planner, payload, key, group) for key, group in planner.collect(payload, nodes).items()
        )
    except Unplannable:
        return None
    field = planner.fields_of(ROOT, mutation.name)
    if field is None:
        return None
    return CreatePlan(roots, nodes[0], mutation.fields[ROOT], field, pieces)


def _type(planner: Planner, of: Any) -> GraphQLObjectType:
    while not isinstance(of, GraphQLObjectType):
        of = of.of_type
    found = planner.schema.get_type(of.name)
    assert isinstance(found, GraphQLObjectType)
    return found


def _piece(planner: Planner, payload: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> Piece:
    name = nodes[0].name.value
    if name == "__typename":
        return Piece(key, name)
    if name == "task":
        plan = planner.object_plan(TASK, nodes)
        if not _bounded(plan):
            raise Unplannable("lists of rows below the task")
        return Piece(key, name, plan)
    if name == "userErrors":
        below = _type(planner, payload.fields[name].type)
        parts = tuple((k, g[0].name.value) for k, g in planner.collect(below, nodes).items())
        if any(n not in USER_ERROR_FIELDS for _, n in parts):
            raise Unplannable(name)
        return Piece(key, name, parts=parts)
    raise Unplannable(name)


def _bounded(plan: ObjectPlan) -> bool:
    """Whether the plan reads a few rows at most: no connection anywhere below it."""
    for field in plan.fields:
        if isinstance(field, Nested):
            return False
        below = field.plan if isinstance(field, Related | Computed) else None
        if below is not None and not _bounded(below):
            return False
    return True


def insert_statement(names: tuple[str, ...], returning: tuple[str, ...]) -> ClauseElement:
    """The task's insert with these columns (the user's and the project's among them), if the project is
    the user's; returning ``returning``, or nothing when the id is taken."""
    values = select(*(bindparam(n, type_=TASKS.c[n].type) for n in names)).where(
        exists().where(PROJECTS.c.id == bindparam("project_id"), PROJECTS.c.user_id == bindparam("user_id"))
    )
    return (
        insert(TASKS)
        .from_select(list(names), values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(*(TASKS.c[n] for n in returning))
    )


class Creates:
    """Runs planned creates; one per process (the statements it compiles are kept)."""

    def __init__(self, schema: Any, statements: Statements, timeout: float, most_rows: int) -> None:
        self.schema = schema  # Strawberry's
        self.statements = statements
        self.timeout = timeout
        self.most_rows = most_rows
        convert = schema.config.name_converter.get_graphql_name
        fields = TaskCreateInput.__strawberry_definition__.fields  # type: ignore[attr-defined]
        self.names = {convert(f): f.python_name for f in fields}  # the input's GraphQL names: Python's

    def input_of(self, plan: CreatePlan, variables: VariableValues) -> dict[str, Any] | None:
        """The input as graphql-core coerced it (GraphQL's names, enums as members), or ``None`` when the
        create is one for the resolvers."""
        given: dict[str, Any] = get_argument_values(plan.definition, plan.node, variables)["input"]
        if given.get("parentId") is not None or given.get("dependencyIds") or given.get("recurrence"):
            return None
        return given

    async def run(
        self, plan: CreatePlan, given: dict[str, Any], variables: VariableValues, context: Any
    ) -> Any:
        """The answer's data, after the commit. Raises GraphQLError when the commit itself failed or the
        time ran out, and anything else when it failed before writing anything (for the resolvers)."""
        try:
            checked = self._checked(given)
        except (DomainError, DomainErrors) as error:
            return self.data(plan, None, UserError.from_exception(error))
        user = context.user_id
        try:
            async with asyncio.timeout(self.timeout), context.resources.engine.connect() as connection:
                raw = (await connection.get_raw_connection()).driver_connection
                try:
                    await _begin(raw, user, context.actor)
                    reading = Reading(raw, self.statements, user, variables, self.schema, self.most_rows)
                    task, errors = await self._write(raw, reading, plan, checked)
                    if errors:
                        await raw.execute("ROLLBACK")
                        return self.data(plan, None, errors)
                except BaseException:
                    await _roll_back(raw)
                    raise
                try:
                    await raw.execute("COMMIT")
                except BaseException as error:
                    raw.terminate()  # in whatever state it is: the pool replaces it
                    if isinstance(error, Exception):
                        raise _located(error, plan) from error
                    raise
        except TimeoutError:
            raise operation_timeout(self.timeout) from None
        context.written(user)
        return self.data(plan, task, [])

    def _checked(self, given: dict[str, Any]) -> Checked:
        """What the resolver checks of the input before it writes, in its order."""
        project_id = decode_id(str(given["projectId"]), "Project", ["input", "projectId"])
        names = self.names
        values = {
            names[key]: value.value if isinstance(value, Enum) else value
            for key, value in given.items()
            if names[key] not in FIELDS_NOT_COLUMNS
        }
        client_id = optional_id(given.get("id"), "Task", ["input", "id"])
        return service.checked_new(values, None), project_id, client_id

    async def _write(
        self, raw: Any, reading: Reading, plan: CreatePlan, checked: Checked
    ) -> tuple[Answer | None, list[UserError]]:
        """The task as the payload writes it, or why there is none (nothing written then)."""
        cleaned, project_id, client_id = checked
        try:
            reminder = cleaned.get("reminder_at")
            if reminder is not None:
                zone = await reading.zone() if reminder.tzinfo is None else None
                cleaned["reminder_at"] = service.localized(reminder, zone)
            return await self._insert(raw, reading, plan.task, cleaned, project_id, client_id), []
        except (DomainError, DomainErrors) as error:
            return None, UserError.from_exception(error)
        except asyncpg.IntegrityConstraintViolationError:
            return None, UserError.from_exception(Conflict(COLLIDED))

    async def _insert(
        self,
        raw: Any,
        reading: Reading,
        plan: ObjectPlan | None,
        cleaned: dict[str, Any],
        project_id: uuid.UUID,
        client_id: uuid.UUID | None,
    ) -> Answer | None:
        row = {**cleaned, "project_id": project_id, "parent_id": None, "user_id": reading.user_id}
        if client_id is not None:
            row["id"] = client_id
        names = tuple(sorted(row))
        returning = tuple(sorted(plan.columns)) if plan is not None else ("id",)
        compiled = self.statements.get(
            ("create", names, returning), lambda: insert_statement(names, returning)
        )
        rows = await fetch(raw, compiled, row)
        if rows:
            return (await reading.rows_answered(plan, rows))[0] if plan is not None else None
        if not await raw.fetchval(PROJECT_EXISTS, project_id, reading.user_id):
            raise NotFound("No Project with this id", ["input", "projectId"])
        existing = None
        if client_id is not None:  # a repeated create: the task it made, as it is now
            existing = await reading.by_id(plan or TASK_ID_ONLY, client_id)
        if existing is None:
            raise Conflict("This id is already in use: generate a new one", ["input", "id"])
        return existing if plan is not None else None

    def data(self, plan: CreatePlan, task: Answer | None, errors: list[UserError]) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for piece in plan.pieces:
            if piece.kind == "__typename":
                payload[piece.key] = "TaskPayload"
            elif piece.kind == "task":
                payload[piece.key] = task
            else:
                payload[piece.key] = [_user_error(e, piece.parts) for e in errors]
        return {key: payload if name == ROOT else "Mutation" for key, name in plan.roots}


TASK_ID_ONLY = ObjectPlan(TASK, (), frozenset({"id"}))
Checked = tuple[dict[str, Any], uuid.UUID, uuid.UUID | None]  # the columns, the project, the client's id
SAFE = re.compile(r"[0-9A-Za-z_-]*")  # what may be written into the text of a statement as it is
BEGIN_AS_USER = (
    "BEGIN; SELECT set_config('app.user_id', '{0}', true), set_config('app.actor', '{1}', true),"
    " set_config('app.actor_id', '{2}', true), set_config('app.request_id', '{3}', true),"
    " pg_advisory_xact_lock(hashtextextended('{0}', 4242))"
)


async def _begin(raw: Any, user_id: uuid.UUID, actor: Actor) -> None:
    """``unit_of_work``'s start: the transaction, the user and actor named, the user's change-log lock
    taken; in one round trip when the values are safe to write into the text (ids and words are)."""
    values = (str(user_id), actor.kind, str(actor.id) if actor.id else "", actor.request_id or "")
    if all(SAFE.fullmatch(value) for value in values):
        await raw.execute(BEGIN_AS_USER.format(*values))
    else:
        await raw.execute("BEGIN")
        await raw.fetchval(RAW_WRITE_AS_USER, *values)


async def _roll_back(raw: Any) -> None:
    try:
        await raw.execute("ROLLBACK")
    except BaseException:
        raw.terminate()  # never back to the pool inside a transaction
        raise


def _user_error(error: UserError, parts: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    values = {
        "field": error.field,
        "message": error.message,
        "code": error.code.name,
        "__typename": "UserError",
    }
    return {key: values[name] for key, name in parts}


def _located(error: Exception, plan: CreatePlan) -> GraphQLError:
    key = next(k for k, name in plan.roots if name == ROOT)
    return located_error(error, [plan.node], [key])


__all__ = ["CreatePlan", "Creates", "format_error", "plan_create"]
