"""From a finding to an insight draft that explains itself.

The draft carries its reasoning path from the pillar down to what it is about, its expiry, and its
recommendations trimmed to the person's detail level. Also here: the priority reasoning of one task and the
coaching line that ``today`` shows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aurum.hrm.factors import Factor, Score
from aurum.hrm.facts import AreaFacts, PillarFacts, ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.findings import NODE_TYPES, Evidence, Finding
from aurum.hrm.observing import (
    due_phrase,
    effort_shares,
    is_live,
    live_pillars,
    next_steps,
    open_subtasks,
    quoted,
    scope_key,
    score_range,
)
from aurum.hrm.preferences import MAX_RECOMMENDATIONS, Preferences
from aurum.hrm.wording import allocation as allocation_phrase
from aurum.task.rules import due_moment

EXPIRY: dict[str, timedelta] = {
    "priority_reasoning": timedelta(hours=6),
    "recommendation": timedelta(days=1),
    "obstacle_identification": timedelta(days=1),
    "alignment_analysis": timedelta(days=3),
    "pattern_recognition": timedelta(days=7),
}
DEFAULT_EXPIRY = timedelta(days=1)
SOURCES = ("rules", "llm")
PRIORITY_KEY = "PRIORITY"


def expires_at(insight_type: str, now: datetime) -> datetime:
    return now + EXPIRY.get(insight_type, DEFAULT_EXPIRY)


@dataclass(frozen=True)
class Step:
    """One level of a reasoning path: why this pillar, area, project or task matters for the insight."""

    level: str  # a scope type
    entity_type: str | None  # Pillar | Area | Project | Task, None for the global level
    entity_id: uuid.UUID | None
    reasoning: str
    confidence: float
    factors: tuple[Factor, ...] = ()

    def to_json(self) -> dict[str, Any]:
        entity = {"type": self.entity_type, "id": str(self.entity_id)} if self.entity_id else None
        return {
            "level": self.level,
            "entity": entity,
            "reasoning": self.reasoning,
            "confidence": self.confidence,
            "factors": [f.to_json() for f in self.factors],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        entity = data.get("entity")
        return cls(
            level=data["level"],
            entity_type=entity["type"] if entity else None,
            entity_id=uuid.UUID(entity["id"]) if entity else None,
            reasoning=data["reasoning"],
            confidence=float(data["confidence"]),
            factors=tuple(Factor.from_json(f) for f in data.get("factors", [])),
        )


def level_factors(parts: list[tuple[str, str, float, str]]) -> tuple[Factor, ...]:
    """Factors describing one level's inputs, each weighing the same: contribution = score × 100 ÷ count."""
    return tuple(
        Factor(
            rule_code=code,
            label=label,
            weight=1.0,
            score=score_range(score),
            contribution=round(score_range(score) * 100 / len(parts), 2),
            reason=reason,
        )
        for code, label, score, reason in parts
    )


# --- the levels


def _shares(snapshot: Snapshot, pillar: PillarFacts) -> tuple[float, float | None, float]:
    """The pillar's planned share, actual share (None: nothing completed) and how far the actual meets the
    plan (0–1; 0.5 when unknown)."""
    planned = snapshot.planned_share(pillar.id)
    shares = effort_shares(snapshot)
    actual = shares.get(pillar.id, 0.0) if shares is not None else None
    balance = min(1.0, actual / planned) if actual is not None and planned else 0.5
    return planned, actual, balance


def _pillar_step(snapshot: Snapshot, pillar: PillarFacts) -> Step:
    _, actual, balance = _shares(snapshot, pillar)
    allocation = pillar.time_allocation
    plan = allocation_phrase(snapshot, pillar)
    got = (
        f"got {actual:.0%} of the effort you completed in the last {snapshot.effort_days} days"
        if actual is not None
        else f"nothing was completed in the last {snapshot.effort_days} days"
    )
    factors = level_factors(
        [
            (
                "PILLAR_ALIGNMENT",
                "Time allocation",
                (allocation or 0) / 100,
                f"{quoted(pillar.name)} has {plan}",
            ),
            ("WORK_LIFE_BALANCE", "Effort against plan", balance, f"It {got}"),
        ]
    )
    known = (allocation is not None) + (actual is not None)
    return Step(
        "pillar",
        "Pillar",
        pillar.id,
        f"{quoted(pillar.name)} has {plan} and {got}: what happens under it weighs on that part of your"
        " life.",
        (0.5, 0.7, 0.9)[known],
        factors,
    )


