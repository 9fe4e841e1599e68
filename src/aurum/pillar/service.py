"""Pillars: the life domains at the top of the hierarchy."""

from __future__ import annotations

import uuid
from typing import Any

from aurum import crud
from aurum.db import UnitOfWork
from aurum.pillar.model import Pillar
from aurum.validation import (
    COLOR_CHECK,
    ICON,
    LONG_TEXT,
    NAME,
    SORT_ORDER,
    int_range,
    nullable,
    validate_fields,
)

CHECKS: dict[str, Any] = {
    "name": NAME,
    "description": LONG_TEXT,
    "icon": ICON,
    "color": COLOR_CHECK,
    "sort_order": SORT_ORDER,
    "time_allocation": nullable(lambda v, f: int_range(v, f, 0, 100)),
    "vision_statement": LONG_TEXT,
}


async def create(uow: UnitOfWork, values: dict[str, Any], client_id: uuid.UUID | None) -> Pillar:
    return await crud.create_owned(uow, Pillar, validate_fields(values, CHECKS), client_id)


async def update(
    uow: UnitOfWork, pillar_id: uuid.UUID, values: dict[str, Any], expected_version: int | None
) -> Pillar:
    return await crud.update_owned(uow, Pillar, pillar_id, validate_fields(values, CHECKS), expected_version)
