"""The detectors: pure functions from a ``Snapshot`` and a ``Scope`` to ``Finding``s, one per rule code.

Each looks only at live records (nothing archived, nor below something archived) within the scope, and runs
only on the scope levels its rule applies to (``hrm_rules.applies_to``): a project-level pattern on a task
scope finds nothing. Confidence and impact come from the data by the formulas in each detector's docstring;
``detect`` then weighs impact by what the person optimises for.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import timedelta

from aurum.hrm.balance import neglected_pillar, pillar_imbalance
from aurum.hrm.facts import ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.findings import Evidence, Finding, Scope
from aurum.hrm.load import overload
from aurum.hrm.observing import (
    PRIORITY_RANK,
    UNDER_PROJECT,
    due_phrase,
    due_this_week,
    duration,
    finding,
    is_live,
    names,
    next_steps,
    open_in_scope,
    projects_in_scope,
    quoted,
    score_range,
    span,
)
from aurum.hrm.wording import lateness, overdue_by

Detector = Callable[[Snapshot, Scope], list[Finding]]


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