def _area_step(snapshot: Snapshot, area: AreaFacts) -> Step:
    pillar = snapshot.pillars.get(area.pillar_id)
    under = f" in {quoted(pillar.name)}" if pillar else ""
    reason = f"You rated {quoted(area.name)} {area.importance}/5 in importance"
    return Step(
        "area",
        "Area",
        area.id,
        f"{reason}{under}.",
        0.9,
        level_factors([("PILLAR_ALIGNMENT", "Area importance", area.importance / 5, reason)]),
    )


DEADLINE_LADDER = ((24, 0.9), (72, 0.7), (168, 0.5))  # hours to the deadline → urgency, as the URGENCY rule


def _deadline(snapshot: Snapshot, project: ProjectFacts) -> tuple[float, str]:
    if project.deadline is None:
        return 0.0, "no deadline"
    hours = (due_moment(project.deadline, None, snapshot.zone) - snapshot.now).total_seconds() / 3600
    if hours < 0:
        return 1.0, f"its deadline ({project.deadline}) has passed"
    score = next((s for limit, s in DEADLINE_LADDER if hours <= limit), 0.2)
    return score, f"deadline {project.deadline}"


def _project_step(snapshot: Snapshot, project: ProjectFacts) -> Step:
    urgency, deadline = _deadline(snapshot, project)
    last = project.last_completed_at or project.created_at
    idle = int((snapshot.now - last).total_seconds() // 86400)
    ago = "today" if idle == 0 else f"{idle} day{'s' if idle > 1 else ''} ago"
    progress = f"{project.completion:.0%} complete ({project.completed_tasks} of {project.total_tasks} tasks)"
    factors = level_factors(
        [
            (
                "PROJECT_MOMENTUM",
                "Project progress",
                project.completion,
                f"{progress}; last completion {ago}",
            ),
            ("URGENCY", "Project deadline", urgency, deadline.capitalize()),
            (
                "PILLAR_ALIGNMENT",
                "Project importance",
                project.importance / 5,
                f"Importance {project.importance}/5",
            ),
        ]
    )
    return Step(
        "project",
        "Project",
        project.id,
        f"{quoted(project.name)} is {project.status.replace('_', ' ')}, {progress}, {deadline}.",
        0.9 if project.total_tasks else 0.6,
        factors,
    )


def _task_step(snapshot: Snapshot, task: TaskFacts, score: Score | None) -> Step:
    if score is None:
        return Step("task", "Task", task.id, f"{quoted(task.name)} has no priority score yet.", 0.5)
    top = max(score.factors, key=lambda f: f.contribution, default=None)
    why = f", most of it from {top.label.lower()}: {top.reason}" if top else ""
    return Step(
        "task",
        "Task",
        task.id,
        f"{quoted(task.name)} ranks at {score.value:.0f} of 100{why}.",
        0.9,
        score.factors,
    )


def _global_step(snapshot: Snapshot) -> Step:
    pillars = live_pillars(snapshot)
    parts = []
    for pillar in sorted(pillars, key=lambda p: p.name):
        planned, actual, balance = _shares(snapshot, pillar)
        got = f"got {actual:.0%}" if actual is not None else "nothing completed yet"
        parts.append(("WORK_LIFE_BALANCE", pillar.name, balance, f"Planned {planned:.0%}, {got}"))
    open_count = sum(1 for t in snapshot.open_tasks() if is_live(snapshot, t))
    return Step(
        "global",
        None,
        None,
        f"Across your {_count(len(pillars), 'pillar')} and {_count(open_count, 'open task')}.",
        0.9 if effort_shares(snapshot) is not None else 0.6,
        level_factors(parts) if parts else (),
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


Record = PillarFacts | AreaFacts | ProjectFacts | TaskFacts


def _above(snapshot: Snapshot, record: Record) -> Record | None:
    if isinstance(record, TaskFacts):
        return snapshot.projects.get(record.project_id)
    if isinstance(record, ProjectFacts):
        return snapshot.areas.get(record.area_id)
    if isinstance(record, AreaFacts):
        return snapshot.pillars.get(record.pillar_id)
    return None


def _path_records(snapshot: Snapshot, scope_type: str, scope_id: uuid.UUID | None) -> list[Record] | None:
    """The records from the pillar down to the scope's own, or None when the scope's record is unknown."""
    tables: dict[str, Mapping[uuid.UUID, Record]] = {
        "pillar": snapshot.pillars,
        "area": snapshot.areas,
        "project": snapshot.projects,
        "task": snapshot.tasks,
    }
    record = tables[scope_type].get(scope_id) if scope_id and scope_type in tables else None
    if record is None:
        return None
    records = [record]
    while (parent := _above(snapshot, records[0])) is not None:
        records.insert(0, parent)
    return records


def reasoning_path(
    snapshot: Snapshot, finding: Finding, scores: Mapping[uuid.UUID, Score], preferences: Preferences
) -> tuple[Step, ...]:
    """From the pillar down to the finding's scope (one ``global`` step for a global finding). Detail
    ``minimal``: the scope's own step; ``balanced``: the whole path, factors at the scope only; ``detailed``:
    the whole path with factors at every level. The scope's own step carries the finding's confidence and
    summary."""
    if finding.scope_type == "global":
        steps = [_global_step(snapshot)]
    else:
        records = _path_records(snapshot, finding.scope_type, finding.scope_id)
        if records is None:
            entity = NODE_TYPES.get(finding.scope_type)
            steps = [Step(finding.scope_type, entity, finding.scope_id, finding.summary, finding.confidence)]
        else:
            steps = [_step(snapshot, record, scores) for record in records]
    own = steps[-1]
    if finding.type == "priority_reasoning":  # its summary is the task's own reasoning, told in full
        own = replace(own, reasoning=finding.summary)
    elif own.reasoning != finding.summary:
        own = replace(own, reasoning=f"{own.reasoning} {finding.summary}")
    steps[-1] = replace(own, confidence=score_range(finding.confidence))
    if preferences.explanation_detail == "minimal":
        return (steps[-1],)
    if preferences.explanation_detail == "detailed":
        return tuple(steps)
    return (*(replace(s, factors=()) for s in steps[:-1]), steps[-1])


def _step(snapshot: Snapshot, record: Record, scores: Mapping[uuid.UUID, Score]) -> Step:
    if isinstance(record, PillarFacts):
        return _pillar_step(snapshot, record)
    if isinstance(record, AreaFacts):
        return _area_step(snapshot, record)
    if isinstance(record, ProjectFacts):
        return _project_step(snapshot, record)
    return _task_step(snapshot, record, scores.get(record.id))


# --- one task's priority


WEAK = 0.5  # a factor scoring below this (the neutral score) holds the task back; at or above it, it does not


def _lost(factor: Factor, total_weight: float) -> float:
    """The points a factor keeps the score from: its weight × (1 − score) ÷ Σ weights × 100."""
    return factor.weight * (1 - factor.score) * 100 / total_weight if total_weight else 0.0


def _weakest(factors: tuple[Factor, ...], total: float) -> Factor | None:
    """The factor that holds the score back most, if one does: a weak one (below ``WEAK``) costing ≥ 5 pts."""
    weak = [f for f in factors if f.score < WEAK and _lost(f, total) >= 5]
    return max(weak, key=lambda f: (_lost(f, total), f.rule_code), default=None)


def priority_finding(snapshot: Snapshot, task: TaskFacts, score: Score) -> Finding:
    """Why the task ranks where it does: its top factors, what holds it back, and what would move it.
    Its rule code is the top factor's (the rule that explains it most); confidence grows with the rules that
    applied (0.4 + 0.07 each, ≤ 0.95) and moves with the person's verdict on it; impact = score ÷ 100."""
    ranked = sorted(score.factors, key=lambda f: (-f.contribution, f.rule_code))
    top = ranked[:3]
    total = sum(f.weight for f in score.factors)
    weakest = _weakest(score.factors, total)
    parts = "; ".join(f"{f.label.lower()}: {f.reason} ({f.contribution:.0f} pts)" for f in top)
    summary = f"{quoted(task.name)} scores {score.value:.0f} of 100."
    if parts:
        summary += f" Most of it comes from {parts}."
    if weakest is not None:
        summary += f" It loses most on {weakest.label.lower()}: {weakest.reason}."
    verdict = {"CORRECT": 0.1, "TOO_HIGH": -0.15, "TOO_LOW": -0.15}.get(task.feedback or "", 0.0)
    return Finding(
        rule_code=top[0].rule_code if top else "EXPLICIT_PRIORITY",
        type="priority_reasoning",
        scope_type="task",
        scope_id=task.id,
        title=f"Why {quoted(task.name)} ranks at {score.value:.0f}"[:200],
        summary=summary,
        confidence=score_range(min(0.95, 0.4 + 0.07 * len(score.factors)) + verdict),
        impact=score_range(score.value / 100),
        evidence=tuple(Evidence("Task", task.id, f"{f.label}: {f.reason}") for f in ranked[:5]),
        recommendations=tuple(task_advice(snapshot, task, score))[:MAX_RECOMMENDATIONS],
        tags=("priority", *(f.rule_code.lower() for f in top[:1])),
        key=scope_key(PRIORITY_KEY, "task", task.id),
    )


PEAK_NAMES = {"morning_peak": "morning", "afternoon_peak": "afternoon", "evening_peak": "evening"}


def task_advice(snapshot: Snapshot, task: TaskFacts, score: Score) -> list[str]:
    """What would move the task, from what its factors say: waiting first (it cannot start), then time,
    then how to go about it."""
    codes = {f.rule_code: f for f in score.factors}
    advice = []
    blockers = [snapshot.tasks[d] for d in task.open_dependency_ids if d in snapshot.tasks]
    advice += [f"Unblock it first: finish {quoted(b.name)}" for b in blockers[:2]]
    if task.open_dependency_ids and not blockers:
        advice.append("Unblock it first: it waits for tasks that are still open")
    due = due_phrase(snapshot, task)
    if due and due.startswith("overdue"):
        advice.append(f"It is {due}: do it today or give it a realistic new due date")
    elif due and due.startswith(("due today", "due tomorrow")):
        advice.append(f"It is {due}: schedule it today")
    steps = next_steps(snapshot, open_subtasks(snapshot).get(task.id, []))
    if steps:
        advice.append(f"Start with its subtask {quoted(steps[0].name)}")
    peak = PEAK_NAMES.get(snapshot.preferences.energy_pattern)
    if "ENERGY_MATCH" in codes and peak and task.energy == "high":
        advice.append(f"Do it in your {peak} energy peak: it takes high energy")
    balance = codes.get("WORK_LIFE_BALANCE")
    pillar = snapshot.pillar_of(task)
    if balance is not None and balance.score > 0.6 and pillar is not None:
        advice.append(f"It moves {quoted(pillar.name)} forward, which has had less of your time than planned")
    project = snapshot.project_of(task)
    if project is not None and project.completion >= 0.75:
        advice.append(f"Finishing it brings {quoted(project.name)} close to done ({project.completion:.0%})")
    if task.estimated_minutes is None:
        advice.append("Add an estimate so it can be planned into your week")
    return advice


# --- drafts


@dataclass(frozen=True)
class InsightDraft:
    """A finding ready to be written as an insight."""

    rule_code: str
    type: str
    scope_type: str
    scope_id: uuid.UUID | None
    title: str
    summary: str
    confidence: float
    impact: float
    evidence: tuple[Evidence, ...]
    recommendations: tuple[str, ...]
    tags: tuple[str, ...]
    key: str
    reasoning_path: tuple[Step, ...]
    expires_at: datetime
    source: str  # rules | llm
    model: str | None = None

    def reasoning_json(self) -> list[dict[str, Any]]:
        return [step.to_json() for step in self.reasoning_path]


def draft(
    snapshot: Snapshot,
    finding: Finding,
    scores: Mapping[uuid.UUID, Score],
    preferences: Preferences,
    *,
    source: str = "rules",
    model: str | None = None,
) -> InsightDraft:
    """The finding as an insight: recommendations trimmed to the detail level (never more than five),
    confidence and impact within 0–1, its reasoning path and its expiry."""
    if source not in SOURCES:
        raise ValueError(f"unknown insight source {source!r}")
    limit = min(MAX_RECOMMENDATIONS, preferences.max_recommendations)
    return InsightDraft(
        rule_code=finding.rule_code,
        type=finding.type,
        scope_type=finding.scope_type,
        scope_id=finding.scope_id,
        title=finding.title,
        summary=finding.summary,
        confidence=score_range(finding.confidence),
        impact=score_range(finding.impact),
        evidence=finding.evidence,
        recommendations=tuple(r for r in finding.recommendations if r.strip())[:limit],
        tags=finding.tags,
        key=finding.key or scope_key(finding.rule_code, finding.scope_type, finding.scope_id),
        reasoning_path=reasoning_path(snapshot, finding, scores, preferences),
        expires_at=expires_at(finding.type, snapshot.now),
        source=source,
        model=model,
    )


# --- coaching


def coaching(where: tuple[str, str, str], due: str | None, score: Score) -> str:
    """One line linking a task to its project, area and pillar (``where``: their names) and its strongest
    reason, e.g. "Moves 'Launch site' (Business › Product) forward; it is due tomorrow"."""
    project, area, pillar = where
    text = f"Moves {quoted(project)} ({pillar} › {area}) forward"
    top = max(score.factors, key=lambda f: f.contribution, default=None)
    if top is None:
        return text
    if top.rule_code == "URGENCY" and due:
        return f"{text}; it is {due}"
    return f"{text}; {top.reason[:1].lower()}{top.reason[1:]}"
