"""The detectors: pure functions from a ``Snapshot`` and a ``Scope`` to ``Finding``s, one per rule code.

Each looks only at live records (nothing archived, nor below something archived) within the scope, and runs
only on the scope levels its rule applies to (``hrm_rules.applies_to``): a project-level pattern on a task
scope finds nothing. Confidence and impact come from the data by the formulas in each detector's docstring;
``detect`` then weighs impact by what the person optimises for.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from aurum.hrm.effort import working_minutes
from aurum.hrm.facts import AreaFacts, PillarFacts, ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.findings import Evidence, Finding, Scope
from aurum.hrm.preferences import MAX_RECOMMENDATIONS
from aurum.hrm.wording import allocation, due_at, lateness, overdue_by

Detector = Callable[[Snapshot, Scope], list[Finding]]

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


# --- OVERDUE_CLUSTER


def overdue_cluster(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """Overdue open tasks gathering in one place. Every project in the scope with ≥ 2 overdue tasks is a
    cluster about that project; the overdue tasks left over (one per project) group by area, and an area with
    ≥ 3 of them is a cluster about that area (not on a project scope). Overdue: due moment (end of the due day
    when no time) before now. Confidence = min(0.95, 0.6 + 0.1·n); impact = 0.2 + 0.1·n + 0.3·min(1, oldest
    days overdue / 14), n the cluster's size."""
    if scope.type not in UNDER_PROJECT:
        return []
    by_project: dict[uuid.UUID, list[TaskFacts]] = defaultdict(list)
    for task in open_in_scope(snapshot, scope):
        if overdue_by(snapshot, task) is not None:
            by_project[task.project_id].append(task)
    found, leftover = [], []
    for project_id, tasks in by_project.items():
        if len(tasks) >= 2:
            project = snapshot.projects[project_id]
            found.append(_overdue_finding(snapshot, ("project", project.id, project.name), tasks))
        else:
            leftover.extend(tasks)
    by_area: dict[uuid.UUID, list[TaskFacts]] = defaultdict(list)
    for task in leftover:
        by_area[snapshot.projects[task.project_id].area_id].append(task)
    for area_id, tasks in by_area.items():
        if len(tasks) >= 3 and scope.type != "project":
            area = snapshot.areas[area_id]
            found.append(_overdue_finding(snapshot, ("area", area.id, area.name), tasks))
    return found


def _overdue_finding(
    snapshot: Snapshot, place: tuple[str, uuid.UUID, str], tasks: list[TaskFacts]
) -> Finding:
    level, place_id, place_name = place
    late = {t.id: overdue_by(snapshot, t) or timedelta() for t in tasks}
    by = {t.id: lateness(snapshot, t) for t in tasks}
    oldest = sorted(tasks, key=lambda t: (-late[t.id], t.name))
    n = len(tasks)
    first = oldest[0]
    evidence = [Evidence(level.title(), place_id, f"{n} of its open tasks are overdue")]
    evidence += [Evidence("Task", t.id, f"overdue by {by[t.id]} (due {t.due_date})") for t in oldest]
    order = sorted(tasks, key=lambda t: (PRIORITY_RANK.get(t.priority, 2), -late[t.id], t.name))
    advice = [f"Start with {quoted(order[0].name)} ({order[0].priority}, overdue by {by[order[0].id]})"]
    advice += [f"Finish {quoted(t.name)} or give it a realistic new due date" for t in order[1:4]]
    advice.append(f"Drop what no longer matters in {quoted(place_name)} rather than letting it stay overdue")
    oldest_days = late[first.id].total_seconds() / 86400
    return finding(
        "OVERDUE_CLUSTER",
        "obstacle_identification",
        (level, place_id),
        f"{n} overdue tasks in {quoted(place_name)}",
        f"{names([t.name for t in oldest])} in {level} {quoted(place_name)} are past due; the oldest, "
        f"{quoted(first.name)}, by {by[first.id]}.",
        (min(0.95, 0.6 + 0.1 * n), 0.2 + 0.1 * n + 0.3 * min(1.0, oldest_days / 14)),
        evidence,
        advice,
        ("overdue", level),
    )


