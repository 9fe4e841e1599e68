"""The schema: every domain's queries and mutations merged, with limits and error formatting."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from aurum.account.graphql import AccountMutation
from aurum.analytics.graphql import AlignmentQuery
from aurum.apikey.graphql import ApiKeyMutation, ApiKeyQuery
from aurum.area.graphql import AreaMutation, AreaQuery
from aurum.auth.devices import SessionMutation, SessionQuery
from aurum.auth.exchange import GoogleMutation
from aurum.auth.graphql import AuthMutation, ViewerQuery
from aurum.calendar.graphql import CalendarMutation, CalendarQuery
from aurum.graphql.cost import CostLimit, Ledger
from aurum.graphql.documents import Documents
from aurum.graphql.extensions import (
    AnonymousGate,
    ErrorFormatting,
    NulGuard,
    OperationChoice,
    ScopeGate,
    format_error,
    operation_timeout,
)
from aurum.graphql.limits import Limits
from aurum.graphql.node import NodeQuery
from aurum.hrm.graphql.insights import InsightMutation, InsightQuery
from aurum.hrm.graphql.live import HrmSubscription
from aurum.hrm.graphql.plan import PlanMutation, PlanQuery
from aurum.hrm.graphql.runs import AnalysisRunQuery
from aurum.hrm.graphql.scores import ScoreQuery
from aurum.hrm.graphql.settings import HrmSettingsMutation, HrmSettingsQuery
from aurum.journal.graphql import JournalMutation, JournalQuery
from aurum.notification.graphql import NotificationMutation, NotificationQuery
from aurum.onboarding.graphql import OnboardingMutation
from aurum.pillar.graphql import PillarMutation, PillarQuery
from aurum.project.graphql import ProjectMutation, ProjectQuery
from aurum.realtime.graphql import Subscription
from aurum.resource.graphql import ResourceMutation, ResourceQuery
from aurum.search.graphql import SearchQuery
from aurum.settings import Settings
from aurum.task.graphql import TaskQuery
from aurum.task.mutations import TaskMutation
from aurum.timetrack.graphql import TimeEntryMutation, TimeEntryQuery

if TYPE_CHECKING:
    from aurum.compiled import CompiledReads


def described(merged: type, description: str) -> type:
    """``merge_types`` takes no description; give the merged root type one."""
    merged.__strawberry_definition__.description = description  # type: ignore[attr-defined]
    return merged


Query = described(
    merge_types(
        "Query",
        (
            ViewerQuery,
            NodeQuery,
            PillarQuery,
            AreaQuery,
            ProjectQuery,
            TaskQuery,
            ApiKeyQuery,
            SessionQuery,
            AlignmentQuery,
            SearchQuery,
            ResourceQuery,
            JournalQuery,
            NotificationQuery,
            ScoreQuery,
            PlanQuery,
            CalendarQuery,
            TimeEntryQuery,
            HrmSettingsQuery,
            InsightQuery,
            AnalysisRunQuery,
        ),
    ),
    "Reading: the viewer and their hierarchy, and any object by its global id.",
)
Mutation = described(
    merge_types(
        "Mutation",
        (
            AuthMutation,
            GoogleMutation,
            AccountMutation,
            ApiKeyMutation,
            SessionMutation,
            PillarMutation,
            AreaMutation,
            ProjectMutation,
            TaskMutation,
            CalendarMutation,
            PlanMutation,
            TimeEntryMutation,
            JournalMutation,
            OnboardingMutation,
            ResourceMutation,
            NotificationMutation,
            HrmSettingsMutation,
            InsightMutation,
        ),
    ),
    "Writing: each mutation runs in one transaction; expected failures come back as `userErrors`.",
)


class DiscreetExecution(StrawberryGraphQLCoreExecutionContext):
    """Production's executor: a variable's coercion error suggests no name of the schema ("Did you mean
    the enum value 'TASK'?"), which introspection being off would otherwise give away a typo at a time."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})


