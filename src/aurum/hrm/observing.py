"""What the detectors, insights and standings read of a snapshot within a scope, the words they say it in,
and the shape of a finding."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta

from aurum.hrm.facts import AreaFacts, PillarFacts, ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.findings import Evidence, Finding, Scope
from aurum.hrm.preferences import MAX_RECOMMENDATIONS
from aurum.hrm.wording import due_at, lateness

WEEK_DAYS = 7
PRIORITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
UNDER_PROJECT = ("global", "pillar", "area", "project")  # the scopes a project-level pattern applies to


# --- reading the snapshot


def lineage(snapshot: Snapshot, project: ProjectFacts) -> tuple[AreaFacts, PillarFacts] | None:
    """The project's area and pillar, or None when any of the three is archived or missing."""
    area = snapshot.areas.get(project.area_id)
    pillar = snapshot.pillars.get(area.pillar_id) if area else None
    if area is None or pillar is None or project.archived or area.archived or pillar.archived:
        return None
    return area, pillar


def is_live(snapshot: Snapshot, task: TaskFacts) -> bool:
    project = snapshot.project_of(task)
    return project is not None and lineage(snapshot, project) is not None


def live_pillars(snapshot: Snapshot) -> list[PillarFacts]:
    return [p for p in snapshot.pillars.values() if not p.archived]


def open_in_scope(snapshot: Snapshot, scope: Scope) -> list[TaskFacts]:
    """The scope's open tasks that ask for work now: none of a project on hold, completed or cancelled."""
    return [
        t for t in scope.tasks(snapshot) if t.is_open and is_live(snapshot, t) and snapshot.is_under_way(t)
    ]


def projects_in_scope(snapshot: Snapshot, scope: Scope) -> list[ProjectFacts]:
    found = []
    for project in snapshot.projects.values():
        line = lineage(snapshot, project)
        if line is None:
            continue
        area, pillar = line
        if (
            scope.type == "global"
            or (scope.type == "pillar" and pillar.id == scope.id)
            or (scope.type == "area" and area.id == scope.id)
            or (scope.type == "project" and project.id == scope.id)
        ):
            found.append(project)
    return found


def pillars_in_scope(snapshot: Snapshot, scope: Scope) -> list[PillarFacts]:
    if scope.type == "global":
        return live_pillars(snapshot)
    if scope.type == "pillar":
        return [p for p in live_pillars(snapshot) if p.id == scope.id]
    return []


def open_subtasks(snapshot: Snapshot) -> dict[uuid.UUID, list[TaskFacts]]:
    children: dict[uuid.UUID, list[TaskFacts]] = defaultdict(list)
    for task in snapshot.tasks.values():
        if task.parent_id is not None and task.is_open:
            children[task.parent_id].append(task)
    return children


def effort_shares(snapshot: Snapshot) -> dict[uuid.UUID, float] | None:
    """Each live pillar's share of the effort completed in the window (estimated minutes when any completed
    task had one, else task counts), like ``Snapshot.actual_share`` but over live pillars only; None when
    nothing was completed."""
    pillars = live_pillars(snapshot)
    efforts = [snapshot.effort[p.id] for p in pillars if p.id in snapshot.effort]
    minutes = sum(e.completed_minutes for e in efforts)
    counts = sum(e.completed_tasks for e in efforts)
    if not minutes and not counts:
        return None
    shares = {p.id: 0.0 for p in pillars}
    for effort in efforts:
        mine = effort.completed_minutes / minutes if minutes else effort.completed_tasks / counts
        shares[effort.pillar_id] = mine
    return shares


def completed_count(snapshot: Snapshot) -> int:
    live = {p.id for p in live_pillars(snapshot)}
    return sum(e.completed_tasks for e in snapshot.effort.values() if e.pillar_id in live)


def week_end(snapshot: Snapshot) -> datetime:
    """The end of the coming 7 days: midnight after the sixth day after today, in the person's time zone."""
    last = snapshot.local_now.date() + timedelta(days=WEEK_DAYS)
    return datetime.combine(last, time(), tzinfo=snapshot.zone)


def due_this_week(snapshot: Snapshot, task: TaskFacts) -> bool:
    """Due in the coming 7 days (today included) or already overdue."""
    due = due_at(snapshot, task)
    return due is not None and due < week_end(snapshot)


def ready(task: TaskFacts, subtasks: dict[uuid.UUID, list[TaskFacts]]) -> bool:
    """Open, waiting for no open task and with no open subtask: it can be done right away."""
    return task.is_open and not task.open_dependency_ids and not subtasks.get(task.id)


def next_steps(snapshot: Snapshot, tasks: Iterable[TaskFacts]) -> list[TaskFacts]:
    """The tasks that can be done right away, soonest due, then most important, then shortest."""
    subtasks = open_subtasks(snapshot)
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        (t for t in tasks if ready(t, subtasks)),
        key=lambda t: (
            due_at(snapshot, t) or far,
            PRIORITY_RANK.get(t.priority, 2),
            t.estimated_minutes or 10**6,
            t.name,
        ),
    )


# --- words


def quoted(name: str) -> str:
    return f"'{name}'"


def names(items: Sequence[str], most: int = 3) -> str:
    """'a', 'b' and 'c' (and N more)."""
    if not items:
        return ""
    shown = [quoted(n) for n in items[:most]]
    rest = len(items) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 24:
        whole = max(1, math.floor(hours))
        return f"{whole} hour{'s' if whole > 1 else ''}"
    days = math.floor(hours / 24)
    return f"{days} day{'s' if days > 1 else ''}"


def duration(minutes: float) -> str:
    if minutes < 60:
        return f"{round(minutes)} min"
    hours = round(minutes / 60, 1)
    return f"{hours:g} h"


def due_phrase(snapshot: Snapshot, task: TaskFacts) -> str | None:
    """'overdue by 2 days', 'due today at 17:00', 'due tomorrow', 'due Friday' or 'due 2026-05-01'."""
    if task.due_date is None:
        return None
    late = lateness(snapshot, task)
    if late is not None:
        return f"overdue by {late}"
    days = (task.due_date - snapshot.local_now.date()).days
    at = f" at {task.due_time.strftime('%H:%M')}" if task.due_time else ""
    if days == 0:
        return f"due today{at}"
    if days == 1:
        return f"due tomorrow{at}"
    if days < 7:
        return f"due {task.due_date.strftime('%A')}{at}"
    return f"due {task.due_date.isoformat()}"


def clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scope_key(code: str, scope_type: str, scope_id: uuid.UUID | None) -> str:
    return f"{code}:{scope_type}:{scope_id or 'global'}"


def score_range(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 3)


def finding(
    code: str,
    kind: str,
    about: tuple[str, uuid.UUID | None],
    title: str,
    summary: str,
    measures: tuple[float, float],
    evidence: Iterable[Evidence],
    recommendations: Iterable[str],
    tags: tuple[str, ...],
) -> Finding:
    scope_type, scope_id = about
    confidence, impact = measures
    return Finding(
        rule_code=code,
        type=kind,
        scope_type=scope_type,
        scope_id=scope_id,
        title=clip(title),
        summary=summary,
        confidence=score_range(confidence),
        impact=score_range(impact),
        evidence=tuple(evidence),
        recommendations=tuple(recommendations)[:MAX_RECOMMENDATIONS],
        tags=tags,
        key=scope_key(code, scope_type, scope_id),
    )
