"""What the HRM knows about one user at one moment: plain, immutable facts gathered from the database.

Rules, detectors and prompts read these and nothing else, so they are pure functions, testable with
hand-made facts. ``aurum.hrm.gather`` builds them from the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from aurum.hrm.preferences import Preferences
from aurum.project.model import UNDER_WAY_STATUSES

SETUP_SECONDS = 120
MIN_HISTORY_DAYS = 14  # balance is judged only after this long, and this much completed work in the window
MIN_COMPLETIONS = 5


def history_days(now: datetime, started: datetime) -> float:
    """How long the person has used Aurum, in days."""
    return max(0.0, (now - started).total_seconds() / 86400)


@dataclass(frozen=True)
class PillarFacts:
    id: uuid.UUID
    name: str
    time_allocation: int | None  # 0–100: the share of the person's time they plan for it
    vision_statement: str | None
    archived: bool = False
    description: str | None = None


@dataclass(frozen=True)
class AreaFacts:
    id: uuid.UUID
    pillar_id: uuid.UUID
    name: str
    importance: int  # 1–5
    archived: bool = False
    description: str | None = None


@dataclass(frozen=True)
class ProjectFacts:
    id: uuid.UUID
    area_id: uuid.UUID
    name: str
    status: str  # planning | active | on_hold | completed | cancelled
    priority: str  # low | medium | high | urgent
    importance: int  # 1–5
    deadline: date | None
    created_at: datetime
    total_tasks: int  # every task below it, closed or not (skipped occurrences excluded)
    completed_tasks: int
    last_completed_at: datetime | None  # the latest completion of any of its tasks
    archived: bool = False
    description: str | None = None

    @property
    def completion(self) -> float:
        return self.completed_tasks / self.total_tasks if self.total_tasks else 0.0


@dataclass(frozen=True)
class TaskFacts:
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    status: str  # todo | in_progress | review | completed | skipped
    priority: str
    created_at: datetime
    parent_id: uuid.UUID | None = None
    due_date: date | None = None
    due_time: time | None = None
    estimated_minutes: int | None = None
    energy: str | None = None  # low | medium | high
    category: str | None = None
    completed_at: datetime | None = None
    description: str | None = None
    dependency_ids: tuple[uuid.UUID, ...] = ()  # what it waits for
    open_dependency_ids: tuple[uuid.UUID, ...] = ()  # of those, the ones still open
    feedback: str | None = None  # the person's latest verdict on its priority: CORRECT | TOO_HIGH | TOO_LOW
    feedback_target: float | None = None  # the score that verdict holds it under (TOO_HIGH) or over (TOO_LOW)
    waiting: tuple[tuple[str, date | None], ...] = ()  # (priority, due day) of each open task waiting for it
    waited_minutes: int = 0  # the effort of the open tasks it waits for (estimates or typical lengths)
    start_date: date | None = None  # work on it can start that day (the person's zone)
    defer_until: datetime | None = None  # snoozed until then

    @property
    def is_open(self) -> bool:
        return self.status not in ("completed", "skipped")

    def not_before(self, zone: ZoneInfo) -> datetime | None:
        """When work on it can start, if not now: its start day's midnight or its snooze, the later."""
        start = None if self.start_date is None else datetime.combine(self.start_date, time(), zone)
        moments = [m for m in (start, self.defer_until) if m is not None]
        return max(moments) if moments else None

    @property
    def is_setup(self) -> bool:
        """Completed as it was made (a person entering what they already did): a record, not effort."""
        done = self.completed_at
        return done is not None and (done - self.created_at).total_seconds() < SETUP_SECONDS


@dataclass(frozen=True)
class PillarEffort:
    """Work completed under a pillar in the recent window (``Snapshot.effort_days``)."""

    pillar_id: uuid.UUID
    completed_tasks: int = 0
    completed_minutes: int = 0


@dataclass(frozen=True)
class Snapshot:
    """One user's hierarchy: every non-archived pillar, area and project, their open tasks and the tasks
    completed in the recent window, with the person's preferences and where they are in time."""

    now: datetime  # aware
    zone: ZoneInfo
    preferences: Preferences
    pillars: dict[uuid.UUID, PillarFacts] = field(default_factory=dict)
    areas: dict[uuid.UUID, AreaFacts] = field(default_factory=dict)
    projects: dict[uuid.UUID, ProjectFacts] = field(default_factory=dict)
    tasks: dict[uuid.UUID, TaskFacts] = field(default_factory=dict)
    effort: dict[uuid.UUID, PillarEffort] = field(default_factory=dict)
    effort_days: int = 30
    history_days: float = 30.0  # since the person started (hand-made snapshots: a whole window)

    def project_of(self, task: TaskFacts) -> ProjectFacts | None:
        return self.projects.get(task.project_id)

    def area_of(self, task: TaskFacts) -> AreaFacts | None:
        project = self.project_of(task)
        return self.areas.get(project.area_id) if project else None

    def pillar_of(self, task: TaskFacts) -> PillarFacts | None:
        area = self.area_of(task)
        return self.pillars.get(area.pillar_id) if area else None

    def pillar_of_project(self, project: ProjectFacts) -> PillarFacts | None:
        area = self.areas.get(project.area_id)
        return self.pillars.get(area.pillar_id) if area else None

    def tasks_of_project(self, project_id: uuid.UUID) -> list[TaskFacts]:
        return [t for t in self.tasks.values() if t.project_id == project_id]

    def open_tasks(self) -> list[TaskFacts]:
        return [t for t in self.tasks.values() if t.is_open]

    def is_under_way(self, task: TaskFacts) -> bool:
        """Whether the task's project is being worked on (planning or active): its tasks ask for work now."""
        project = self.project_of(task)
        return project is not None and project.status in UNDER_WAY_STATUSES

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.zone)

    def completed_in_window(self) -> int:
        return sum(e.completed_tasks for e in self.effort.values())

    def too_little_history(self) -> str | None:
        """Why the effort so far cannot be judged against the plan, or None when it can."""
        days, done = int(self.history_days), self.completed_in_window()
        if self.history_days >= MIN_HISTORY_DAYS and done >= MIN_COMPLETIONS:
            return None
        have = f"{days} day{'s' if days != 1 else ''} and {done} completed task{'s' if done != 1 else ''}"
        return (
            f"Not enough history yet: balance is judged after {MIN_HISTORY_DAYS} days and "
            f"{MIN_COMPLETIONS} completed tasks (so far {have})"
        )

    def planned_share(self, pillar_id: uuid.UUID) -> float:
        """The pillar's time allocation ÷ all allocations (equal shares when nobody allocated anything)."""
        active = [p for p in self.pillars.values() if not p.archived]
        total = sum(p.time_allocation or 0 for p in active)
        pillar = self.pillars.get(pillar_id)
        if pillar is None or pillar.archived:
            return 0.0
        if total == 0:
            return 1 / len(active) if active else 0.0
        return (pillar.time_allocation or 0) / total

    def actual_share(self, pillar_id: uuid.UUID) -> float | None:
        """The pillar's share of the completed effort in the window: estimated minutes when any completed
        task had an estimate, else task counts; None when nothing was completed."""
        minutes = sum(e.completed_minutes for e in self.effort.values())
        counts = sum(e.completed_tasks for e in self.effort.values())
        mine = self.effort.get(pillar_id, PillarEffort(pillar_id))
        if minutes:
            return mine.completed_minutes / minutes
        if counts:
            return mine.completed_tasks / counts
        return None
