"""Projects: monthly outcomes inside an area."""

from __future__ import annotations

import uuid
from typing import Any

from aurum import crud
from aurum.area.model import Area
from aurum.db import UnitOfWork
from aurum.project.model import Project
from aurum.validation import ICON, IMPORTANCE, LONG_TEXT, NAME, NOT_NULL, SORT_ORDER, validate_fields

CHECKS: dict[str, Any] = {
    "name": NAME,
    "description": LONG_TEXT,
    "icon": ICON,
    "status": NOT_NULL,
    "priority": NOT_NULL,
    "importance": IMPORTANCE,
    "sort_order": SORT_ORDER,
}


async def create(
    uow: UnitOfWork, area_id: uuid.UUID, values: dict[str, Any], client_id: uuid.UUID | None
) -> Project:
    cleaned = validate_fields(values, CHECKS)
    await crud.get_owned(uow.session, Area, area_id, uow.user_id, ["input", "areaId"])
    return await crud.create_owned(uow, Project, {**cleaned, "area_id": area_id}, client_id)


async def update(
    uow: UnitOfWork,
    project_id: uuid.UUID,
    values: dict[str, Any],
    expected_version: int | None,
    area_id: uuid.UUID | None = None,
) -> Project:
    cleaned = validate_fields(values, CHECKS)
    if area_id is not None:
        await crud.get_owned(uow.session, Area, area_id, uow.user_id, ["input", "areaId"])
        cleaned["area_id"] = area_id
    return await crud.update_owned(uow, Project, project_id, cleaned, expected_version)
