"""recordChanged payloads that name only the change's own scalar fields, built without graphql-core.

Such a payload reads nothing: it is the change itself, worded. Executing it through graphql-core anyway
(an executor, a field at a time) cost a hub more than sending it to a user's sockets, once per user and
change in every burst. A selection of plain fields (aliases allowed; no fragments, directives or
arguments) of those listed in ``VALUES`` is built here instead, as the same JSON text graphql-core's path
gives (``tests/test_realtime_fanout.py`` holds the two to the same bytes); anything else takes that path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import DocumentNode, FieldNode, OperationDefinitionNode

from aurum.ids import to_global_id
from aurum.realtime.graphql import TYPE_NAMES, ChangeOperation, EntityType, encode_cursor
from aurum.realtime.reading import Change
from aurum.validation import camel

# Each field of ChangeEvent that is the change's own, as Strawberry serialises it (enums by their values,
# which are their names; DateTime in ISO format).
VALUES: dict[str, Callable[[Change], Any]] = {
    "__typename": lambda change: "ChangeEvent",
    "cursor": lambda change: encode_cursor(change.id),
    "operation": lambda change: ChangeOperation(change.operation).value,
    "entityType": lambda change: EntityType(change.entity_type).value,
    "entityId": lambda change: to_global_id(TYPE_NAMES[EntityType(change.entity_type)], change.entity_id),
    "changedFields": lambda change: [camel(f) for f in change.changed_fields],
    "occurredAt": lambda change: change.occurred_at.isoformat(),
}


@dataclass(frozen=True, slots=True)
class ScalarSelection:
    """The response key of the root field, and each selected field's key and name, in order."""

    root: str
    fields: tuple[tuple[str, str], ...]

    def payload(self, change: Change) -> str:
        """The ``next`` payload for this change, as graphql-transport-ws carries a result without errors."""
        values: dict[str, Any] = {}
        for key, name in self.fields:
            if key not in values:  # a field asked twice under one key is merged, at its first place
                values[key] = VALUES[name](change)
        return orjson.dumps({"data": {self.root: values}}).decode()


def scalar_selection(root: FieldNode, document: DocumentNode) -> ScalarSelection | None:
    """The selection of ``root`` if it names only the change's own fields, plainly; else ``None``."""
    if root.selection_set is None or any(
        not isinstance(d, OperationDefinitionNode) for d in document.definitions
    ):
        return None  # fragments defined: left to graphql-core, whether used or not
    fields = []
    for selection in root.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            return None
        if selection.selection_set is not None or selection.name.value not in VALUES:
            return None
        name = selection.name.value
        fields.append((selection.alias.value if selection.alias else name, name))
    return ScalarSelection(root.alias.value if root.alias else root.name.value, tuple(fields))
