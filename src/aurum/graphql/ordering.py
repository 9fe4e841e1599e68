"""Orderings every list offers: by sort order, name, creation and last change; the id breaks ties."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import Table, func

from aurum.graphql.types import OrderDirection
from aurum.pagination import Ordering, SortKey


@strawberry.enum(description="What a list of pillars, areas or projects is ordered by.")
class OrderField(Enum):
    SORT_ORDER = "SORT_ORDER"
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


def standard_keys(table: Table, field: str) -> tuple[SortKey, ...] | None:
    tie = SortKey(table.c.id, uuid.UUID)
    keys = {
        "SORT_ORDER": (SortKey(table.c.sort_order, int), SortKey(table.c.created_at, datetime), tie),
        "NAME": (SortKey(func.lower(table.c.name), str), tie),
        "CREATED_AT": (SortKey(table.c.created_at, datetime), tie),
        "UPDATED_AT": (SortKey(table.c.updated_at, datetime), tie),
    }
    return keys.get(field)


def ordering(table: Table, field: Enum, direction: OrderDirection) -> Ordering:
    keys = standard_keys(table, field.value)
    assert keys is not None, f"no keys for {field}"
    return Ordering(
        name=f"{table.name}:{field.value}", keys=keys, descending=direction is OrderDirection.DESC
    )
