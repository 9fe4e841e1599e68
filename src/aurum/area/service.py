"""Areas: the quarterly focus inside a pillar."""

from __future__ import annotations

import uuid
from typing import Any

from aurum import crud
from aurum.area.model import Area
from aurum.db import UnitOfWork
from aurum.pillar.model import Pillar
from aurum.validation import COLOR_CHECK, ICON, IMPORTANCE, LONG_TEXT, NAME, SORT_ORDER, validate_fields

CHECKS: dict[str, Any] = {
    "name": NAME,
    "description": LONG_TEXT,
    "icon": ICON,
    "color": COLOR_CHECK,
    "importance": IMPORTANCE,
    "sort_order": SORT_ORDER,
}


async def create(
    uow: UnitOfWork, pillar_id: uuid.UUID, values: dict[str, Any], client_id: uuid.UUID | None
) -> Area:
    cleaned = validate_fields(values, CHECKS)
    await crud.get_owned(uow.session, Pillar, pillar_id, uow.user_id, ["input", "pillarId"])
    return await crud.create_owned(uow, Area, {**cleaned, "pillar_id": pillar_id}, client_id)


async def update(
    uow: UnitOfWork,
    area_id: uuid.UUID,
    values: dict[str, Any],
    expected_version: int | None,
    pillar_id: uuid.UUID | None = None,
) -> Area:
    cleaned = validate_fields(values, CHECKS)
    if pillar_id is not None:
        await crud.get_owned(uow.session, Pillar, pillar_id, uow.user_id, ["input", "pillarId"])
        cleaned["pillar_id"] = pillar_id
    return await crud.update_owned(uow, Area, area_id, cleaned, expected_version)