class AurumSchema(strawberry.Schema):
    """Documents prepared once per text off the event loop (aurum.graphql.documents); queries and mutations
    on a time budget; every result leaving with stable error codes, subscription events included
    (extensions wrap an operation, not each event of a stream); the unexpected logged once, with the
    request id."""

    documents: Documents
    operation_timeout: float
    compiled: CompiledReads | None = None

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A query the compiled path can read is answered there; anything else, and anything it leaves, by
        the resolvers."""
        if self.compiled is not None and query is not None and context_value is not None:
            writes = allowed_operation_types is None or OperationType.MUTATION in allowed_operation_types
            answer = await self.compiled.run(
                query, variable_values, context_value, operation_name, writes=writes
            )
            if answer is not None:
                return answer
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )

    async def _execute_operation(self, execution_context: ExecutionContext, *args: Any, **kwargs: Any) -> Any:
        """A query or mutation, over HTTP or a WebSocket, stopped once it has run for longer than the
        request timeout: a database that answers slowly, a lock held for long, work that grew too large."""
        budget = asyncio.timeout(self.operation_timeout)
        try:
            async with budget:
                return await super()._execute_operation(execution_context, *args, **kwargs)
        except TimeoutError:
            if not budget.expired():
                raise
        return ExecutionResult(data=None, errors=[operation_timeout(self.operation_timeout)])

    async def _prepare_operation_async(
        self, context: ExecutionContext, extensions_runner: SchemaExtensionsRunner
    ) -> PreExecutionError | None:
        if context.graphql_document is None and context.query:
            prepared = await self.documents.prepare(context.query)
            context.pre_execution_errors = list(prepared.errors)  # validated already: Strawberry skips it
            if prepared.document is None:
                return PreExecutionError(data=None, errors=list(prepared.errors))
            context.graphql_document = prepared.document
        return await super()._prepare_operation_async(context, extensions_runner)

    async def _handle_execution_result(
        self, context: ExecutionContext, result: Any, extensions_runner: Any, **options: Any
    ) -> ExecutionResult:
        handled = await super()._handle_execution_result(context, result, extensions_runner, **options)
        if isinstance(handled, ExecutionResult) and handled.errors:
            request_id = getattr(context.context, "request_id", None)
            handled.errors = [format_error(error, request_id) for error in handled.errors]
        return handled

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are answers, not log lines."""


def build_schema(settings: Settings) -> AurumSchema:
    ledger = Ledger()  # the minute budgets as this process knows them, for both paths
    extensions: list[object] = [
        ErrorFormatting,
        OperationChoice,
        AnonymousGate,
        ScopeGate,
        NulGuard,
        lambda: CostLimit(settings.max_query_cost, settings.query_budget, ledger),
    ]
    schema = AurumSchema(
        query=Query,
        mutation=Mutation,
        subscription=described(
            merge_types("Subscription", (Subscription, HrmSubscription)),
            "Following changes live, over graphql-transport-ws.",
        ),
        extensions=extensions,  # type: ignore[arg-type]
        execution_context_class=None if settings.is_development else DiscreetExecution,
    )
    limits = Limits(settings.max_query_depth, settings.max_aliases, settings.max_query_fields)
    schema.documents = Documents(
        schema._schema, limits, settings.max_tokens, production=not settings.is_development
    )
    schema.operation_timeout = settings.operation_timeout
    if settings.compiled_reads:
        from aurum.compiled import CompiledReads, ReadLimits

        most = ReadLimits(
            ceiling=settings.query_cost_ceiling,
            cost=settings.max_query_cost,
            rows=settings.max_query_rows,
            budget=settings.query_budget,
            timeout=settings.operation_timeout,
        )
        schema.compiled = CompiledReads(schema, schema.documents, most, ledger)
    return schema


def schema_sdl(settings: Settings) -> str:
    return build_schema(settings).as_str() + "\n"
