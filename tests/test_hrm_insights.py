"""Findings turned into insight drafts: expiry by type, reasoning paths from the pillar down per detail level,
recommendations trimmed per detail level, a task's priority reasoning and the coaching line of ``today``."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from aurum.hrm.detectors import overdue_cluster
from aurum.hrm.factors import Factor, Score
from aurum.hrm.facts import Snapshot, TaskFacts
from aurum.hrm.findings import Finding, Scope
from aurum.hrm.insights import (
    EXPIRY,
    InsightDraft,
    Step,
    coaching,
    draft,
    expires_at,
    priority_finding,
    reasoning_path,
)
from aurum.hrm.observing import due_phrase
from aurum.hrm.preferences import Preferences
from tests.test_hrm_detectors import NOW, World


def score(value: float, *parts: tuple[str, float, float, str]) -> Score:
    """A score from (rule code, weight, score, reason); contributions as the scoring rules compute them."""
    total = sum(weight for _, weight, _, _ in parts)
    factors = tuple(
        Factor(
            code, code.replace("_", " ").capitalize(), weight, s, round(100 * weight * s / total, 2), reason
        )
        for code, weight, s, reason in parts
    )
    return Score(value, tuple(sorted(factors, key=lambda f: -f.contribution)), NOW)


URGENT = score(
    78,
    ("URGENCY", 0.9, 0.9, "Due in 1 day"),
    ("EXPLICIT_PRIORITY", 0.8, 0.75, "You marked it high"),
    ("DEPENDENCIES", 0.6, 0.5, "Waits for nothing"),
)


class Business:
    """Business › Product › Launch site › Write report (due tomorrow), waiting for nothing."""

    def __init__(self, world: World | None = None) -> None:
        self.world = world or World()
        self.pillar = self.world.pillar("Business", 40, vision="Build a calm company")
        self.other = self.world.pillar("Home", 60)
        self.world.worked(self.pillar, tasks=3, minutes=300)
        self.world.worked(self.other, tasks=1, minutes=100)
        self.area = self.world.area(self.pillar, "Product", importance=4)
        self.project = self.world.project(self.area, "Launch site", total=4, completed=3)
        self.task = self.world.task(self.project, "Write report", due=1, minutes=45, priority="high")

    def snapshot(self, **preferences: object) -> Snapshot:
        return self.world.snapshot(**preferences)

    def finding(self, scope_type: str, scope_id: uuid.UUID | None, recommendations: int = 2) -> Finding:
        return Finding(
            rule_code="QUICK_WINS",
            type="recommendation",
            scope_type=scope_type,
            scope_id=scope_id,
            title="Something worth knowing",
            summary="The finding's own words.",
            confidence=0.7,
            impact=0.6,
            recommendations=tuple(f"Step {i + 1}" for i in range(recommendations)),
            key=f"QUICK_WINS:{scope_type}:{scope_id or 'global'}",
        )


# --- expiry


@pytest.mark.parametrize(
    ("insight_type", "lasts"),
    [
        ("priority_reasoning", timedelta(hours=6)),
        ("recommendation", timedelta(days=1)),
        ("obstacle_identification", timedelta(days=1)),
        ("alignment_analysis", timedelta(days=3)),
        ("pattern_recognition", timedelta(days=7)),
        ("goal_coherence", timedelta(days=1)),
        ("time_allocation", timedelta(days=1)),
        ("progress_prediction", timedelta(days=1)),
    ],
)
def test_expiry_by_type(insight_type: str, lasts: timedelta) -> None:
    assert expires_at(insight_type, NOW) == NOW + lasts
    assert len(EXPIRY) == 5


# --- reasoning steps


def test_a_step_round_trips_through_json() -> None:
    factor = Factor("PILLAR_ALIGNMENT", "Time allocation", 1.0, 0.4, 20.0, "'Business' has 40%")
    step = Step("pillar", "Pillar", uuid.uuid4(), "Why it matters.", 0.9, (factor,))
    data = step.to_json()
    assert data["entity"] == {"type": "Pillar", "id": str(step.entity_id)}
    assert data["factors"][0]["ruleCode"] == "PILLAR_ALIGNMENT"
    assert Step.from_json(data) == step
    top = Step("global", None, None, "Across everything.", 0.6)
    assert top.to_json()["entity"] is None
    assert Step.from_json(top.to_json()) == top


LEVELS = {
    "task": ["pillar", "area", "project", "task"],
    "project": ["pillar", "area", "project"],
    "area": ["pillar", "area"],
    "pillar": ["pillar"],
    "global": ["global"],
}


@pytest.mark.parametrize("scope_type", list(LEVELS))
@pytest.mark.parametrize("detail", ["minimal", "balanced", "detailed"])
def test_reasoning_path_levels_and_factors_per_detail(scope_type: str, detail: str) -> None:
    business = Business()
    ids = {
        "task": business.task.id,
        "project": business.project.id,
        "area": business.area.id,
        "pillar": business.pillar.id,
        "global": None,
    }
    finding = business.finding(scope_type, ids[scope_type])
    preferences = Preferences(explanation_detail=detail)
    path = reasoning_path(business.snapshot(), finding, {business.task.id: URGENT}, preferences)
    expected = LEVELS[scope_type] if detail != "minimal" else [scope_type]
    assert [s.level for s in path] == expected
    assert [s.entity_id for s in path] == [ids[level] for level in expected]
    with_factors = [bool(s.factors) for s in path]
    if detail == "detailed":
        assert all(with_factors)
    else:
        assert with_factors == [False] * (len(path) - 1) + [True]
    own = path[-1]
    assert own.confidence == finding.confidence
    assert own.reasoning.endswith("The finding's own words.")
    assert all(s.reasoning and 0 <= s.confidence <= 1 for s in path)


def test_each_level_says_why_it_matters() -> None:
    business = Business()
    finding = business.finding("task", business.task.id)
    path = reasoning_path(
        business.snapshot(), finding, {business.task.id: URGENT}, Preferences(explanation_detail="detailed")
    )
    pillar, area, project, task = path
    assert pillar.entity_type == "Pillar"
    assert "40% time allocation" in pillar.reasoning
    assert "got 75% of the effort you completed" in pillar.reasoning
    assert [(f.rule_code, f.score, f.contribution) for f in pillar.factors] == [
        ("PILLAR_ALIGNMENT", 0.4, 20.0),
        ("WORK_LIFE_BALANCE", 1.0, 50.0),
    ]
    assert "'Product' 4/5" in area.reasoning
    assert area.factors[0].score == pytest.approx(0.8)
    assert "'Launch site' is active, 75% complete (3 of 4 tasks)" in project.reasoning
    assert {f.rule_code for f in project.factors} == {"PROJECT_MOMENTUM", "URGENCY", "PILLAR_ALIGNMENT"}
    assert "'Write report' ranks at 78 of 100, most of it from urgency: Due in 1 day" in task.reasoning
    assert task.factors == URGENT.factors


def test_a_priority_reasoning_path_tells_the_score_once() -> None:
    business = Business()
    snapshot = business.snapshot()
    found = priority_finding(snapshot, snapshot.tasks[business.task.id], URGENT)
    path = reasoning_path(snapshot, found, {business.task.id: URGENT}, Preferences())
    assert [s.level for s in path] == ["pillar", "area", "project", "task"]
    assert path[-1].reasoning == found.summary
    assert path[-1].factors == URGENT.factors


def test_the_global_step_weighs_each_pillar_against_its_plan() -> None:
    business = Business()
    finding = business.finding("global", None)
    [step] = reasoning_path(business.snapshot(), finding, {}, Preferences(explanation_detail="minimal"))
    assert step.reasoning == "Across your 2 pillars and 1 open task. The finding's own words."
    assert [(f.rule_code, f.label, f.score) for f in step.factors] == [
        ("WORK_LIFE_BALANCE", "Business", 1.0),
        ("WORK_LIFE_BALANCE", "Home", pytest.approx(0.25 / 0.6, abs=1e-3)),
    ]


def test_a_task_without_a_score_and_a_scope_the_snapshot_does_not_know() -> None:
    business = Business()
    finding = business.finding("task", business.task.id)
    path = reasoning_path(business.snapshot(), finding, {}, Preferences())
    assert path[-1].factors == ()
    assert "no priority score yet" in path[-1].reasoning
    stranger = business.finding("project", uuid.uuid4())
    [only] = reasoning_path(business.snapshot(), stranger, {}, Preferences(explanation_detail="detailed"))
    assert (only.level, only.entity_type, only.entity_id) == ("project", "Project", stranger.scope_id)


# --- drafts


@pytest.mark.parametrize(
    ("detail", "offered", "kept"),
    [("minimal", 7, 1), ("balanced", 7, 3), ("detailed", 7, 5), ("detailed", 2, 2), ("balanced", 0, 0)],
)
def test_draft_trims_recommendations_to_the_detail_level(detail: str, offered: int, kept: int) -> None:
    business = Business()
    finding = business.finding("project", business.project.id, recommendations=offered)
    made = draft(business.snapshot(), finding, {}, Preferences(explanation_detail=detail))
    assert made.recommendations == tuple(f"Step {i + 1}" for i in range(kept))


def test_draft_carries_the_finding_with_its_path_expiry_and_source() -> None:
    business = Business()
    snapshot = business.snapshot()
    finding = business.finding("area", business.area.id)
    made = draft(snapshot, finding, {}, Preferences(), source="llm", model="gemini-2.5-flash")
    assert isinstance(made, InsightDraft)
    assert (made.rule_code, made.type, made.scope_type, made.scope_id) == (
        "QUICK_WINS",
        "recommendation",
        "area",
        business.area.id,
    )
    assert (made.title, made.summary, made.key) == (finding.title, finding.summary, finding.key)
    assert (made.source, made.model) == ("llm", "gemini-2.5-flash")
    assert made.expires_at == NOW + timedelta(days=1)
    assert [s["level"] for s in made.reasoning_json()] == ["pillar", "area"]
    with pytest.raises(ValueError, match="source"):
        draft(snapshot, finding, {}, Preferences(), source="guess")


@pytest.mark.parametrize(("given", "kept"), [((1.4, -0.2), (1.0, 0.0)), ((0.35, 0.8), (0.35, 0.8))])
def test_draft_keeps_confidence_and_impact_within_bounds(
    given: tuple[float, float], kept: tuple[float, float]
) -> None:
    business = Business()
    finding = business.finding("global", None)
    confidence, impact = given
    unbounded = Finding(**{**finding.__dict__, "confidence": confidence, "impact": impact, "key": ""})
    made = draft(business.snapshot(), unbounded, {}, Preferences())
    assert (made.confidence, made.impact) == kept
    assert made.reasoning_path[-1].confidence == kept[0]
    assert made.key == "QUICK_WINS:global:global"


def test_a_detector_finding_becomes_a_draft() -> None:
    world = World()
    project = world.place("Launch")
    for i in range(4):
        world.task(project, f"Late {i}", due=-1 - i)
    snapshot = world.snapshot()
    [finding] = overdue_cluster(snapshot, Scope("global"))
    made = draft(snapshot, finding, {}, Preferences(explanation_detail="minimal"))
    assert made.recommendations == (finding.recommendations[0],)
    assert made.expires_at == NOW + timedelta(days=1)
    assert [s.level for s in made.reasoning_path] == ["project"]
    assert made.reasoning_path[0].reasoning.endswith(finding.summary)


# --- a task's priority


def test_priority_finding_explains_the_score_from_its_top_factors() -> None:
    business = Business()
    snapshot = business.snapshot()
    found = priority_finding(snapshot, snapshot.tasks[business.task.id], URGENT)
    assert found.type == "priority_reasoning"
    assert (found.scope_type, found.scope_id) == ("task", business.task.id)
    assert found.title == "Why 'Write report' ranks at 78"
    assert found.rule_code == "URGENCY"
    assert found.impact == pytest.approx(0.78)
    assert found.key == f"PRIORITY:task:{business.task.id}"
    assert "urgency: Due in 1 day" in found.summary
    assert found.summary.index("urgency") < found.summary.index("explicit priority")
    assert found.recommendations[0] == "It is due tomorrow: schedule it today"
    assert found.evidence[0].fact == "Urgency: Due in 1 day"
    assert expires_at(found.type, NOW) == NOW + timedelta(hours=6)


def test_priority_finding_puts_unblocking_first() -> None:
    business = Business()
    world = business.world
    data = world.task(business.project, "Collect data")
    world.tasks[business.task.id] = TaskFacts(
        **{**business.task.__dict__, "dependency_ids": (data.id,), "due_date": None}
    )
    snapshot = world.snapshot()
    blocked = score(
        40, ("DEPENDENCIES", 0.6, 0.1, "Waits for 1 open task"), ("URGENCY", 0.9, 0.0, "No due date")
    )
    found = priority_finding(snapshot, snapshot.tasks[business.task.id], blocked)
    assert found.recommendations[0] == "Unblock it first: finish 'Collect data'"
    assert "It loses most on urgency: No due date" in found.summary
    assert len(found.recommendations) <= 5


@pytest.mark.parametrize(("feedback", "confidence"), [(None, 0.61), ("CORRECT", 0.71), ("TOO_HIGH", 0.46)])
def test_priority_confidence_grows_with_the_rules_and_follows_feedback(
    feedback: str | None, confidence: float
) -> None:
    business = Business()
    world = business.world
    world.tasks[business.task.id] = TaskFacts(**{**business.task.__dict__, "feedback": feedback})
    snapshot = world.snapshot()
    found = priority_finding(snapshot, snapshot.tasks[business.task.id], URGENT)
    assert found.confidence == pytest.approx(confidence)


# --- coaching


@pytest.mark.parametrize(
    ("due", "top", "line"),
    [
        (1, "URGENCY", "Moves 'Launch site' (Business › Product) forward; it is due tomorrow"),
        (-2, "URGENCY", "Moves 'Launch site' (Business › Product) forward; it is overdue by 2 days"),
        (0, "URGENCY", "Moves 'Launch site' (Business › Product) forward; it is due today"),
        (1, "EXPLICIT_PRIORITY", "Moves 'Launch site' (Business › Product) forward; you marked it high"),
        (1, None, "Moves 'Launch site' (Business › Product) forward"),
    ],
)
def test_coaching_links_the_task_to_its_hierarchy_and_top_reason(
    due: int, top: str | None, line: str
) -> None:
    world = World()
    business = Business(world)
    task = world.task(business.project, "Ship it", due=due)
    reasons = {"URGENCY": "Due soon", "EXPLICIT_PRIORITY": "You marked it high"}
    made = (
        score(70, (top, 1.0, 1.0, reasons[top]), ("TASK_AGE", 0.3, 0.3, "Added today")) if top else score(0)
    )
    snapshot = world.snapshot()
    where = ("Launch site", "Product", "Business")
    assert coaching(where, due_phrase(snapshot, snapshot.tasks[task.id]), made) == line
