"""Statements built with SQLAlchemy once and run on asyncpg directly.

Building a statement, computing its cache key and making rows of its results cost SQLAlchemy more than the
database spends on a page of 2,000 tasks. So each statement of a plan is built and compiled once for the
arguments it is read with (the plan node and a signature of its arguments), and each request only supplies
the values that change with it, by name: the user, the parents' ids, how many rows are left to read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ClauseElement, Dialect, Integer, bindparam

LEFT = "_left"
KEPT = 2048  # statements kept compiled; a key per plan node and the values of its arguments


def rows_left() -> BindParameter[Any]:
    """How many rows the request may still read, plus one (``Select.limit``), named for each run."""
    return bindparam(LEFT, value=0, type_=Integer)


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    names: tuple[str, ...]
    values: tuple[Any, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    keep: object  # what the key names by identity, kept alive while the entry is

    def arguments(self, given: Mapping[str, Any]) -> list[Any]:
        values = [given.get(name, value) for name, value in zip(self.names, self.values, strict=True)]
        return [p(v) if p is not None else v for p, v in zip(self.processors, values, strict=True)]


class Statements:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._kept: OrderedDict[Hashable, Compiled] = OrderedDict()

    def get(self, key: Hashable | None, build: Callable[[], ClauseElement], keep: object = None) -> Compiled:
        """The statement compiled for ``key`` (``None``: one that is never the same twice, not kept)."""
        if key is None:
            return compile_once(build(), self.dialect)
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found
        found = self._kept[key] = compile_once(build(), self.dialect, keep)
        if len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return found


def compile_once(statement: ClauseElement, dialect: Dialect, keep: object = None) -> Compiled:
    compiled: Any = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    names = tuple(compiled.positiontup or ())
    processors: Mapping[str, Any] = compiled._bind_processors
    return Compiled(
        str(compiled),
        names,
        tuple(compiled.params[name] for name in names),
        tuple(processors.get(name) for name in names),
        keep,
    )


async def fetch(connection: Any, compiled: Compiled, given: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of a compiled statement on an asyncpg connection (records: by position, or by name)."""
    rows: Sequence[Any] = await connection.fetch(compiled.sql, *compiled.arguments(given))
    return rows
