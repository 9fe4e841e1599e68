"""What an analysis finds, before it becomes an insight: the shapes detectors, the model and the run share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aurum.hrm.facts import Snapshot, TaskFacts

INSIGHT_TYPES = (
    "priority_reasoning",
    "alignment_analysis",
    "pattern_recognition",
    "recommendation",
    "goal_coherence",
    "time_allocation",
    "progress_prediction",
    "obstacle_identification",
)
SCOPE_TYPES = ("global", "pillar", "area", "project", "task")
# The global-id type name of each scope level.
NODE_TYPES = {"pillar": "Pillar", "area": "Area", "project": "Project", "task": "Task"}


@dataclass(frozen=True)
class Scope:
    """What an analysis looks at: everything (``global``), or one pillar, area, project or task and what lies
    below it."""

    type: str
    id: uuid.UUID | None = None

    def contains(self, snapshot: Snapshot, task: TaskFacts) -> bool:
        if self.type == "global":
            return True
        if self.type == "task":
            return task.id == self.id or task.parent_id == self.id
        if self.type == "project":
            return task.project_id == self.id
        area = snapshot.area_of(task)
        if self.type == "area":
            return area is not None and area.id == self.id
        return area is not None and area.pillar_id == self.id

    def tasks(self, snapshot: Snapshot) -> list[TaskFacts]:
        return [t for t in snapshot.tasks.values() if self.contains(snapshot, t)]


@dataclass(frozen=True)
class Evidence:
    """One fact an insight rests on, about one record."""

    entity_type: str  # Task | Project | Area | Pillar
    entity_id: uuid.UUID
    fact: str


@dataclass(frozen=True)
class Finding:
    """One thing worth telling the person, found by a rule's detector (or the model)."""

    rule_code: str  # the detector's rule (hrm_rules.code); LLM findings carry the code "LLM"
    type: str  # one of INSIGHT_TYPES
    scope_type: str  # one of SCOPE_TYPES: what the finding is about (may be narrower than the analysis)
    scope_id: uuid.UUID | None
    title: str
    summary: str
    confidence: float  # 0–1
    impact: float  # 0–1
    evidence: tuple[Evidence, ...] = ()
    recommendations: tuple[str, ...] = ()  # most useful first; trimmed to the person's detail level later
    tags: tuple[str, ...] = ()
    key: str = ""  # stable within a run: the same finding twice has the same key (no duplicate insights)
