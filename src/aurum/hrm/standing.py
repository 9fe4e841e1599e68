"""Where a scope stands: the insight an explicit analysis gives when no detector found anything, so that an
analysis of anything the person has always says something true.

With open work: what comes next and why, what is blocked and by what, and whether each deadline in the
scope holds by the plan (the greedy planner over the days until it, inside the person's work hours). With
work only in projects on hold: that it waits, and how to resume it. With nothing open: that nothing needs
attention, naming what was checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from aurum.hrm.day_plan import choose, request_of
from aurum.hrm.factors import Score
from aurum.hrm.facts import ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.findings import NODE_TYPES, Evidence, Finding, Scope
from aurum.hrm.observing import (
    finding,
    is_live,
    next_steps,
    open_in_scope,
    projects_in_scope,
    quoted,
)
from aurum.hrm.wording import lateness
from aurum.planning import Plan, plan

STATUS_RULE = "SCOPE_STATUS"
MAX_PLAN_DAYS = 28
CHECKED = (
    "overdue work, stalled projects, blocked chains, this week's load against your work hours, quick wins"
    " and the balance between your pillars"
)


def scope_name(snapshot: Snapshot, scope: Scope) -> str:
    records: Mapping[str, Mapping[uuid.UUID, object]] = {
        "pillar": snapshot.pillars,
        "area": snapshot.areas,
        "project": snapshot.projects,
        "task": snapshot.tasks,
    }
    found = records.get(scope.type, {}).get(scope.id) if scope.id else None
    return quoted(str(getattr(found, "name", ""))) if found is not None else "everything"


def _about(snapshot: Snapshot, scope: Scope) -> list[Evidence]:
    if scope.type == "global" or scope.id is None:
        return [Evidence("Pillar", p.id, f"pillar {quoted(p.name)}") for p in snapshot.pillars.values()][:5]
    return [Evidence(NODE_TYPES[scope.type], scope.id, f"the {scope.type} analysed")]


def _waiting(snapshot: Snapshot, scope: Scope) -> list[TaskFacts]:
    """Open tasks of the scope in projects on hold (or otherwise not under way)."""
    return [
        t
        for t in scope.tasks(snapshot)
        if t.is_open and is_live(snapshot, t) and not snapshot.is_under_way(t)
    ]


def _next_line(snapshot: Snapshot, task: TaskFacts, scores: Mapping[uuid.UUID, Score]) -> str:
    score = scores.get(task.id)
    if score is None or not score.factors:
        return quoted(task.name)
    top = max(score.factors, key=lambda f: f.contribution)
    return f"{quoted(task.name)} (score {score.value:.0f}: {top.reason[:1].lower()}{top.reason[1:]})"


def _blocked_lines(snapshot: Snapshot, tasks: Sequence[TaskFacts]) -> list[str]:
    lines = []
    for task in tasks:
        waits = [snapshot.tasks[d].name for d in task.open_dependency_ids if d in snapshot.tasks]
        if waits:
            lines.append(f"{quoted(task.name)} waits on {', '.join(quoted(n) for n in waits[:2])}")
    return lines


def _deadline_plan(snapshot: Snapshot, scores: Mapping[uuid.UUID, Score], deadline: date) -> Plan:
    today = snapshot.local_now.date()
    days = max(1, min(MAX_PLAN_DAYS, (deadline - today).days + 1))
    priorities = {task_id: s.value for task_id, s in scores.items()}
    tasks, _ = choose(snapshot, priorities)
    request = request_of(snapshot, tasks, priorities, today, days, timedelta(seconds=1))
    return plan(replace(request, force_greedy=True))


def deadline_line(
    snapshot: Snapshot, project: ProjectFacts, scores: Mapping[uuid.UUID, Score], plans: dict[date, Plan]
) -> str | None:
    """Whether the project's deadline holds by the plan of the person's open work until then (``plans``: the
    plans made so far, by deadline, shared by projects due the same day)."""
    if project.deadline is None:
        return None
    ends = datetime.combine(project.deadline, time(23, 59), snapshot.zone)
    if ends < snapshot.now:
        return f"its deadline {project.deadline:%a %d %b} has passed"
    if (project.deadline - snapshot.local_now.date()).days >= MAX_PLAN_DAYS:
        return f"its deadline {project.deadline:%a %d %b} is more than four weeks away"
    if project.deadline not in plans:
        plans[project.deadline] = _deadline_plan(snapshot, scores, project.deadline)
    found = plans[project.deadline]
    mine = {t.id for t in snapshot.tasks_of_project(project.id) if t.is_open}
    late = {b.task_id for b in found.blocks if b.task_id in mine and b.end > ends}
    short = {u.task_id for u in found.unscheduled if u.task_id in mine} | late
    when = f"{project.deadline:%a %d %b}"
    if not short:
        return f"by the plan, its open work fits before its deadline ({when})"
    names = [snapshot.tasks[t].name for t in short if t in snapshot.tasks]
    return (
        f"by the plan, {len(short)} of its open tasks do not fit before its deadline ({when}): "
        + ", ".join(quoted(n) for n in names[:3])
    )


def _deadline_lines(
    snapshot: Snapshot, scope: Scope, scores: Mapping[uuid.UUID, Score], most: int
) -> list[str]:
    """The first ``most`` deadlines of the scope's projects, judged; the later ones are not planned at all."""
    lines: list[str] = []
    plans: dict[date, Plan] = {}
    for project in projects_in_scope(snapshot, scope):
        if len(lines) == most:
            break
        line = deadline_line(snapshot, project, scores, plans)
        if line is not None:
            lines.append(line)
    return lines


