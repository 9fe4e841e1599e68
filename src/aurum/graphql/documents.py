"""Documents parsed and validated once per text, in linear time, off the event loop.

Clients send the same few documents again and again, so a valid text is kept once it has come twice: a
flood of unique or invalid documents never enters the cache, and the cache is weighed by the length of its
texts. (Kept documents are live objects, about one per character, that every full collection of the cyclic
garbage collector walks: a million of them cost a 500 ms pause.) Preparing is bounded work: the parser
stops at the token limit; the shape limits (aurum.graphql.limits) are measured fragment by fragment, never
expanding one, and refuse an exponential document before graphql-core sees it; graphql-core's check that
overlapping fields can merge, the one validation rule whose work grows faster than the document, runs on a
budget of comparisons (``OVERLAP_BUDGET``). And it runs in a thread of its own: however large a document
within the limits, the event loop goes on serving other clients meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    NoSchemaIntrospectionCustomRule,
    StringValueNode,
    parse,
    specified_rules,
)
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext

from aurum.graphql.anatomy import Anatomy, anatomy_of, ast_nodes
from aurum.graphql.limits import TOO_COMPLEX, Limits, shape_errors
from aurum.graphql.validation import validate_document

# graphql-core meters the comparisons of its overlapping-fields rule and aborts past a budget: 500,000 by
# default, about a second of CPU and a quarter of a million objects of cyclic garbage here. All the clients'
# operations in one document spend 184; the same field twenty times spends 1,520.
OVERLAP_BUDGET = 2_000
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = OVERLAP_BUDGET
ABORTED = "Validation aborted."  # graphql-core's words when the budget or the interpreter's stack runs out
CACHED_CHARACTERS = 500_000  # a parsed document takes 50-130 bytes and one object per character of its text
SEEN = 8192  # texts remembered (by their hash) as seen once


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document's text, parsed and checked: why it cannot run (``errors``), or what it is."""

    document: DocumentNode | None  # None: it did not parse
    anatomy: Anatomy | None
    errors: tuple[GraphQLError, ...]
    nul_literal: bool = False  # a string literal holds U+0000, which PostgreSQL cannot store


class Documents:
    def __init__(self, schema: GraphQLSchema, limits: Limits, tokens: int, *, production: bool) -> None:
        self.schema = schema
        self.limits = limits
        self.tokens = tokens
        self.hide_suggestions = production  # "Did you mean …?" would reveal the schema introspection hides
        self.rules = (
            *specified_rules,
            MaybeNullValidationRule,
            OneOfInputValidationRule,
            *((NoSchemaIntrospectionCustomRule,) if production else ()),
        )
        self._cache: OrderedDict[str, Prepared] = OrderedDict()
        self._cached_characters = 0
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._pending: dict[str, asyncio.Future[Prepared]] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aurum-documents")

    async def prepare(self, text: str) -> Prepared:
        """The prepared document for this text, from the cache or prepared in the worker thread (once,
        however many requests bring the same new text at the same time)."""
        found = self.cached(text)
        if found is not None:
            return found
        pending = self._pending.get(text)
        if pending is None:
            pending = asyncio.get_running_loop().run_in_executor(self._worker, self.prepare_now, text)
            self._pending[text] = pending
            pending.add_done_callback(lambda done: self._settle(text, done))
        # A caller that gives up (its client left, its time ran out) leaves the work to the others waiting.
        return await asyncio.shield(pending)

    def cached(self, text: str) -> Prepared | None:
        found = self._cache.get(text)
        if found is not None:
            self._cache.move_to_end(text)
        return found

    def prepare_now(self, text: str) -> Prepared:
        try:
            document = parse(text, max_tokens=self.tokens)
        except GraphQLSyntaxError as error:
            return Prepared(None, None, (error,))
        _untangle(document)
        anatomy = anatomy_of(document)
        errors = shape_errors(anatomy, self.limits)
        if not errors:
            found = validate_document(
                self.schema, document, self.rules, hide_suggestions=self.hide_suggestions
            )
            errors = [_too_complex() if e.message == ABORTED else e for e in found]
        nul = any(isinstance(n, StringValueNode) and "\x00" in n.value for n in ast_nodes(document))
        return Prepared(document, anatomy, tuple(errors), nul)

    def _settle(self, text: str, done: asyncio.Future[Prepared]) -> None:
        self._pending.pop(text, None)
        if done.cancelled() or done.exception() is not None or done.result().errors:
            return
        if not self._seen_before(text) or len(text) > CACHED_CHARACTERS // 4:
            return
        self._cache[text] = done.result()
        self._cached_characters += len(text)
        while self._cached_characters > CACHED_CHARACTERS:
            evicted, _ = self._cache.popitem(last=False)
            self._cached_characters -= len(evicted)

    def _seen_before(self, text: str) -> bool:
        key = hash(text)
        if key in self._seen:
            del self._seen[key]
            return True
        self._seen[key] = None
        if len(self._seen) > SEEN:
            self._seen.popitem(last=False)
        return False


def _untangle(document: DocumentNode) -> None:
    """Let go of the tokens a parsed document keeps. Each node's location holds its first and last token,
    and the tokens form a doubly linked list: thousands of objects in one cycle, which only the cyclic
    garbage collector can free, and which it walks at every collection while the document lives (measured:
    collections of 300-400 ms while hostile documents arrived). Nothing after parsing reads the tokens:
    errors take their positions from the locations' offsets."""
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        following = token.next
        token.prev = token.next = None
        token = following
    for node in ast_nodes(document):
        if node.loc is not None:
            node.loc.start_token = node.loc.end_token = None  # type: ignore[assignment]


def _too_complex() -> GraphQLError:
    message = (
        "The query is too complex to check: it repeats fields too often, within fragments or across them; "
        "ask for each field once"
    )
    return GraphQLError(message, extensions=TOO_COMPLEX)


def documents_of(schema: object) -> Documents:
    documents = getattr(schema, "documents", None)
    assert isinstance(documents, Documents), "a schema of aurum.graphql.schema.build_schema"
    return documents


def anatomy_for(ctx: ExecutionContext) -> Anatomy:
    """The anatomy of the document a request runs, as prepared (or measured again if it left the cache)."""
    prepared = prepared_for(ctx)
    if prepared is not None and prepared.anatomy is not None:
        return prepared.anatomy
    assert ctx.graphql_document is not None
    return anatomy_of(ctx.graphql_document)


def prepared_for(ctx: ExecutionContext) -> Prepared | None:
    documents: Documents | None = getattr(ctx.schema, "documents", None)
    prepared = documents.cached(ctx.query) if documents is not None and ctx.query else None
    return prepared if prepared is not None and prepared.document is ctx.graphql_document else None
