"""The scoring rules: one evaluator per rule code of ``hrm_rules``, and a task's priority score from them.

A task's score is 100 × Σ(wᵢ·sᵢ) ÷ Σwᵢ over the rules that apply to it, where sᵢ ∈ [0, 1] is the rule's score
for the task and wᵢ the person's effective weight for the rule. A rule that does not apply (no energy given,
a steady energy pattern, no feedback yet) is left out of both sums. Thresholds come from each rule's
``config`` in the table, with the seeded values as defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from aurum.hrm.effort import daily_work_minutes, task_minutes, working_minutes
from aurum.hrm.factors import Factor, Score
from aurum.hrm.facts import ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.wording import lateness
from aurum.task.rules import due_moment


@dataclass(frozen=True)
class Rating:
    score: float
    reason: str


@dataclass(frozen=True)
class RuleDef:
    """A rule as a person sees it: its label, their effective weight and its configuration."""

    code: str
    label: str
    weight: float
    config: Mapping[str, Any] = field(default_factory=dict)


Evaluator = Callable[[Snapshot, TaskFacts, Mapping[str, Any]], Rating | None]


def _setting(config: Mapping[str, Any], name: str, default: float) -> float:
    value = config.get(name, default)
    return float(value) if isinstance(value, int | float) else default


def _in_days(hours: float) -> str:
    if hours < 1:
        return "under an hour"
    if hours < 24:
        return f"{round(hours)} h"
    days = round(hours / 24)
    return "1 day" if days == 1 else f"{days} days"


SOON = 0.85  # urgency with no slack left: the work just fits before the due moment
CANNOT_MEET = 0.9  # … and when it does not fit any more
LATE_DAYS = 7  # lateness halves the distance to the ceiling each this many days


def _work_hours(minutes: float) -> str:
    hours = minutes / 60
    return f"{round(minutes)} min" if hours < 1 else f"{hours:.1f}".rstrip("0").rstrip(".") + " h"


def slack_minutes(snapshot: Snapshot, task: TaskFacts) -> tuple[float, float, float]:
    """(work time left until it is due, its effort, slack = their difference), in minutes: work time counts
    the person's work hours and days in their zone; effort is its estimate or its kind's typical length, and
    that of the open tasks it waits for, which must be done first."""
    due = due_moment(task.due_date, task.due_time, snapshot.zone) if task.due_date else snapshot.now
    left = working_minutes(snapshot.preferences, snapshot.zone, snapshot.now, due)
    effort = task_minutes(task) + (task.waited_minutes if task.open_dependency_ids else 0)
    return left, effort, left - effort


def urgency(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    """Continuous in slack (the work time left before the due moment once the task's own effort is
    done): SOON with no slack, halving with each work day of slack; past the due moment it keeps rising with
    lateness towards ``overdue`` (1.0), and a due that can no longer be met says so."""
    if task.due_date is None:
        return Rating(_setting(config, "none", 0.0), "No due date")
    ceiling, soon = _setting(config, "overdue", 1.0), _setting(config, "soon", SOON)
    cannot_meet, late_days = (
        _setting(config, "cannot_meet", CANNOT_MEET),
        _setting(config, "late_days", LATE_DAYS),
    )
    late = lateness(snapshot, task)
    if late is not None:  # worded as coaching and insights word it
        due = due_moment(task.due_date, task.due_time, snapshot.zone)
        days = (snapshot.now - due).total_seconds() / 86400
        rising = cannot_meet + (ceiling - cannot_meet) * (1 - 1 / (1 + days / max(late_days, 0.01)))
        return Rating(rising, f"Overdue by {late}")
    hours = (due_moment(task.due_date, task.due_time, snapshot.zone) - snapshot.now).total_seconds() / 3600
    left, effort, slack = slack_minutes(snapshot, task)
    if slack < 0:
        short = _work_hours(-slack)
        return Rating(
            cannot_meet,
            f"Due in {_in_days(hours)}, with {_work_hours(left)} of work time left for {_work_hours(effort)}"
            f" of work: it cannot be met ({short} short)",
        )
    day = daily_work_minutes(snapshot.preferences)
    score = soon / (1 + slack / day)
    waits = task.open_dependency_ids
    first = f", {_work_hours(task.waited_minutes)} of it in what it waits for" if waits else ""
    told = (
        f"Due in {_in_days(hours)}: {_work_hours(left)} of work time left for {_work_hours(effort)} of work"
    )
    return Rating(score, told + first)


def pillar_alignment(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    pillar, area, project = snapshot.pillar_of(task), snapshot.area_of(task), snapshot.project_of(task)
    if pillar is None or area is None or project is None:
        return None
    vision = pillar.vision_statement.strip() if pillar.vision_statement else ""
    if pillar.time_allocation is None and not vision:
        return Rating(
            _setting(config, "unaligned", 0.3), f"'{pillar.name}' has no time allocation or vision yet"
        )
    allocation = (pillar.time_allocation or 0) / 100
    vision_strength = min(1.0, len(vision.split()) / _setting(config, "vision_words", 12)) if vision else 0.0
    score = (
        0.4 * allocation + 0.3 * vision_strength + 0.2 * area.importance / 5 + 0.1 * project.importance / 5
    )
    return Rating(
        score,
        f"'{pillar.name}' gets {pillar.time_allocation or 0}% of your time; "
        f"area importance {area.importance}/5, project importance {project.importance}/5",
    )


PRIORITY_SCORES = {"low": 0.25, "medium": 0.5, "high": 0.75, "urgent": 1.0}


def explicit_priority(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    score = _setting(config, task.priority, PRIORITY_SCORES.get(task.priority, 0.5))
    return Rating(score, f"You marked it {task.priority}")


def dependencies(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    if task.open_dependency_ids:
        waiting = len(task.open_dependency_ids)
        return Rating(
            _setting(config, "blocked", 0.1), f"Waits for {waiting} open task{'s' if waiting > 1 else ''}"
        )
    if task.dependency_ids:
        return Rating(_setting(config, "ready", 0.8), "Everything it waited for is done: ready to start")
    return Rating(_setting(config, "none", 0.5), "Waits for nothing")


PEAK_HOURS = {"morning_peak": (6, 12), "afternoon_peak": (12, 17), "evening_peak": (17, 22)}
ON_PEAK = {"high": 1.0, "medium": 0.7, "low": 0.4}
OFF_PEAK = {"high": 0.3, "medium": 0.6, "low": 0.9}


def unblocking(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    """What waits for the task: each open task waiting on it adds by its priority, more when it is due within
    a week; with diminishing returns, from 0.5 up to 1. Left out when nothing waits."""
    if not task.waiting:
        return None
    soon = snapshot.local_now.date() + timedelta(days=int(_setting(config, "soon_days", 7)))
    share = _setting(config, "share", 0.6)
    left = 1.0
    pressing = dated = 0
    for priority, due in task.waiting:
        value = 0.3 + 0.4 * PRIORITY_SCORES.get(priority, 0.5)
        pressing += priority in ("urgent", "high")
        if due is not None and due <= soon:
            value += 0.3
            dated += 1
        left *= 1 - share * min(1.0, value)
    count = len(task.waiting)
    reason = f"{count} open task{'s wait' if count > 1 else ' waits'} for it"
    details = [f"{pressing} high or urgent"] if pressing else []
    details += [f"{dated} due within a week"] if dated else []
    # From a half up: a rule that applies only when something waits must lift the task, never dilute its mean.
    return Rating(0.5 + 0.5 * (1 - left), reason + (f" ({', '.join(details)})" if details else ""))


def energy_match(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    pattern = snapshot.preferences.energy_pattern
    if task.energy is None or pattern not in PEAK_HOURS:
        return None
    start, end = PEAK_HOURS[pattern]
    hour = snapshot.local_now.hour
    peak = pattern.removesuffix("_peak")
    if start <= hour < end:
        reason = f"It is {hour:02d}:00, within your {peak} energy peak; it takes {task.energy} energy"
        return Rating(ON_PEAK[task.energy], reason)
    reason = f"It is {hour:02d}:00, outside your {peak} energy peak; it takes {task.energy} energy"
    return Rating(OFF_PEAK[task.energy], reason)


MOMENTUM_STEPS = 10  # completion is rated in tenths (config "completion_steps")


def completion_step(completed: int, total: int, steps: int) -> float:
    """The completed share rounded down to a whole step (tenths by default), in integers so that it is
    exact: rating a project by its step, not its exact ratio, lets a task added or closed leave the rating of
    the project's other tasks alone until a step is crossed (the scoring job then rescores none of them)."""
    if total <= 0 or steps < 1:
        return 0.0
    return (min(completed, total) * steps // total) / steps


def _share(step: float, steps: int) -> str:
    return f"at least {step:.0%}" if step > 0 else f"under {1 / steps:.0%}"


PAUSED = {"on_hold": "is on hold: its work waits until you resume it", "cancelled": "is cancelled"}
PLANNING_SHARE = 0.8  # a project still being planned asks for less than one under way


def project_momentum(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    """How the project moves: near completion most, stalled least; a project on hold or cancelled asks for
    nothing (0.1, 0), one still being planned for a fifth less than one under way."""
    project = snapshot.project_of(task)
    if project is None:
        return None
    if project.status in PAUSED:
        return Rating(
            0.1 if project.status == "on_hold" else 0.0, f"'{project.name}' {PAUSED[project.status]}"
        )
    rating = _momentum(project, snapshot, config)
    if project.status == "planning":
        return Rating(rating.score * PLANNING_SHARE, f"{rating.reason}, still being planned")
    return rating


def _momentum(project: ProjectFacts, snapshot: Snapshot, config: Mapping[str, Any]) -> Rating:
    stalled_days = _setting(config, "stalled_days", 14)
    last = project.last_completed_at or project.created_at
    idle_days = (snapshot.now - last).total_seconds() / 86400
    steps = max(1, int(_setting(config, "completion_steps", MOMENTUM_STEPS)))
    step = completion_step(project.completed_tasks, project.total_tasks, steps)
    near = _setting(config, "near_completion", 0.75)
    if project.completion >= near:
        done = _share(max(step, near), steps)
        return Rating(0.9, f"'{project.name}' is {done} done: finishing it is close")
    if idle_days >= stalled_days:
        return Rating(0.3, f"'{project.name}' has had nothing completed for {int(idle_days)} days")
    return Rating(0.5 + 0.3 * step, f"'{project.name}' is {_share(step, steps)} done")


def task_age(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    days = max(0.0, (snapshot.now - task.created_at).total_seconds() / 86400)
    old = _setting(config, "old_days", 30)
    score = 0.3 + 0.6 * min(1.0, days / old)
    return Rating(score, "Added today" if days < 1 else f"Open for {int(days)} days")


def work_life_balance(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    pillar = snapshot.pillar_of(task)
    if pillar is None:
        return None
    if snapshot.too_little_history() is not None:  # the day count moves daily: a steady reason
        return Rating(0.5, "Not enough history yet to compare your effort with your plan")
    planned = snapshot.planned_share(pillar.id)
    actual = snapshot.actual_share(pillar.id)
    if actual is None:
        return Rating(0.5, f"Nothing completed in the last {snapshot.effort_days} days to compare with")
    gap = planned - actual
    score = min(1.0, max(0.0, 0.5 + gap))
    if gap > 0.05:
        reason = f"'{pillar.name}' got {actual:.0%} of your recent effort against {planned:.0%} planned"
    elif gap < -0.05:
        reason = f"'{pillar.name}' already got {actual:.0%} of your recent effort ({planned:.0%} planned)"
    else:
        reason = f"'{pillar.name}' gets about its planned share ({planned:.0%})"
    return Rating(score, reason)


FEEDBACK_SCORES = {"TOO_HIGH": 0.0, "TOO_LOW": 1.0, "CORRECT": 0.5}
FEEDBACK_REASONS = {
    "TOO_HIGH": "You said it ranked too high",
    "TOO_LOW": "You said it ranked too low",
    "CORRECT": "You said its priority was right",
}


def user_feedback(snapshot: Snapshot, task: TaskFacts, config: Mapping[str, Any]) -> Rating | None:
    if task.feedback is None or task.feedback == "CORRECT":
        return None
    reason = FEEDBACK_REASONS[task.feedback]
    if task.feedback_target is not None:
        side = "at most" if task.feedback == "TOO_HIGH" else "at least"
        past = (
            "under the task ranked next below"
            if task.feedback == "TOO_HIGH"
            else "over the task ranked next above"
        )
        reason += f": held {side} {task.feedback_target:g}, {past} it then"
    return Rating(FEEDBACK_SCORES[task.feedback], reason)


def held(task: TaskFacts, value: float) -> float:
    """A verdict is a constraint: a task said to rank too high stays below the task that ranked next under
    it when the person said so (too low: above the one over it). Each repeat moves it one place further."""
    target = task.feedback_target
    if target is None or task.feedback not in ("TOO_HIGH", "TOO_LOW"):
        return value
    return min(value, target) if task.feedback == "TOO_HIGH" else max(value, target)


EVALUATORS: dict[str, Evaluator] = {
    "URGENCY": urgency,
    "PILLAR_ALIGNMENT": pillar_alignment,
    "EXPLICIT_PRIORITY": explicit_priority,
    "DEPENDENCIES": dependencies,
    "UNBLOCKING": unblocking,
    "ENERGY_MATCH": energy_match,
    "PROJECT_MOMENTUM": project_momentum,
    "TASK_AGE": task_age,
    "WORK_LIFE_BALANCE": work_life_balance,
    "USER_FEEDBACK": user_feedback,
}


# What each rule reads of a task, which is what lets the scoring job rescore only what a change can move
# (aurum.hrm.ratings; tests/test_hrm_rules.py holds each evaluator to it):
PROJECT_RULES = frozenset({"PILLAR_ALIGNMENT", "PROJECT_MOMENTUM"})
"""Rate a task by its project alone (and its area and pillar): every task of a project shares the rating."""
PILLAR_RULES = frozenset({"WORK_LIFE_BALANCE"})
"""Rate a task by its pillar alone (against every pillar): every task below a pillar shares the rating."""
# The others read the task's own facts (with what it waits for and the person's verdict on it), the
# person's energy pattern and time zone, and the clock.


def score_task(snapshot: Snapshot, task: TaskFacts, rules: Mapping[str, RuleDef], now: datetime) -> Score:
    """The task's score from every scoring rule in ``rules`` (those with an evaluator)."""
    rated: list[tuple[RuleDef, Rating]] = []
    for code, rule in rules.items():
        evaluator = EVALUATORS.get(code)
        rating = evaluator(snapshot, task, rule.config) if evaluator else None
        if rating is not None and rule.weight > 0:
            rated.append((rule, Rating(min(1.0, max(0.0, rating.score)), rating.reason)))
    total = sum(rule.weight for rule, _ in rated)
    factors = tuple(
        Factor(
            rule_code=rule.code,
            label=rule.label,
            weight=round(rule.weight, 4),
            score=round(rating.score, 4),
            contribution=round(100 * rule.weight * rating.score / total, 2),
            reason=rating.reason,
        )
        for rule, rating in rated
    )
    value = (
        round(100 * sum(rule.weight * rating.score for rule, rating in rated) / total, 2) if total else 0.0
    )
    kept = round(held(task, value), 2)
    if kept != value and value > 0:  # every factor's part scaled alike, so the parts still add up
        factors = tuple(replace(f, contribution=round(f.contribution * kept / value, 2)) for f in factors)
    ordered = tuple(sorted(factors, key=lambda f: (-f.contribution, f.rule_code)))
    return Score(value=min(100.0, max(0.0, kept)), factors=ordered, computed_at=now)