# --- STALLED_PROJECT

STALLED_DAYS = 14


def stalled_project(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """An active or planning project in the scope with open tasks and nothing completed for ≥ 14 days (counted
    from its latest completion, or its creation when it has none, so it is also ≥ 14 days old). Type
    progress_prediction: at this pace it will not finish.
    Confidence = 0.6 + 0.35·min(1, (idle days − 14) / 28);
    impact = 0.1 + 0.1·importance + 0.1 if active + 0.2 if its deadline is passed or within 30 days."""
    if scope.type not in UNDER_PROJECT:
        return []
    found = []
    for project in projects_in_scope(snapshot, scope):
        tasks = [t for t in snapshot.tasks_of_project(project.id) if t.is_open]
        idle = snapshot.now - (project.last_completed_at or project.created_at)
        if project.status in ("active", "planning") and tasks and idle >= timedelta(days=STALLED_DAYS):
            found.append(_stalled_finding(snapshot, project, tasks, idle))
    return found


def _stalled_finding(
    snapshot: Snapshot, project: ProjectFacts, tasks: list[TaskFacts], idle: timedelta
) -> Finding:
    idle_days = idle.total_seconds() / 86400
    today = snapshot.local_now.date()
    pressing = project.deadline is not None and (project.deadline - today).days <= 30
    fact = (
        f"{'nothing completed since it was created, ' if project.last_completed_at is None else ''}"
        f"{span(idle)} without a completion; {project.completed_tasks} of {project.total_tasks} "
        f"tasks done" + (f"; deadline {project.deadline}" if project.deadline else "")
    )
    evidence = [Evidence("Project", project.id, fact)]
    evidence += [
        Evidence("Task", t.id, f"open for {span(snapshot.now - t.created_at)}")
        for t in sorted(tasks, key=lambda t: t.created_at)[:5]
    ]
    advice = _restart_advice(snapshot, project, tasks, pressing)
    impact = (
        0.1 + 0.1 * project.importance + (0.1 if project.status == "active" else 0) + (0.2 if pressing else 0)
    )
    return finding(
        "STALLED_PROJECT",
        "progress_prediction",
        ("project", project.id),
        f"{quoted(project.name)} has stalled",
        f"Nothing in {quoted(project.name)} has been completed for {span(idle)} while {_open(len(tasks))}"
        " wait: at this pace it will not finish"
        + (f" by its deadline ({project.deadline})." if project.deadline else "."),
        (0.6 + 0.35 * min(1.0, (idle_days - STALLED_DAYS) / 28), impact),
        evidence,
        advice,
        ("stalled", "project", project.status),
    )


def _open(n: int) -> str:
    return f"{n} open task{'s' if n > 1 else ''}"


def _restart_advice(
    snapshot: Snapshot, project: ProjectFacts, tasks: list[TaskFacts], pressing: bool
) -> list[str]:
    advice = []
    steps = next_steps(snapshot, tasks)
    if steps:
        step = steps[0]
        size = f" ({duration(step.estimated_minutes)})" if step.estimated_minutes else ""
        advice.append(f"Restart {quoted(project.name)} with {quoted(step.name)}{size}")
    else:
        blocked = next((t for t in tasks if t.open_dependency_ids), tasks[0])
        advice.append(f"Unblock {quoted(blocked.name)} so {quoted(project.name)} can move again")
    advice.append(f"Book one short session for {quoted(project.name)} this week and finish a single task")
    if pressing:
        advice.append(
            f"Check whether the deadline of {quoted(project.name)} ({project.deadline}) still holds"
        )
    advice.append(f"If {quoted(project.name)} no longer matters, put it on hold so it stops weighing on you")
    return advice


# --- NEGLECTED_PILLAR and PILLAR_IMBALANCE

NEGLECT_RATIO = 0.5
IMBALANCE_DISTANCE = 0.3


def data_confidence(snapshot: Snapshot) -> float:
    """How far effort shares can be trusted: 0.4 with nothing completed, + 0.05 per completed task, ≤ 0.9."""
    return min(0.9, 0.4 + 0.05 * completed_count(snapshot))


def neglected_pillar(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """A live pillar with a time allocation > 0 whose share of the effort completed in the window is below
    half its planned share (allocation ÷ all allocations). Quiet with fewer than 2 live pillars (one pillar
    gets all the effort there is) and when nothing was completed in the window (no effort to share out: a new
    person, or a break, is not neglect). Global and pillar scopes only. Confidence = min(0.9, 0.4 + 0.05·tasks
    completed in the window); impact = 0.3 + (planned − actual share)."""
    if len(live_pillars(snapshot)) < 2:
        return []
    too_early = snapshot.too_little_history()
    if too_early is not None:  # said once: by PILLAR_IMBALANCE for everything, here for one pillar
        if scope.type != "pillar":
            return []
        allocated = [p for p in pillars_in_scope(snapshot, scope) if p.time_allocation]
        return [_too_early(snapshot, "NEGLECTED_PILLAR", ("pillar", p.id), [p], too_early) for p in allocated]
    shares = effort_shares(snapshot)
    if shares is None:
        return []
    found = []
    for pillar in pillars_in_scope(snapshot, scope):
        if not pillar.time_allocation:
            continue
        planned = snapshot.planned_share(pillar.id)
        actual = shares.get(pillar.id, 0.0)
        if actual < NEGLECT_RATIO * planned:
            found.append(_neglect_finding(snapshot, pillar, planned, actual))
    return found


def _neglect_finding(snapshot: Snapshot, pillar: PillarFacts, planned: float, actual: float) -> Finding:
    days = snapshot.effort_days
    got = f"{actual:.0%} of what you completed"
    tasks = [t for t in snapshot.open_tasks() if _pillar_id(snapshot, t) == pillar.id]
    evidence = [
        Evidence(
            "Pillar",
            pillar.id,
            f"{allocation(snapshot, pillar).capitalize()}; got {got} in the last {days} days",
        )
    ]
    steps = next_steps(snapshot, tasks)
    evidence += [Evidence("Task", t.id, f"open in {_place(snapshot, t)}, ready to start") for t in steps[:3]]
    advice = [f"Schedule {quoted(t.name)} ({_place(snapshot, t)}) this week" for t in steps[:3]]
    if not tasks:
        advice.append(f"Add a next step under {quoted(pillar.name)}: it has no open task")
    hours = planned * snapshot.preferences.weekly_work_minutes
    advice.append(f"Reserve about {duration(hours)} a week for {quoted(pillar.name)} to match your plan")
    advice.append(
        f"Or lower the time allocation of {quoted(pillar.name)} if {pillar.time_allocation}%"
        " no longer fits your plans"
    )
    return finding(
        "NEGLECTED_PILLAR",
        "alignment_analysis",
        ("pillar", pillar.id),
        f"{quoted(pillar.name)} is getting less of your time than planned",
        f"You planned {planned:.0%} of your time for {quoted(pillar.name)} but it got {got} in the last"
        f" {days} days.",
        (data_confidence(snapshot), 0.3 + planned - actual),
        evidence,
        advice,
        ("balance", "pillar"),
    )


def pillar_imbalance(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """The completed effort spread over the live pillars against the planned spread: total variation distance
    ½·Σ|actual − planned| ≥ 0.3, with ≥ 2 pillars and something completed. Global scope only. Confidence as
    NEGLECTED_PILLAR; impact = 0.2 + distance."""
    pillars = live_pillars(snapshot)
    if scope.type != "global" or len(pillars) < 2:
        return []
    too_early = snapshot.too_little_history()
    if too_early is not None:
        return [_too_early(snapshot, "PILLAR_IMBALANCE", ("global", None), pillars, too_early)]
    shares = effort_shares(snapshot)
    if shares is None:
        return []
    gaps = {p.id: shares[p.id] - snapshot.planned_share(p.id) for p in pillars}
    distance = sum(abs(g) for g in gaps.values()) / 2
    if round(distance, 9) < IMBALANCE_DISTANCE:
        return []
    under = sorted((p for p in pillars if gaps[p.id] < 0), key=lambda p: (gaps[p.id], p.name))
    over = sorted((p for p in pillars if gaps[p.id] > 0), key=lambda p: (-gaps[p.id], p.name))

    def shares_of(p: PillarFacts) -> str:
        return f"got {shares[p.id]:.0%}, planned {snapshot.planned_share(p.id):.0%}"

    advice = []
    for pillar in under[:2]:
        tasks = [t for t in snapshot.open_tasks() if _pillar_id(snapshot, t) == pillar.id]
        steps = next_steps(snapshot, tasks)
        start = f": start with {quoted(steps[0].name)}" if steps else ""
        advice.append(f"Give {quoted(pillar.name)} more time ({shares_of(pillar)}){start}")
    advice += [f"Ease off {quoted(p.name)} ({shares_of(p)})" for p in over[:2]]
    advice.append("Revisit your time allocations if they no longer match how you want to spend your time")
    return [
        finding(
            "PILLAR_IMBALANCE",
            "alignment_analysis",
            ("global", None),
            "Your effort is out of balance with your pillars",
            f"{distance:.0%} of your completed effort in the last {snapshot.effort_days} days went"
            f" elsewhere than planned: {quoted(over[0].name)} {shares_of(over[0])}; {quoted(under[0].name)} "
            f"{shares_of(under[0])}.",
            (data_confidence(snapshot), 0.2 + distance),
            [Evidence("Pillar", p.id, shares_of(p)) for p in sorted(pillars, key=lambda p: -abs(gaps[p.id]))],
            advice,
            ("balance", "global"),
        )
    ]


def _too_early(
    snapshot: Snapshot,
    code: str,
    about: tuple[str, uuid.UUID | None],
    pillars: Sequence[PillarFacts],
    why: str,
) -> Finding:
    """Balance is not judged on too little evidence, and the person is told so, once, quietly."""
    return finding(
        code,
        "alignment_analysis",
        about,
        "Too early to judge your balance",
        f"{why}. Tasks entered as already done count as a record, not as effort.",
        (0.9, 0.1),
        [Evidence("Pillar", p.id, allocation(snapshot, p).capitalize()) for p in pillars],
        ["Keep completing tasks as you go: the balance between your pillars is judged from that"],
        ("balance", about[0]),
    )


def _pillar_id(snapshot: Snapshot, task: TaskFacts) -> uuid.UUID | None:
    pillar = snapshot.pillar_of(task) if is_live(snapshot, task) else None
    return pillar.id if pillar else None


def _place(snapshot: Snapshot, task: TaskFacts) -> str:
    area, project = snapshot.area_of(task), snapshot.project_of(task)
    return " › ".join(x.name for x in (area, project) if x is not None)


# --- OVERLOAD


def own_minutes(task: TaskFacts, subtasks: dict[uuid.UUID, list[TaskFacts]]) -> int:
    """A task's estimate, unless its open subtasks carry estimates of their own (counted instead)."""
    if any(s.estimated_minutes for s in subtasks.get(task.id, [])):
        return 0
    return task.estimated_minutes or 0


def overload(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """The coming 7 days are today and the six days after it, in the person's time zone. The estimated minutes
    of the scope's open tasks due in them (overdue included: that work is still to do; a parent's estimate
    only when its open subtasks have none) against the person's working minutes from now to the end of those
    days (their work days and hours: ``weekly_work_minutes`` less what of today's work time has passed,
    give or take a DST hour). Fires when the load exceeds that time. Every scope; the finding is about the
    analysis scope. With r = load ÷ working time (10 when none is left):
    confidence = 0.6 + 0.35·min(1, r − 1); impact = 0.4 + 0.3·(r − 1)."""
    subtasks = open_subtasks(snapshot)
    due = [t for t in open_in_scope(snapshot, scope) if due_this_week(snapshot, t)]
    load = sum(own_minutes(t, subtasks) for t in due)
    end = week_end(snapshot)
    capacity = working_minutes(snapshot.preferences, snapshot.zone, snapshot.now, end)
    if load <= capacity:
        return []
    ratio = load / capacity if capacity else 10.0
    weighed = sorted(
        (t for t in due if own_minutes(t, subtasks)),
        key=lambda t: (due_at(snapshot, t), t.name),
    )
    unestimated = len(due) - len(weighed)
    excess = load - capacity
    summary = (
        f"Tasks due in the next 7 days need about {duration(load)} but your work hours leave"
        f" {duration(capacity)} by the end of {(end - timedelta(days=1)):%A}: {duration(excess)} too much."
    )
    if unestimated:
        summary += f" {unestimated} more due task{'s have' if unestimated > 1 else ' has'} no estimate."
    evidence = [
        Evidence("Task", t.id, f"{due_phrase(snapshot, t)}, estimated {own_minutes(t, subtasks)} min")
        for t in weighed
    ]
    return [
        finding(
            "OVERLOAD",
            "time_allocation",
            (scope.type, scope.id),
            f"{duration(load)} of work due this week, {duration(capacity)} to do it",
            summary,
            (0.6 + 0.35 * min(1.0, ratio - 1), 0.4 + 0.3 * (ratio - 1)),
            evidence,
            _lighten(snapshot, weighed, subtasks, excess, capacity),
            ("overload", "time"),
        )
    ]


def _lighten(
    snapshot: Snapshot,
    tasks: list[TaskFacts],
    subtasks: dict[uuid.UUID, list[TaskFacts]],
    excess: float,
    capacity: float,
) -> list[str]:
    """Moves to free ``excess`` minutes: least important first, then latest due, then biggest."""
    order = sorted(
        tasks,
        key=lambda t: (
            -PRIORITY_RANK.get(t.priority, 2),
            -(due_at(snapshot, t) or snapshot.now).timestamp(),
            -own_minutes(t, subtasks),
            t.name,
        ),
    )
    advice, freed = [], 0
    for task in order[:4]:
        if freed >= excess:
            break
        minutes = own_minutes(task, subtasks)
        advice.append(
            f"Move {quoted(task.name)} ({duration(minutes)}, {task.priority} priority) beyond this week"
        )
        freed += minutes
    advice.append(f"Take on no new work until this week's load fits your {duration(capacity)}")
    return advice


# --- BLOCKED_CHAIN


def blocked_chain(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """Among live open tasks, a task that waits for no open task but holds others up (a root) is reported when
    the chain behind it is ≥ 2 deep (C ← B ← A: A waits for B, which waits for C) or it blocks ≥ 3 tasks
    directly, and the root or any task behind it lies in the scope. The finding is about the root task.
    With n the tasks behind it and d the chain's depth: confidence = min(0.95, 0.7 + 0.05·n);
    impact = 0.2 + 0.08·n + 0.1·d + 0.2 if any of them is due within 7 days."""
    open_tasks = {t.id: t for t in snapshot.tasks.values() if t.is_open and is_live(snapshot, t)}
    waits = {t.id: [d for d in t.open_dependency_ids if d in open_tasks] for t in open_tasks.values()}
    holds: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for task_id, blockers in waits.items():
        for blocker in blockers:
            holds[blocker].append(task_id)
    found = []
    for root_id in sorted(holds, key=lambda i: open_tasks[i].name):
        if waits[root_id]:
            continue
        depth, behind = _behind(root_id, holds)
        chain = [open_tasks[root_id], *(open_tasks[i] for i in behind)]
        if (depth >= 2 or len(holds[root_id]) >= 3) and any(scope.contains(snapshot, t) for t in chain):
            found.append(_chain_finding(snapshot, chain, depth, holds, waits))
    return found


def _behind(root: uuid.UUID, holds: dict[uuid.UUID, list[uuid.UUID]]) -> tuple[int, list[uuid.UUID]]:
    """The depth of the longest chain waiting on ``root`` and every task behind it, nearest first."""
    behind: list[uuid.UUID] = []
    seen, level = {root}, [root]
    while level:
        level = list(dict.fromkeys(w for b in level for w in holds.get(b, []) if w not in seen))
        seen.update(level)
        behind += level
    depths: dict[uuid.UUID, int] = {}

    def depth(task_id: uuid.UUID, path: frozenset[uuid.UUID]) -> int:
        if task_id not in depths:  # dependencies never form a cycle; ``path`` only guards against bad data
            waiting = [w for w in holds.get(task_id, []) if w not in path]
            depths[task_id] = max((1 + depth(w, path | {w}) for w in waiting), default=0)
        return depths[task_id]

    return depth(root, frozenset({root})), behind


def _chain_finding(
    snapshot: Snapshot,
    chain: list[TaskFacts],
    depth: int,
    holds: dict[uuid.UUID, list[uuid.UUID]],
    waits: dict[uuid.UUID, list[uuid.UUID]],
) -> Finding:
    root, behind = chain[0], chain[1:]
    by_id = {t.id: t for t in chain}
    n = len(behind)

    def held_by(task_id: uuid.UUID) -> str:
        return names([snapshot.tasks[b].name for b in waits[task_id]])

    def holding(task_id: uuid.UUID) -> list[str]:
        return [by_id[w].name for w in holds.get(task_id, []) if w in by_id]

    direct = len(holds[root.id])
    evidence = [
        Evidence("Task", root.id, f"open, holds up {direct} task{'s' if direct > 1 else ''} directly")
    ]
    evidence += [Evidence("Task", t.id, f"waits for {held_by(t.id)}") for t in behind]
    size = f" (about {duration(root.estimated_minutes)})" if root.estimated_minutes else ""
    advice = [f"Finish {quoted(root.name)} first{size}: it unblocks {names(holding(root.id))}"]
    advice += [
        f"Then {quoted(t.name)}, which unblocks {names(holding(t.id))}" for t in behind if holding(t.id)
    ][:2]
    last = behind[-1]
    advice.append(f"Check whether {quoted(last.name)} really has to wait for {held_by(last.id)}")
    if root.estimated_minutes and root.estimated_minutes > 60:
        advice.append(f"Split {quoted(root.name)} so the work waiting on it can start sooner")
    soon = any(due_this_week(snapshot, t) for t in chain)
    return finding(
        "BLOCKED_CHAIN",
        "obstacle_identification",
        ("task", root.id),
        f"{quoted(root.name)} is holding up {n} task{'s' if n > 1 else ''}",
        f"{n} open tasks wait, directly or through others, on {quoted(root.name)} (a chain {depth} deep): "
        f"{names([t.name for t in behind])}.",
        (min(0.95, 0.7 + 0.05 * n), 0.2 + 0.08 * n + 0.1 * depth + (0.2 if soon else 0)),
        evidence,
        advice,
        ("blocked", "dependencies"),
    )


# --- QUICK_WINS

QUICK_MINUTES = 30


def quick_wins(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """≥ 2 open tasks in the scope estimated at 1–30 minutes that wait for no open task and have no open
    subtask. Not on a task scope; the finding is about the analysis scope. With n such tasks and s of them due
    within 7 days: confidence = min(0.9, 0.6 + 0.05·n); impact = min(0.8, 0.25 + 0.05·min(n, 5) + 0.2·s/n)."""
    if scope.type not in UNDER_PROJECT:
        return []
    quick = [
        t
        for t in next_steps(snapshot, open_in_scope(snapshot, scope))
        if t.estimated_minutes and t.estimated_minutes <= QUICK_MINUTES
    ]
    n = len(quick)
    if n < 2:
        return []
    total = sum(t.estimated_minutes or 0 for t in quick)
    soon = sum(1 for t in quick if due_this_week(snapshot, t))
    evidence = [Evidence("Task", t.id, _quick_fact(snapshot, t)) for t in quick]
    advice = [f"Do {quoted(t.name)} now ({t.estimated_minutes} min)" for t in quick[:4]]
    if n > 4:
        advice.append(f"Batch the other {n - 4} into one session")
    return [
        finding(
            "QUICK_WINS",
            "recommendation",
            (scope.type, scope.id),
            f"{n} quick wins of {QUICK_MINUTES} minutes or less",
            f"{names([t.name for t in quick])} can each be done in {QUICK_MINUTES} minutes or less "
            f"({duration(total)} in all) and wait for nothing.",
            (min(0.9, 0.6 + 0.05 * n), min(0.8, 0.25 + 0.05 * min(n, 5) + 0.2 * soon / n)),
            evidence,
            advice,
            ("quick-win",),
        )
    ]


def _quick_fact(snapshot: Snapshot, task: TaskFacts) -> str:
    due = due_phrase(snapshot, task)
    return f"estimated {task.estimated_minutes} min, ready to start" + (f", {due}" if due else "")


# --- all together

DETECTORS: dict[str, Detector] = {
    "OVERDUE_CLUSTER": overdue_cluster,
    "STALLED_PROJECT": stalled_project,
    "NEGLECTED_PILLAR": neglected_pillar,
    "OVERLOAD": overload,
    "BLOCKED_CHAIN": blocked_chain,
    "PILLAR_IMBALANCE": pillar_imbalance,
    "QUICK_WINS": quick_wins,
}

# What each optimisation favours (> 1) and plays down (< 1); anything unlisted weighs 1.
EMPHASIS: dict[str, dict[str, float]] = {
    "balance": {"NEGLECTED_PILLAR": 1.3, "PILLAR_IMBALANCE": 1.3, "OVERLOAD": 1.1, "QUICK_WINS": 0.8},
    "focus": {
        "OVERDUE_CLUSTER": 1.3,
        "BLOCKED_CHAIN": 1.3,
        "STALLED_PROJECT": 1.1,
        "PILLAR_IMBALANCE": 0.8,
        "NEGLECTED_PILLAR": 0.9,
    },
    "efficiency": {
        "QUICK_WINS": 1.3,
        "OVERLOAD": 1.2,
        "BLOCKED_CHAIN": 1.1,
        "PILLAR_IMBALANCE": 0.8,
        "NEGLECTED_PILLAR": 0.9,
    },
    "wellbeing": {
        "OVERLOAD": 1.3,
        "NEGLECTED_PILLAR": 1.1,
        "PILLAR_IMBALANCE": 1.1,
        "OVERDUE_CLUSTER": 0.9,
        "QUICK_WINS": 0.9,
    },
    "exploration": {"STALLED_PROJECT": 1.3, "NEGLECTED_PILLAR": 1.1, "OVERDUE_CLUSTER": 0.9, "OVERLOAD": 0.9},
}


def emphasis(optimisation: str, rule_code: str) -> float:
    return EMPHASIS.get(optimisation, {}).get(rule_code, 1.0)


def detect(snapshot: Snapshot, scope: Scope, codes: Collection[str] | None = None) -> list[Finding]:
    """Every finding of the detectors in ``codes`` (all when None; codes without a detector, such as the
    scoring rules', are passed over), impact weighed by the person's primary optimisation (at most 1), most
    impactful first."""
    chosen = DETECTORS if codes is None else {code: d for code, d in DETECTORS.items() if code in codes}
    optimisation = snapshot.preferences.primary_optimisation
    found = [
        replace(f, impact=score_range(f.impact * emphasis(optimisation, code)))
        for code, detector in chosen.items()
        for f in detector(snapshot, scope)
    ]
    return sorted(found, key=lambda f: (-f.impact, -f.confidence, f.key))
