"""Loaders that several domains share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry import Info

from aurum.graphql.context import Context
from aurum.graphql.types import Progress
from aurum.task.progress import progress_by


async def progress(info: Info[Context, None], level: str, object_id: uuid.UUID) -> Progress:
    ctx = info.context
    user_id = ctx.user_id

    async def batch(ids: Sequence[uuid.UUID]) -> list[Progress]:
        async with ctx.reading() as session:
            counts = await progress_by(session, user_id, level, ids)
        return [Progress.of(*counts.get(i, (0, 0))) for i in ids]

    result: Progress = await ctx.loader(("progress", level), batch).load(object_id)
    return result
