"""The compiled read path: queries over the hierarchy answered without graphql-core visiting each field.

graphql-core executes a 2,000-task tree field by field (34–51 ms over ready-made dicts, before any database
work); here a document's selection is planned once (``plan``), read with one statement per list, relation
and lookup in one transaction, and written from the rows (``reading``). The answer is the resolvers' to the
byte (``tests/test_compiled_differential.py`` generates documents and data to hold it to that). Anything
the plan does not cover, and every error, is the resolvers' to answer: the request runs on them instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from dataclasses import dataclass
from typing import Any

import structlog
from graphql import DocumentNode, GraphQLError
from graphql.execution.values import get_variable_values
from strawberry.types import ExecutionResult

from aurum.compiled.creating import CreatePlan, Creates, plan_create
from aurum.compiled.plan import Planner, QueryPlan
from aurum.compiled.reading import Fallback, Reading, TooManyRows
from aurum.compiled.statements import Statements
from aurum.db import raw_read_as
from aurum.errors import DomainError
from aurum.graphql.cost import Ledger, request_cost, spent_too_much
from aurum.graphql.documents import Documents, Prepared
from aurum.graphql.extensions import format_error, has_nul, operation_timeout
from aurum.unavailable import is_unavailable

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReadLimits:
    ceiling: int  # objects a query could return, past which it is absurd whatever the data
    cost: int  # objects a request the resolvers answer may be able to return (a compiled write's limit)
    rows: int  # rows one request may read
    budget: int  # rows one user may read per minute
    timeout: float  # seconds a request may take


class CompiledReads:
    def __init__(self, schema: Any, documents: Documents, limits: ReadLimits, ledger: Ledger) -> None:
        self.schema = schema
        self.documents = documents
        self.limits = limits
        self.planner = Planner(schema._schema, schema.get_field_for_type)
        self.statements: Statements | None = None  # for the engine's dialect, on the first read
        self._plans: weakref.WeakKeyDictionary[DocumentNode, dict[str | None, Plan]] = (
            weakref.WeakKeyDictionary()
        )
        self.creates: Creates | None = None
        self.ledger = ledger
        self.answered = {"compiled": 0, "resolvers": 0}  # requests by the path that answered (/metrics)

    async def run(
        self,
        query: str,
        variables: dict[str, Any] | None,
        context: Any,
        operation_name: str | None,
        *,
        writes: bool = True,
    ) -> ExecutionResult | None:
        """The answer to a query the compiled path can read (or, with ``writes``, a create it can make), or
        ``None`` for the resolvers to answer."""
        answer = await self._answer(query, variables or {}, context, operation_name, writes)
        self.answered["resolvers" if answer is None else "compiled"] += 1
        return answer

    async def _answer(
        self, query: str, variables: dict[str, Any], context: Any, operation_name: str | None, writes: bool
    ) -> ExecutionResult | None:
        if not context.is_authenticated or has_nul(variables):
            return None
        prepared = await self.documents.prepare(query)
        plan = self._plan(prepared, operation_name)
        if plan is None or prepared.anatomy is None or prepared.nul_literal:
            return None
        operation = prepared.anatomy.operation(operation_name)
        assert operation is not None
        schema, hide = self.schema._schema, self.documents.hide_suggestions
        coerced = get_variable_values(
            schema, operation.variable_definitions or (), variables, hide_suggestions=hide
        )
        if isinstance(plan, CreatePlan):
            if isinstance(coerced, list) or not writes or not context.principal.can_write:
                return None  # the resolvers refuse these, with their words for it
            return await self._create(plan, coerced, context)
        cost = request_cost(schema, prepared.anatomy, operation_name, variables)
        if isinstance(coerced, list) or cost > self.limits.ceiling:
            return None  # the resolvers refuse these, with their words for it
        if self.ledger.over(context.user_id, self.limits.budget):
            return ExecutionResult(data=None, errors=[spent_too_much(self.limits.budget)])
        answer, rows = await self._read(plan, coerced, context)
        if answer is not None:
            self.ledger.charge(context.resources.redis, context.user_id, rows)  # read, not readable
            context.charged = True
        return answer

    def _plan(self, prepared: Prepared, operation_name: str | None) -> Plan:
        if prepared.document is None or prepared.anatomy is None or prepared.errors:
            return None
        plans = self._plans.setdefault(prepared.document, {})
        if operation_name not in plans:
            operation = prepared.anatomy.operation(operation_name)
            fragments = prepared.anatomy.fragments
            plans[operation_name] = (
                None
                if operation is None
                else self.planner.plan(operation, fragments) or self._plan_create(prepared, operation_name)
            )
        return plans[operation_name]

    def _plan_create(self, prepared: Prepared, operation_name: str | None) -> CreatePlan | None:
        anatomy = prepared.anatomy
        assert anatomy is not None
        operation = anatomy.operation(operation_name)
        assert operation is not None
        plan = plan_create(self.planner, operation, anatomy.fragments)
        if plan is None:
            return None
        # No list of the plan has a size read from the variables: its cost is the same for every input.
        return dataclasses.replace(plan, cost=request_cost(self.schema._schema, anatomy, operation_name, {}))

    def _statements(self, context: Any) -> Statements:
        if self.statements is None:
            self.statements = Statements(context.resources.engine.dialect)
        return self.statements

    async def _create(self, plan: CreatePlan, variables: Any, context: Any) -> ExecutionResult | None:
        if self.creates is None:
            limits = self.limits
            self.creates = Creates(self.schema, self._statements(context), limits.timeout, limits.rows)
        try:
            given, cost = self.creates.input_of(plan, variables), plan.cost
        except GraphQLError:
            return None  # the resolvers say what is wrong with the arguments
        if given is None or cost > self.limits.cost or self.ledger.over(context.user_id, self.limits.budget):
            return None  # the resolvers make it, or refuse it with their words for it
        self.ledger.charge(context.resources.redis, context.user_id, cost)  # as the resolvers charge it
        context.charged = True
        try:
            data = await self.creates.run(plan, given, variables, context)
        except GraphQLError as error:  # the time ran out, or the commit failed: nothing to run again
            return ExecutionResult(data=None, errors=[format_error(error, context.request_id)])
        except Exception as error:
            if not is_unavailable(error):
                log.warning(
                    "compiled create failed; the resolvers answer",
                    request_id=context.request_id,
                    exc_info=True,
                )
            return None
        return ExecutionResult(data=data, errors=None)

    async def _read(
        self, plan: QueryPlan, variables: Any, context: Any
    ) -> tuple[ExecutionResult | None, int]:
        reading = None
        engine = context.resources.engine
        statements = self._statements(context)
        user, most = context.user_id, self.limits.rows
        try:
            async with asyncio.timeout(self.limits.timeout), raw_read_as(engine, user) as raw:
                reading = Reading(raw, statements, user, variables, self.schema, most)
                data = await reading.answer(plan)
        except TooManyRows:
            return ExecutionResult(data=None, errors=[too_many_rows(self.limits.rows)]), self.limits.rows
        except (Fallback, DomainError):
            return None, 0  # the resolvers say it, with their words for it
        except TimeoutError:
            read = reading.rows_read if reading is not None else 0
            return ExecutionResult(data=None, errors=[operation_timeout(self.limits.timeout)]), read
        except Exception as error:
            if not is_unavailable(error):
                log.warning(
                    "compiled read failed; the resolvers answer", request_id=context.request_id, exc_info=True
                )
            return None, 0
        return ExecutionResult(data=data, errors=None), reading.rows_read


Plan = QueryPlan | CreatePlan | None


def too_many_rows(limit: int) -> GraphQLError:
    message = (
        f"The query read more than {limit:,} rows and was stopped: ask for smaller pages, "
        "or fewer levels at once"
    )
    return GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX"})


__all__ = ["CompiledReads", "ReadLimits"]