def standing(snapshot: Snapshot, scope: Scope, scores: Mapping[uuid.UUID, Score]) -> Finding:
    """The scope's standing as one finding (see the module)."""
    name, about = scope_name(snapshot, scope), (scope.type, scope.id)
    work = open_in_scope(snapshot, scope)
    if not work:
        return _quiet_standing(snapshot, scope, name)
    steps = sorted(next_steps(snapshot, work), key=lambda t: -(scores[t.id].value if t.id in scores else 0))
    lines = [f"Next: {', '.join(_next_line(snapshot, t, scores) for t in steps[:2])}"] if steps else []
    blocked = _blocked_lines(snapshot, work)
    if blocked:
        lines.append("Blocked: " + "; ".join(blocked[:2]))
    lines += [d[0].upper() + d[1:] for d in _deadline_lines(snapshot, scope, scores, most=2)]
    late = [t for t in work if lateness(snapshot, t) is not None]
    title = f"Where {name} stands: {len(work)} open task{'s' if len(work) != 1 else ''}"
    advice = [f"Start with {quoted(t.name)}" for t in steps[:2]]
    advice += [f"Clear what {b}" for b in blocked[:1]]
    if not advice:
        advice.append(f"Finish what {name} waits on first")
    evidence = [Evidence("Task", t.id, _next_line(snapshot, t, scores)) for t in steps[:3]] or _about(
        snapshot, scope
    )
    return finding(
        STATUS_RULE,
        "progress_prediction",
        about,
        title,
        ". ".join(lines) + "." if lines else f"{len(work)} open tasks, none ready to start.",
        (0.8, 0.2 + 0.1 * min(3, len(late))),
        evidence,
        advice,
        ("status", scope.type),
    )


def _quiet_standing(snapshot: Snapshot, scope: Scope, name: str) -> Finding:
    about = (scope.type, scope.id)
    waiting = _waiting(snapshot, scope)
    if waiting:
        projects = sorted(
            {snapshot.projects[t.project_id].name for t in waiting if t.project_id in snapshot.projects}
        )
        status = snapshot.projects[waiting[0].project_id].status.replace("_", " ")
        summary = (
            f"{len(waiting)} open task{'s' if len(waiting) != 1 else ''} wait in "
            f"{', '.join(quoted(p) for p in projects[:3])} ({status}): they stay out of Today and your plan "
            "until the project is under way again."
        )
        return finding(
            STATUS_RULE,
            "progress_prediction",
            about,
            f"{name[:1].upper()}{name[1:]} is waiting: nothing in it is under way",
            summary,
            (0.9, 0.15),
            [Evidence("Project", t.project_id, f"{status}, with open work") for t in waiting[:1]]
            + _about(snapshot, scope),
            [
                f"Resume {quoted(projects[0])} when you are ready: set it to active",
                "Or cancel it if it no longer matters",
            ],
            ("status", scope.type),
        )
    return finding(
        STATUS_RULE,
        "progress_prediction",
        about,
        f"Nothing in {name} needs attention",
        f"Checked {CHECKED}: nothing needs attention, and nothing is open in {name}.",
        (0.9, 0.05),
        _about(snapshot, scope),
        [f"Add the next step to {name} when you have one"],
        ("status", scope.type),
    )
