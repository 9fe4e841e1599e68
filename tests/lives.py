"""Varied hierarchies written straight into the database, for tests that compare answers over many shapes of
data: archived levels, every status and priority, due days around today with and without times, subtasks,
dependencies across projects, recurring series, empty projects and areas."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.db import act_as
from aurum.tables import Area, Pillar, Project, Task, TaskDependency

STATUSES = ("todo", "in_progress", "review", "completed", "skipped")
KANBAN = {"completed": "done", "skipped": "done"}  # the others: the column of their name
PRIORITIES = ("low", "medium", "high", "urgent")
PROJECT_STATUSES = ("planning", "active", "on_hold", "completed", "cancelled")
WORDS = ("Read", "Plan", "Call", "Write", "Run", "Cook", "Fix", "Learn", "Visit", "Pay", "Sort", "Draft")
Row = dict[str, Any]


@dataclass
class Life:
    """One person's rows, by table."""

    user_id: uuid.UUID
    rows: dict[Any, list[Row]] = field(default_factory=dict)

    def ids(self, model: Any) -> list[uuid.UUID]:
        return [row["id"] for row in self.rows.get(model, [])]


@dataclass
class Maker:
    rng: random.Random
    user_id: uuid.UUID
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    def row(self, **values: Any) -> Row:
        return {"id": uuid.uuid4(), "user_id": self.user_id, **values}

    def archived(self, share: float) -> Row:
        archived = self.rng.random() < share
        return {"archived": archived, "archived_at": datetime.now(UTC) if archived else None}

    def pillar(self, n: int) -> Row:
        rng = self.rng
        return self.row(
            name=f"{rng.choice(WORDS)} pillar {n}",
            sort_order=rng.randrange(3),
            time_allocation=rng.choice([None, 10, 35, 60]),
            **self.archived(0.15),
        )

    def area(self, pillar_id: uuid.UUID, n: int) -> Row:
        rng = self.rng
        return self.row(
            pillar_id=pillar_id,
            name=f"Area {n}",
            sort_order=n % 2,
            importance=rng.randint(1, 5),
            **self.archived(0.15),
        )

    def project(self, area_id: uuid.UUID, n: int) -> Row:
        rng = self.rng
        return self.row(
            area_id=area_id,
            name=f"{rng.choice(WORDS)} project {n}",
            description=rng.choice([None, "Some notes"]),
            status=rng.choice(PROJECT_STATUSES),
            priority=rng.choice(PRIORITIES),
            importance=rng.randint(1, 5),
            deadline=rng.choice([None, self.today + timedelta(days=rng.randint(-20, 40))]),
            sort_order=rng.randrange(3),
            **self.archived(0.1),
        )

    def tasks(self, project_id: uuid.UUID) -> list[Row]:
        tasks = [self.task(project_id, None, n) for n in range(self.rng.randrange(7))]
        for parent in [t for t in tasks if self.rng.random() < 0.3]:
            tasks += [self.task(project_id, parent["id"], n) for n in range(self.rng.randint(1, 3))]
        return tasks

    def task(self, project_id: uuid.UUID, parent_id: uuid.UUID | None, n: int) -> Row:
        rng = self.rng
        status = rng.choice(STATUSES)
        due = rng.choice([None, None, self.today, self.today + timedelta(days=rng.randint(-40, 40))])
        completed = datetime.now(UTC) - timedelta(hours=rng.randint(0, 500))
        task = self.row(
            project_id=project_id,
            parent_id=parent_id,
            name=f"{rng.choice(WORDS)} {rng.choice(WORDS).lower()} {n}",
            description=rng.choice([None, "", "Details"]),
            status=status,
            kanban_column=KANBAN.get(status, status),
            priority=rng.choice(PRIORITIES),
            due_date=due,
            # Far from the moment the test runs: 00:01 has passed today, 23:58 not yet (the test zone is UTC).
            due_time=rng.choice([None, time(0, 1), time(23, 58)]) if due is not None else None,
            reminder_at=rng.choice([None, datetime(2026, 5, 1, 9, 30, tzinfo=UTC)]),
            estimated_minutes=rng.choice([None, 15, 60, 240]),
            energy=rng.choice([None, "low", "medium", "high"]),
            category=rng.choice([None, "deep_work", "admin", "errand"]),
            subtasks_required=rng.random() < 0.2,
            completed_at=completed if status == "completed" else None,
            sort_order=rng.randrange(4),
        )
        return task | (self.recurrence() if rng.random() < 0.15 else {})

    def recurrence(self) -> Row:
        rng = self.rng
        return {
            "recurrence_frequency": rng.choice(["daily", "weekly", "monthly"]),
            "recurrence_interval": rng.randint(1, 3),
            "recurrence_weekdays": rng.choice([None, [0, 2, 4]]),
            "recurrence_month_day": rng.choice([None, 15]),
            "recurrence_end_date": rng.choice([None, self.today + timedelta(days=90)]),
            "recurrence_count": rng.choice([None, 10]),
            "recurrence_series_id": uuid.uuid4(),
            "recurrence_index": 1,
        }


def life(user_id: uuid.UUID, seed: int, pillars: int = 3) -> Life:
    maker = Maker(random.Random(seed), user_id)
    made = Life(user_id, {Pillar: [], Area: [], Project: [], Task: [], TaskDependency: []})
    for p in range(pillars):
        made.rows[Pillar].append(pillar := maker.pillar(p))
        for a in range(maker.rng.randrange(4)):
            made.rows[Area].append(area := maker.area(pillar["id"], a))
            for j in range(maker.rng.randrange(4)):
                made.rows[Project].append(project := maker.project(area["id"], j))
                made.rows[Task] += maker.tasks(project["id"])
    tasks = made.rows[Task]
    pairs: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for task in maker.rng.sample(tasks, len(tasks) // 3):
        other = maker.rng.choice(tasks)
        if other is not task and (task["id"], other["id"]) not in pairs:
            pairs.add((task["id"], other["id"]))
    made.rows[TaskDependency] = [
        {"task_id": waiting, "depends_on_id": on, "user_id": user_id} for waiting, on in sorted(pairs)
    ]
    return made


async def write(session: AsyncSession, made: Life) -> None:
    """Insert the rows, acting as their owner (row-level security holds for the inserts too)."""
    await act_as(session, made.user_id)
    for model in (Pillar, Area, Project, Task, TaskDependency):
        rows = made.rows.get(model, [])
        if model is Task:  # parents before their subtasks
            rows = sorted(rows, key=lambda row: row["parent_id"] is not None)
        if rows:
            keys = {key for row in rows for key in row}  # one shape for every row of the insert
            await session.execute(insert(model), [{key: row.get(key) for key in keys} for row in rows])
