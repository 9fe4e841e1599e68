"""Create, read, update, delete and archive for any user-owned model, with the retry-safety rules.

- A create with a client-given id returns the existing row when that id was already used by the same user.
- An update with ``expected_version`` fails with CONFLICT when the row has moved on.
- Another user's row is indistinguishable from a missing one.
- An update that changes nothing writes nothing: same version, no change event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.db import UnitOfWork
from aurum.errors import Conflict, NotFound
from aurum.models import Archivable, Timestamped, UserOwned

M = TypeVar("M", bound=UserOwned)


def label(model: type[UserOwned]) -> str:
    return model.__name__


async def get_owned(
    session: AsyncSession,
    model: type[M],
    object_id: uuid.UUID,
    user_id: uuid.UUID,
    field: Sequence[str],
    *,
    for_update: bool = False,
) -> M:
    statement = select(model).where(model.id == object_id, model.user_id == user_id)
    if for_update:
        statement = statement.with_for_update()
    found = await session.scalar(statement)
    if found is None:
        raise NotFound(f"No {label(model)} with this id", field)
    return found


async def create_owned(
    uow: UnitOfWork, model: type[M], values: Mapping[str, Any], client_id: uuid.UUID | None
) -> M:
    """Insert a row; repeating the create with the same client id returns the first one unchanged."""
    return (await insert_owned(uow, model, values, client_id))[0]


async def insert_owned(
    uow: UnitOfWork, model: type[M], values: Mapping[str, Any], client_id: uuid.UUID | None
) -> tuple[M, bool]:
    """``create_owned``, also saying whether the row is new (False: a repeated create)."""
    row = {**values, "user_id": uow.user_id}
    if client_id is not None:
        row["id"] = client_id
    statement = insert(model).values(**row).on_conflict_do_nothing(index_elements=["id"]).returning(model)
    created = await uow.session.scalar(statement, execution_options={"populate_existing": True})
    if created is not None:
        return created, True
    existing = await uow.session.scalar(
        select(model).where(model.id == client_id, model.user_id == uow.user_id)
    )
    if existing is None:
        raise Conflict("This id is already in use: generate a new one", ["input", "id"])
    return existing, False


async def upsert_own_row(uow: UnitOfWork, table: Table, values: Mapping[str, Any]) -> None:
    """The user's one row of ``table`` (unique on ``user_id``, e.g. preferences): created with ``values``, or
    changed to them (a new version, unless it holds them already); with no values, created with its defaults
    if missing."""
    statement = insert(table).values(user_id=uow.user_id, **values)
    if values:
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.user_id],
            set_={**values, "updated_at": func.now(), "version": table.c.version + 1},
            where=or_(*(table.c[name].is_distinct_from(statement.excluded[name]) for name in values)),
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=[table.c.user_id])
    await uow.session.execute(statement)


def check_version(obj: Timestamped, expected_version: int | None) -> None:
    if expected_version is not None and obj.version != expected_version:
        raise Conflict(
            f"This {type(obj).__name__} changed since you read it (now version {obj.version}); "
            "reload it and try again",
            ["input", "expectedVersion"],
        )


def touch(obj: UserOwned) -> None:
    obj.version = obj.version + 1
    obj.updated_at = func.now()


async def update_owned(
    uow: UnitOfWork,
    model: type[M],
    object_id: uuid.UUID,
    values: Mapping[str, Any],
    expected_version: int | None,
) -> M:
    obj = await get_owned(uow.session, model, object_id, uow.user_id, ["input", "id"], for_update=True)
    check_version(obj, expected_version)
    changed = {name: value for name, value in values.items() if getattr(obj, name) != value}
    if not changed:
        return obj
    # One UPDATE … RETURNING refreshes the row it locked, rather than a flush and a SELECT after it.
    statement = (
        update(model)
        .where(model.id == obj.id, model.user_id == uow.user_id)
        .values(**changed, version=model.version + 1, updated_at=func.now())
        .returning(model)
    )
    saved = await uow.session.scalar(
        statement, execution_options={"populate_existing": True, "synchronize_session": False}
    )
    assert saved is obj, "the row locked above is the one updated"
    return obj


def assign(obj: object, values: Mapping[str, Any]) -> bool:
    """Set the values that differ from the row's; whether any did (if none, there is nothing to save)."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


async def save(session: AsyncSession, obj: M) -> M:
    """Flush a changed row with a new version and read back what the database computed."""
    touch(obj)
    await session.flush()
    await session.refresh(obj)
    return obj


async def delete_owned(uow: UnitOfWork, model: type[M], object_id: uuid.UUID) -> uuid.UUID:
    """Delete a row; what hangs below it goes with it (foreign keys cascade)."""
    deleted = await uow.session.scalar(
        delete(model).where(model.id == object_id, model.user_id == uow.user_id).returning(model.id)
    )
    if deleted is None:
        raise NotFound(f"No {label(model)} with this id", ["input", "id"])
    return uuid.UUID(str(deleted))


async def set_archived(uow: UnitOfWork, model: type[M], object_id: uuid.UUID, archived: bool) -> M:
    obj = await get_owned(uow.session, model, object_id, uow.user_id, ["input", "id"], for_update=True)
    assert isinstance(obj, Archivable)
    if obj.archived == archived:
        return obj
    obj.archived = archived
    obj.archived_at = func.now() if archived else None
    return await save(uow.session, obj)
