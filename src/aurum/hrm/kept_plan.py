"""A kept plan: ``planCommit`` stores the plan's blocks and each task's scheduled span, so that the next plan
keeps them where they are unless something forces a move, and calendars and clients see them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, delete, select, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from aurum.models import Base, UserOwned
from aurum.planning import Block, KeptBlock
from aurum.task.model import Task


class PlanBlock(UserOwned, Base):
    __tablename__ = "plan_blocks"
    __table_args__ = (
        ForeignKeyConstraint(["task_id", "user_id"], ["tasks.id", "tasks.user_id"], ondelete="CASCADE"),
        Index("ix_plan_blocks_task_id_user_id", "task_id", "user_id"),
        Index("ix_plan_blocks_user_id_starts_at", "user_id", "starts_at"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


async def kept_blocks(
    session: AsyncSession, user_id: uuid.UUID, opens: datetime, closes: datetime
) -> dict[uuid.UUID, tuple[KeptBlock, ...]]:
    """The kept blocks inside [opens, closes), per task."""
    rows = await session.execute(
        select(PlanBlock.task_id, PlanBlock.starts_at, PlanBlock.ends_at)
        .where(PlanBlock.user_id == user_id, PlanBlock.starts_at >= opens, PlanBlock.starts_at < closes)
        .order_by(PlanBlock.starts_at)
    )
    found: dict[uuid.UUID, list[KeptBlock]] = defaultdict(list)
    for row in rows:
        found[row.task_id].append(KeptBlock(row.starts_at, row.ends_at))
    return {task_id: tuple(blocks) for task_id, blocks in found.items()}


async def keep(
    session: AsyncSession, user_id: uuid.UUID, blocks: Sequence[Block], opens: datetime, closes: datetime
) -> int:
    """Replace the kept blocks inside [opens, closes) by these; each task's scheduled span follows its kept
    blocks (tasks left without any lose theirs). Returns the tasks whose span changed."""
    await session.execute(
        delete(PlanBlock).where(
            PlanBlock.user_id == user_id, PlanBlock.starts_at >= opens, PlanBlock.starts_at < closes
        )
    )
    session.add_all(
        PlanBlock(user_id=user_id, task_id=b.task_id, starts_at=b.start, ends_at=b.end) for b in blocks
    )
    await session.flush()
    spans: dict[uuid.UUID, tuple[datetime, datetime]] = {}
    for row in await session.execute(
        select(PlanBlock.task_id, PlanBlock.starts_at, PlanBlock.ends_at).where(PlanBlock.user_id == user_id)
    ):
        low, high = spans.get(row.task_id, (row.starts_at, row.ends_at))
        spans[row.task_id] = (min(low, row.starts_at), max(high, row.ends_at))
    scheduled = (
        await session.execute(
            select(Task.id, Task.scheduled_start, Task.scheduled_end, Task.version).where(
                Task.user_id == user_id, Task.scheduled_start.is_not(None) | Task.id.in_(list(spans))
            )
        )
    ).all()
    now = datetime.now(UTC)
    changed = [
        {
            "id": task.id,
            "scheduled_start": span[0],
            "scheduled_end": span[1],
            "version": task.version + 1,
            "updated_at": now,
        }
        for task in scheduled
        if (task.scheduled_start, task.scheduled_end) != (span := spans.get(task.id, (None, None)))
    ]
    if changed:  # one statement for them all, by primary key
        await session.execute(update(Task), changed)
    return len(changed)
