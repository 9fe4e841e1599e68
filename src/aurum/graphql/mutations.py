"""The one way a mutation runs: one transaction, expected failures returned as ``userErrors``."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy.exc import IntegrityError
from strawberry import Info

from aurum import crud
from aurum.db import UnitOfWork
from aurum.errors import Conflict, DomainError, DomainErrors
from aurum.graphql.context import Context
from aurum.graphql.types import DeletePayload, UserError
from aurum.ids import decode_id
from aurum.models import UserOwned

T = TypeVar("T")


@dataclasses.dataclass
class Outcome:
    """The result of a mutation's work or the user errors that stopped it (nothing was written then)."""

    value: Any = None
    errors: list[UserError] = dataclasses.field(default_factory=list)


async def run_mutation(info: Info[Context, None], work: Callable[[UnitOfWork], Awaitable[Any]]) -> Outcome:
    ctx = info.context
    ctx.user_id  # noqa: B018  (anonymous callers stop here, as a GraphQL error)
    try:
        async with ctx.writing() as uow:
            value = await work(uow)
    except (DomainError, DomainErrors) as error:
        return Outcome(errors=UserError.from_exception(error))
    except IntegrityError:
        conflict = Conflict("This change collided with another one made at the same time; try again")
        return Outcome(errors=UserError.from_exception(conflict))
    return Outcome(value=value)


def provided(data: object, *, skip: tuple[str, ...] = ("id", "expected_version")) -> dict[str, Any]:
    """The fields of an input that the client actually sent (``UNSET`` ones left out)."""
    return {
        f.name: getattr(data, f.name)
        for f in dataclasses.fields(data)  # type: ignore[arg-type]
        if f.name not in skip and getattr(data, f.name) is not strawberry.UNSET
    }


def optional_id(value: strawberry.ID | None, type_name: str, field: list[str]) -> uuid.UUID | None:
    if value is None or value is strawberry.UNSET:
        return None
    return decode_id(str(value), type_name, field)


async def delete_mutation(
    info: Info[Context, None], model: type[UserOwned], value: strawberry.ID
) -> DeletePayload:
    """Delete the viewer's ``model`` named by the global id ``value`` (of the model's type)."""
    outcome = await run_mutation(
        info,
        lambda uow: crud.delete_owned(uow, model, decode_id(str(value), model.__name__, ["input", "id"])),
    )
    return DeletePayload(deleted_id=value if outcome.value else None, user_errors=outcome.errors)


async def archive_mutation(
    info: Info[Context, None], model: type[UserOwned], value: strawberry.ID, archived: bool
) -> Outcome:
    """Archive or bring back the viewer's ``model`` named by the global id ``value``."""
    return await run_mutation(
        info,
        lambda uow: crud.set_archived(
            uow, model, decode_id(str(value), model.__name__, ["input", "id"]), archived
        ),
    )
