"""The detectors over hand-made snapshots: when each fires and when it does not, at its boundaries, within its
scope, past archived records, with stable keys, and with impact weighed by what the person optimises for."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aurum.hrm.balance import neglected_pillar, pillar_imbalance
from aurum.hrm.detectors import (
    DETECTORS,
    blocked_chain,
    detect,
    emphasis,
    overdue_cluster,
    quick_wins,
    stalled_project,
)
from aurum.hrm.effort import working_minutes
from aurum.hrm.facts import AreaFacts, PillarEffort, PillarFacts, ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.findings import Finding, Scope
from aurum.hrm.load import overload
from aurum.hrm.preferences import Preferences

ZONE = ZoneInfo("Europe/Paris")
TODAY = date(2026, 6, 3)  # a Wednesday
NOW = datetime.combine(TODAY, time(8, 0), tzinfo=ZONE).astimezone(UTC)
EVERYTHING = Scope("global")


@dataclass
class World:
    """A person's hierarchy built by hand; ``snapshot()`` freezes it as the HRM sees it."""

    now: datetime = NOW
    pillars: dict[uuid.UUID, PillarFacts] = field(default_factory=dict)
    areas: dict[uuid.UUID, AreaFacts] = field(default_factory=dict)
    projects: dict[uuid.UUID, ProjectFacts] = field(default_factory=dict)
    tasks: dict[uuid.UUID, TaskFacts] = field(default_factory=dict)
    effort: dict[uuid.UUID, PillarEffort] = field(default_factory=dict)

    def pillar(self, name: str = "Health", allocation: int | None = None, **fields: Any) -> PillarFacts:
        pillar = PillarFacts(uuid.uuid4(), name, allocation, fields.pop("vision", None), **fields)
        self.pillars[pillar.id] = pillar
        return pillar

    def area(
        self, pillar: PillarFacts, name: str = "Fitness", importance: int = 3, **fields: Any
    ) -> AreaFacts:
        area = AreaFacts(uuid.uuid4(), pillar.id, name, importance, **fields)
        self.areas[area.id] = area
        return area

    def project(
        self,
        area: AreaFacts,
        name: str = "Run a 10k",
        *,
        status: str = "active",
        importance: int = 3,
        deadline: date | None = None,
        age: float = 30,
        idle: float | None = 1,
        archived: bool = False,
        total: int = 4,
        completed: int = 1,
    ) -> ProjectFacts:
        """``age``: days since it was created; ``idle``: days since its latest completion (None: never)."""
        project = ProjectFacts(
            id=uuid.uuid4(),
            area_id=area.id,
            name=name,
            status=status,
            priority="medium",
            importance=importance,
            deadline=deadline,
            created_at=self.now - timedelta(days=age),
            total_tasks=total,
            completed_tasks=completed,
            last_completed_at=None if idle is None else self.now - timedelta(days=idle),
            archived=archived,
        )
        self.projects[project.id] = project
        return project

    def place(
        self, project: str = "Run a 10k", pillar: str = "Health", area: str = "Fitness", **kw: Any
    ) -> ProjectFacts:
        """A project in a pillar and area of its own."""
        return self.project(self.area(self.pillar(pillar), area), project, **kw)

    def task(
        self,
        project: ProjectFacts,
        name: str,
        *,
        due: int | None = None,
        at: time | None = None,
        minutes: int | None = None,
        status: str = "todo",
        priority: str = "medium",
        waits: tuple[TaskFacts, ...] = (),
        parent: TaskFacts | None = None,
        age: float = 5,
        energy: str | None = None,
    ) -> TaskFacts:
        """``due``: days from today (negative: in the past), at ``at`` or the end of that day."""
        task = TaskFacts(
            id=uuid.uuid4(),
            project_id=project.id,
            name=name,
            status=status,
            priority=priority,
            created_at=self.now - timedelta(days=age),
            parent_id=parent.id if parent else None,
            due_date=None if due is None else TODAY + timedelta(days=due),
            due_time=at,
            estimated_minutes=minutes,
            energy=energy,
            completed_at=self.now if status == "completed" else None,
            dependency_ids=tuple(w.id for w in waits),
        )
        self.tasks[task.id] = task
        return task

    def worked(self, pillar: PillarFacts, tasks: int = 0, minutes: int = 0) -> None:
        self.effort[pillar.id] = PillarEffort(pillar.id, tasks, minutes)

    def snapshot(self, **preferences: Any) -> Snapshot:
        open_ids = {t.id for t in self.tasks.values() if t.is_open}
        tasks = {
            t.id: replace(t, open_dependency_ids=tuple(d for d in t.dependency_ids if d in open_ids))
            for t in self.tasks.values()
        }
        return Snapshot(
            now=self.now,
            zone=ZONE,
            preferences=Preferences(**preferences),
            pillars=dict(self.pillars),
            areas=dict(self.areas),
            projects=dict(self.projects),
            tasks=tasks,
            effort=dict(self.effort),
        )


def codes(findings: list[Finding]) -> list[tuple[str, str, uuid.UUID | None]]:
    return [(f.rule_code, f.scope_type, f.scope_id) for f in findings]


def check_shape(found: Finding) -> None:
    """What every finding owes its reader."""
    assert found.title
    assert found.summary
    assert found.key
    assert 0 <= found.confidence <= 1
    assert 0 <= found.impact <= 1
    assert 1 <= len(found.recommendations) <= 5
    assert found.evidence
    assert all(e.fact for e in found.evidence)
    assert found.key == f"{found.rule_code}:{found.scope_type}:{found.scope_id or 'global'}"


def test_the_detectors_are_exactly_the_seeded_rules() -> None:
    assert set(DETECTORS) == {
        "OVERDUE_CLUSTER",
        "STALLED_PROJECT",
        "NEGLECTED_PILLAR",
        "OVERLOAD",
        "BLOCKED_CHAIN",
        "PILLAR_IMBALANCE",
        "QUICK_WINS",
    }


# --- OVERDUE_CLUSTER


@pytest.mark.parametrize(
    ("dues", "fires"),
    [
        ([(-1, None), (-3, None)], True),
        ([(-1, None)], False),
        ([(-1, None), (0, None)], False),  # due today, no time: due at the end of the day, not yet overdue
        ([(-1, None), (0, time(7, 59))], True),  # due today 07:59, it is 08:00 in Paris
        ([(-1, None), (0, time(8, 1))], False),
        ([(-2, None), (5, None)], False),
    ],
)
def test_overdue_cluster_in_a_project_at_its_boundaries(
    dues: list[tuple[int, time | None]], fires: bool
) -> None:
    world = World()
    project = world.place("Launch")
    for i, (due, at) in enumerate(dues):
        world.task(project, f"Task {i}", due=due, at=at)
    found = overdue_cluster(world.snapshot(), EVERYTHING)
    assert codes(found) == ([("OVERDUE_CLUSTER", "project", project.id)] if fires else [])


def test_overdue_cluster_names_the_tasks_oldest_first_and_recommends_the_most_important() -> None:
    world = World()
    project = world.place("Launch")
    old = world.task(project, "Write copy", due=-6)
    urgent = world.task(project, "Fix checkout", due=-1, priority="urgent")
    world.task(project, "Done already", due=-9, status="completed")
    [found] = overdue_cluster(world.snapshot(), EVERYTHING)
    check_shape(found)
    assert found.type == "obstacle_identification"
    assert found.title == "2 overdue tasks in 'Launch'"
    assert "'Write copy' and 'Fix checkout'" in found.summary
    assert "by 6 days" in found.summary
    assert found.recommendations[0].startswith("Start with 'Fix checkout' (urgent")
    facts = {e.entity_id: e.fact for e in found.evidence}
    assert facts[old.id].startswith("overdue by 6 days")
    assert facts[urgent.id].startswith("overdue by 1 day")
    assert facts[project.id] == "2 of its open tasks are overdue"


@pytest.mark.parametrize(("spread", "fires"), [(3, True), (2, False)])
def test_overdue_tasks_spread_over_one_area_cluster_there(spread: int, fires: bool) -> None:
    world = World()
    area = world.area(world.pillar("Work"), "Clients")
    for i in range(spread):
        world.task(world.project(area, f"Client {i}"), f"Invoice {i}", due=-2)
    found = overdue_cluster(world.snapshot(), EVERYTHING)
    assert codes(found) == ([("OVERDUE_CLUSTER", "area", area.id)] if fires else [])


def test_overdue_tasks_in_different_areas_do_not_cluster() -> None:
    world = World()
    for i in range(3):
        world.task(world.place(f"Project {i}", area=f"Area {i}"), f"Late {i}", due=-2)
    assert overdue_cluster(world.snapshot(), EVERYTHING) == []


def test_overdue_cluster_respects_scope_and_ignores_archived() -> None:
    world = World()
    mine, other = world.place("Mine", pillar="Work"), world.place("Other", pillar="Home")
    hidden = world.place("Hidden", archived=True)
    for project in (mine, other, hidden):
        world.task(project, "A", due=-1)
        world.task(project, "B", due=-2)
    snapshot = world.snapshot()
    pillar_of_mine = snapshot.pillar_of_project(mine)
    assert pillar_of_mine is not None
    assert codes(overdue_cluster(snapshot, Scope("pillar", pillar_of_mine.id))) == [
        ("OVERDUE_CLUSTER", "project", mine.id)
    ]
    assert codes(overdue_cluster(snapshot, Scope("project", other.id))) == [
        ("OVERDUE_CLUSTER", "project", other.id)
    ]
    assert overdue_cluster(snapshot, Scope("project", hidden.id)) == []
    assert {f.scope_id for f in overdue_cluster(snapshot, EVERYTHING)} == {mine.id, other.id}
    task = next(iter(snapshot.tasks.values()))
    assert overdue_cluster(snapshot, Scope("task", task.id)) == []


def test_an_area_cluster_is_not_reported_on_a_project_scope() -> None:
    world = World()
    area = world.area(world.pillar())
    projects = [world.project(area, f"P{i}") for i in range(3)]
    for project in projects:
        world.task(project, "Late", due=-1)
    assert overdue_cluster(world.snapshot(), Scope("project", projects[0].id)) == []
    assert overdue_cluster(world.snapshot(), Scope("area", area.id))[0].scope_id == area.id


def test_overdue_cluster_impact_grows_with_size_and_age() -> None:
    def impact(count: int, days: int) -> float:
        world = World()
        project = world.place()
        for i in range(count):
            world.task(project, f"T{i}", due=-days)
        [found] = overdue_cluster(world.snapshot(), EVERYTHING)
        return found.impact

    assert impact(2, 1) < impact(3, 1) < impact(3, 10)
    assert impact(2, 1) == pytest.approx(0.2 + 0.2 + 0.3 * (8 / 24) / 14, abs=1e-3)  # due by yesterday's end


# --- STALLED_PROJECT


@pytest.mark.parametrize(
    ("status", "age", "idle", "open_tasks", "fires"),
    [
        ("active", 30, None, 1, True),
        ("active", 14, None, 1, True),  # exactly 14 days old, never completed anything
        ("active", 13.9, None, 1, False),
        ("active", 40, 14, 2, True),
        ("active", 40, 13.9, 2, False),
        ("planning", 40, 20, 1, True),
        ("on_hold", 40, 20, 1, False),
        ("completed", 40, 20, 1, False),
        ("cancelled", 40, 20, 1, False),
        ("active", 40, 20, 0, False),
    ],
)
def test_stalled_project_at_its_boundaries(
    status: str, age: float, idle: float | None, open_tasks: int, fires: bool
) -> None:
    world = World()
    project = world.place("Garden", status=status, age=age, idle=idle)
    for i in range(open_tasks):
        world.task(project, f"Step {i}")
    world.task(project, "Finished", status="completed")
    found = stalled_project(world.snapshot(), EVERYTHING)
    assert codes(found) == ([("STALLED_PROJECT", "project", project.id)] if fires else [])


def test_a_stalled_project_names_its_next_step_and_deadline() -> None:
    world = World()
    project = world.place("Garden", idle=21, deadline=TODAY + timedelta(days=10), importance=4)
    blocker = world.task(project, "Buy soil", minutes=40)
    world.task(project, "Plant", waits=(blocker,))
    [found] = stalled_project(world.snapshot(), EVERYTHING)
    check_shape(found)
    assert found.type == "progress_prediction"
    assert found.title == "'Garden' has stalled"
    assert "21 days" in found.summary
    assert str(project.deadline) in found.summary
    assert found.recommendations[0] == "Restart 'Garden' with 'Buy soil' (40 min)"
    assert any(str(project.deadline) in r for r in found.recommendations)
    assert found.impact == pytest.approx(0.1 + 0.4 + 0.1 + 0.2)
    assert found.confidence == pytest.approx(0.6 + 0.35 * 7 / 28, abs=1e-3)


def test_stalled_project_confidence_and_impact_follow_the_data() -> None:
    world = World()
    area = world.area(world.pillar())
    quiet = world.project(area, "Quiet", idle=20, importance=1, status="planning")
    silent = world.project(area, "Silent", idle=60, importance=5, deadline=TODAY - timedelta(days=1))
    world.task(quiet, "A")
    world.task(silent, "B")
    found = {f.scope_id: f for f in stalled_project(world.snapshot(), EVERYTHING)}
    assert found[silent.id].confidence == pytest.approx(0.95)
    assert found[quiet.id].confidence < found[silent.id].confidence
    assert found[quiet.id].impact == pytest.approx(0.2)
    assert found[silent.id].impact == pytest.approx(0.9)


def test_stalled_project_respects_scope_and_ignores_archived() -> None:
    world = World()
    here, there = world.place("Here", idle=30), world.place("There", idle=30, area="Elsewhere")
    archived_area = world.area(world.pillar("Old"), "Gone", archived=True)
    gone = world.project(archived_area, "Gone", idle=30)
    for project in (here, there, gone):
        world.task(project, "Open")
    snapshot = world.snapshot()
    assert {f.scope_id for f in stalled_project(snapshot, EVERYTHING)} == {here.id, there.id}
    assert codes(stalled_project(snapshot, Scope("area", here.area_id))) == [
        ("STALLED_PROJECT", "project", here.id)
    ]
    assert stalled_project(snapshot, Scope("project", gone.id)) == []
    task = next(t for t in snapshot.tasks.values() if t.project_id == here.id)
    assert stalled_project(snapshot, Scope("task", task.id)) == []


# --- NEGLECTED_PILLAR


def two_pillars(mind: int, body: int, *, counts: bool = False) -> tuple[World, PillarFacts, PillarFacts]:
    """Two pillars planned half and half, with ``mind`` and ``body`` minutes (or tasks) completed."""
    world = World()
    first, second = world.pillar("Mind", 50), world.pillar("Body", 50)
    for pillar, done in ((first, mind), (second, body)):
        if counts:
            world.worked(pillar, tasks=done)
        else:
            world.worked(pillar, tasks=5 if done else 0, minutes=done)  # 5: enough evidence to judge
    return world, first, second


@pytest.mark.parametrize(
    ("mind", "body", "neglected"),
    [
        (10, 90, ["Mind"]),
        (24, 76, ["Mind"]),
        (25, 75, []),  # exactly half its planned share
        (50, 50, []),
        (90, 10, ["Body"]),
        (0, 0, []),  # nothing completed at all: no effort to share out, nothing neglected
    ],
)
def test_neglected_pillar_at_its_boundaries(mind: int, body: int, neglected: list[str]) -> None:
    world, *_ = two_pillars(mind, body)
    snapshot = world.snapshot()
    found = neglected_pillar(snapshot, EVERYTHING)
    assert [snapshot.pillars[f.scope_id].name for f in found if f.scope_id] == neglected
    assert all(f.scope_type == "pillar" and f.type == "alignment_analysis" for f in found)


def test_neglected_pillar_counts_tasks_when_nothing_had_an_estimate() -> None:
    world, mind, _ = two_pillars(1, 9, counts=True)
    [found] = neglected_pillar(world.snapshot(), EVERYTHING)
    assert found.scope_id == mind.id
    assert "got 10% of what you completed" in found.summary
    assert found.confidence == pytest.approx(0.4 + 0.05 * 10)
    assert found.impact == pytest.approx(0.3 + 0.5 - 0.1)


def test_neglected_pillar_recommends_its_ready_tasks_and_the_time_to_book() -> None:
    world, mind, _ = two_pillars(0, 100)
    project = world.project(world.area(mind, "Reading"), "Books")
    world.task(project, "Read chapter 1", minutes=30, due=2)
    world.task(project, "Read chapter 2", minutes=30, due=1)
    [found] = neglected_pillar(world.snapshot(), EVERYTHING)
    check_shape(found)
    assert found.title == "'Mind' is getting less of your time than planned"
    assert found.recommendations[:2] == (
        "Schedule 'Read chapter 2' (Reading › Books) this week",
        "Schedule 'Read chapter 1' (Reading › Books) this week",
    )
    assert "Reserve about 20 h a week for 'Mind'" in found.recommendations[2]  # half of 40 h


def test_neglected_pillar_stays_quiet_with_a_single_pillar() -> None:
    world = World()
    only = world.pillar("Everything", 50)
    world.pillar("Past", 50, archived=True)
    world.task(world.project(world.area(only), "Start"), "First step")
    assert neglected_pillar(world.snapshot(), EVERYTHING) == []  # nothing completed yet
    world.worked(only, tasks=1, minutes=10)
    assert neglected_pillar(world.snapshot(), EVERYTHING) == []  # it got all there was


def test_neglected_pillar_needs_an_allocation_and_respects_scope() -> None:
    world, mind, body = two_pillars(0, 100)
    unplanned = world.pillar("Play", None)
    archived = world.pillar("Past", 40, archived=True)
    snapshot = world.snapshot()
    assert [f.scope_id for f in neglected_pillar(snapshot, EVERYTHING)] == [mind.id]
    assert [f.scope_id for f in neglected_pillar(snapshot, Scope("pillar", mind.id))] == [mind.id]
    assert neglected_pillar(snapshot, Scope("pillar", body.id)) == []
    assert neglected_pillar(snapshot, Scope("pillar", unplanned.id)) == []
    assert neglected_pillar(snapshot, Scope("pillar", archived.id)) == []
    area = world.area(mind)
    assert neglected_pillar(world.snapshot(), Scope("area", area.id)) == []


# --- PILLAR_IMBALANCE


@pytest.mark.parametrize(
    ("mind", "body", "fires"),
    [(80, 20, True), (79, 21, False), (100, 0, True), (50, 50, False), (15, 85, True)],
)
def test_pillar_imbalance_at_its_boundary(mind: int, body: int, fires: bool) -> None:
    world, *_ = two_pillars(mind, body)
    found = pillar_imbalance(world.snapshot(), EVERYTHING)
    assert codes(found) == ([("PILLAR_IMBALANCE", "global", None)] if fires else [])


def test_pillar_imbalance_explains_both_sides() -> None:
    world, mind, body = two_pillars(90, 10)
    world.task(world.project(world.area(body, "Gym")), "Stretch", minutes=10)
    [found] = pillar_imbalance(world.snapshot(), EVERYTHING)
    check_shape(found)
    assert found.type == "alignment_analysis"
    assert "'Mind' got 90%, planned 50%" in found.summary
    assert "'Body' got 10%, planned 50%" in found.summary
    assert found.recommendations[0] == "Give 'Body' more time (got 10%, planned 50%): start with 'Stretch'"
    assert found.recommendations[1] == "Ease off 'Mind' (got 90%, planned 50%)"
    assert found.impact == pytest.approx(0.2 + 0.4)
    assert {e.entity_id for e in found.evidence} == {mind.id, body.id}


def test_pillar_imbalance_is_global_needs_two_pillars_and_some_effort() -> None:
    world, mind, _ = two_pillars(100, 0)
    assert pillar_imbalance(world.snapshot(), Scope("pillar", mind.id)) == []
    nothing, *_ = two_pillars(0, 0)
    [too_early] = pillar_imbalance(nothing.snapshot(), EVERYTHING)  # nothing to judge: it says so
    assert too_early.title == "Too early to judge your balance"


@pytest.mark.parametrize(("days", "done"), [(3.0, 40), (30.0, 4)])
def test_balance_is_not_judged_on_too_little_evidence(days: float, done: int) -> None:
    world, mind, _ = two_pillars(0, 0)
    world.worked(world.pillars[mind.id], tasks=done, minutes=done * 30)  # all of it in one pillar
    snapshot = replace(world.snapshot(), history_days=days)
    [note] = pillar_imbalance(snapshot, EVERYTHING)
    check_shape(note)
    assert note.key == "PILLAR_IMBALANCE:global:global"  # a later real finding replaces it
    assert note.impact < 0.7  # never notified
    assert note.summary.startswith("Not enough history yet: balance is judged after 14 days and 5 completed")
    assert f"so far {int(days)} days and {done} completed tasks" in note.summary
    assert neglected_pillar(snapshot, EVERYTHING) == []  # said once, above
    [pillar_note] = neglected_pillar(snapshot, Scope("pillar", mind.id))
    assert pillar_note.title == note.title
    enough = replace(snapshot, history_days=14.0)
    if done >= 5:
        assert [f.title for f in pillar_imbalance(enough, EVERYTHING)] == [
            "Your effort is out of balance with your pillars"
        ]
    alone = World()
    alone.worked(alone.pillar("Only", 100), minutes=60, tasks=1)
    assert pillar_imbalance(alone.snapshot(), EVERYTHING) == []
    archived = World()
    kept, gone = archived.pillar("Kept", 50), archived.pillar("Gone", 50, archived=True)
    archived.worked(gone, minutes=100, tasks=1)
    archived.worked(kept, minutes=100, tasks=1)
    assert pillar_imbalance(archived.snapshot(), EVERYTHING) == []


# --- OVERLOAD


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "preferences", "minutes"),
    [
        (local(TODAY, 8), {}, 2400),  # Wednesday before work: Wed, Thu, Fri, Mon, Tue
        (local(TODAY, 13), {}, 2160),  # half of today's hours gone
        (local(TODAY, 18), {}, 1920),
        (local(date(2026, 6, 6), 10), {}, 2400),  # Saturday: the whole next week
        (local(TODAY, 8), {"work_days": (0, 1, 2, 3, 4, 5, 6)}, 3360),
        (local(TODAY, 8), {"work_days": ()}, 0),
        # A night shift Mon–Fri 22:00–06:00: Wed, Thu, Fri nights, Mon night, and Tue night until midnight.
        (local(TODAY, 8), {"work_start": time(22), "work_end": time(6)}, 4 * 480 + 120),
        # Saturday-night shift across the spring-forward night (29 March 2026): 7 real hours, not 8.
        (local(date(2026, 3, 25), 8), {"work_days": (5,), "work_start": time(22), "work_end": time(6)}, 420),
    ],
)
def test_working_minutes_left_in_the_coming_seven_days(
    now: datetime, preferences: dict[str, Any], minutes: int
) -> None:
    world = World(now=now)
    snapshot = world.snapshot(**preferences)
    end = datetime.combine(snapshot.local_now.date() + timedelta(days=7), time(), tzinfo=ZONE)
    assert working_minutes(snapshot.preferences, ZONE, now, end) == pytest.approx(minutes)


@pytest.mark.parametrize(
    ("tasks", "fires"),
    [
        ([(1200, 1), (1200, 6)], False),  # exactly the 2400 minutes left
        ([(1200, 1), (1201, 6)], True),
        ([(1200, 1), (1201, 7)], False),  # due the day after the coming 7 days
        ([(1200, -3), (1201, 2)], True),  # overdue work still has to be done
        ([(3000, None)], False),  # no due date
    ],
)
def test_overload_at_its_boundary(tasks: list[tuple[int, int | None]], fires: bool) -> None:
    world = World()
    project = world.place()
    for i, (minutes, due) in enumerate(tasks):
        world.task(project, f"Job {i}", minutes=minutes, due=due)
    found = overload(world.snapshot(), EVERYTHING)
    assert codes(found) == ([("OVERLOAD", "global", None)] if fires else [])


def test_overload_follows_work_hours() -> None:
    world = World()
    world.task(world.place(), "Report", minutes=1500, due=2)
    assert overload(world.snapshot(), EVERYTHING) == []
    [found] = overload(world.snapshot(work_end=time(13)), EVERYTHING)  # 4 h a day: 1200 minutes left
    assert found.type == "time_allocation"
    assert found.confidence == pytest.approx(0.6 + 0.35 * 0.25, abs=1e-3)
    assert found.impact == pytest.approx(0.4 + 0.3 * 0.25)


def test_overload_counts_subtasks_instead_of_their_parent() -> None:
    world = World()
    project = world.place()
    parent = world.task(project, "Move house", minutes=2000, due=3)
    world.task(project, "Pack", minutes=1000, due=2, parent=parent)
    world.task(project, "Clean", minutes=1000, due=3, parent=parent)
    assert overload(world.snapshot(), EVERYTHING) == []  # 2000, not 4000
    world.task(project, "Paint", minutes=401, due=4, parent=parent)
    assert len(overload(world.snapshot(), EVERYTHING)) == 1


def test_overload_recommends_moving_the_least_important_work_first() -> None:
    world = World()
    project = world.place()
    world.task(project, "Board deck", minutes=1200, due=1, priority="urgent")
    world.task(project, "Tidy wiki", minutes=600, due=5, priority="low")
    world.task(project, "Write tests", minutes=900, due=4, priority="medium")
    world.task(project, "Someday", due=3)
    [found] = overload(world.snapshot(), EVERYTHING)
    check_shape(found)
    assert found.recommendations[0] == "Move 'Tidy wiki' (10 h, low priority) beyond this week"
    assert len(found.recommendations) == 2  # 600 minutes free the 300 too many
    assert "1 more due task has no estimate" in found.summary
    assert found.title == "45 h of work due this week, 40 h to do it"


def test_overload_is_about_the_analysis_scope() -> None:
    world = World()
    heavy, light = world.place("Heavy"), world.place("Light", pillar="Other")
    big = world.task(heavy, "Big", minutes=3000, due=2)
    world.task(light, "Small", minutes=60, due=2)
    snapshot = world.snapshot()
    assert codes(overload(snapshot, Scope("project", heavy.id))) == [("OVERLOAD", "project", heavy.id)]
    assert overload(snapshot, Scope("project", light.id)) == []
    assert codes(overload(snapshot, Scope("task", big.id))) == [("OVERLOAD", "task", big.id)]
    archived = World()
    archived.task(archived.place(archived=True), "Hidden", minutes=3000, due=2)
    assert overload(archived.snapshot(), EVERYTHING) == []


def test_overload_without_any_working_time_left() -> None:
    world = World()
    world.task(world.place(), "Anything", minutes=10, due=1)
    [found] = overload(world.snapshot(work_days=()), EVERYTHING)
    assert found.impact == 1.0
    assert found.confidence == pytest.approx(0.95)


# --- BLOCKED_CHAIN


def test_a_chain_two_deep_is_reported_on_its_root() -> None:
    world = World()
    project = world.place()
    design = world.task(project, "Design", minutes=120)
    build = world.task(project, "Build", waits=(design,))
    ship = world.task(project, "Ship", waits=(build,), due=3)
    [found] = blocked_chain(world.snapshot(), EVERYTHING)
    check_shape(found)
    assert codes([found]) == [("BLOCKED_CHAIN", "task", design.id)]
    assert found.type == "obstacle_identification"
    assert found.title == "'Design' is holding up 2 tasks"
    assert found.recommendations[0] == "Finish 'Design' first (about 2 h): it unblocks 'Build'"
    assert found.recommendations[1] == "Then 'Build', which unblocks 'Ship'"
    assert "Split 'Design'" in found.recommendations[-1]
    facts = {e.entity_id: e.fact for e in found.evidence}
    assert facts[ship.id] == "waits for 'Build'"
    assert found.impact == pytest.approx(0.2 + 0.16 + 0.2 + 0.2)


@pytest.mark.parametrize(
    ("shape", "root_fires"),
    [
        ("pair", False),  # B waits for A: one step, nothing more
        ("fan2", False),  # A holds up two
        ("fan3", True),  # A holds up three
        ("chain", True),  # C waits for B, B waits for A
        ("chain_done_middle", False),  # B is completed: C no longer waits through it
        ("diamond", True),  # C waits for A and for B, B for A: the longest chain is two deep
    ],
)
def test_blocked_chain_shapes(shape: str, root_fires: bool) -> None:
    world = World()
    project = world.place()
    a = world.task(project, "A")
    if shape == "pair":
        world.task(project, "B", waits=(a,))
    elif shape.startswith("fan"):
        for i in range(int(shape[-1])):
            world.task(project, f"F{i}", waits=(a,))
    elif shape.startswith("chain"):
        b = world.task(project, "B", waits=(a,), status="completed" if "done" in shape else "todo")
        world.task(project, "C", waits=(b,))
    else:
        b = world.task(project, "B", waits=(a,))
        world.task(project, "C", waits=(a, b))
    found = blocked_chain(world.snapshot(), EVERYTHING)
    assert codes(found) == ([("BLOCKED_CHAIN", "task", a.id)] if root_fires else [])


def test_blocked_chain_respects_scope_and_ignores_archived() -> None:
    world = World()
    upstream, downstream, elsewhere = world.place("Up"), world.place("Down"), world.place("Else")
    a = world.task(upstream, "A")
    b = world.task(upstream, "B", waits=(a,))
    world.task(downstream, "C", waits=(b,))
    gone = world.place("Gone", archived=True)
    x = world.task(gone, "X")
    y = world.task(gone, "Y", waits=(x,))
    world.task(gone, "Z", waits=(y,))
    snapshot = world.snapshot()
    assert codes(blocked_chain(snapshot, EVERYTHING)) == [("BLOCKED_CHAIN", "task", a.id)]
    # The root lies outside the downstream project, but its chain holds up work inside it.
    assert codes(blocked_chain(snapshot, Scope("project", downstream.id))) == [
        ("BLOCKED_CHAIN", "task", a.id)
    ]
    assert blocked_chain(snapshot, Scope("project", elsewhere.id)) == []
    assert blocked_chain(snapshot, Scope("project", gone.id)) == []
    assert blocked_chain(snapshot, Scope("task", a.id))[0].scope_id == a.id


# --- QUICK_WINS


@pytest.mark.parametrize(
    ("minutes", "wins"),
    [
        ([30, 30], 2),
        ([30], 0),
        ([30, 31], 0),
        ([5, 10, 20, None], 3),
        ([45, 60], 0),
    ],
)
def test_quick_wins_at_their_boundary(minutes: list[int | None], wins: int) -> None:
    world = World()
    project = world.place()
    for i, m in enumerate(minutes):
        world.task(project, f"Chore {i}", minutes=m)
    found = quick_wins(world.snapshot(), EVERYTHING)
    assert [len(f.evidence) for f in found] == ([wins] if wins else [])


def test_quick_wins_are_ready_open_and_leaves() -> None:
    world = World()
    project = world.place()
    a = world.task(project, "Reply to Sam", minutes=10, due=1)
    world.task(project, "Pay bill", minutes=5, due=0)
    world.task(project, "Blocked", minutes=5, waits=(a,))
    world.task(project, "Closed", minutes=5, status="completed")
    parent = world.task(project, "Parent", minutes=15)
    world.task(project, "Child", minutes=60, parent=parent)
    world.task(project, "Unhurried", minutes=20)
    [found] = quick_wins(world.snapshot(), EVERYTHING)
    check_shape(found)
    assert found.type == "recommendation"
    assert found.recommendations == (
        "Do 'Pay bill' now (5 min)",
        "Do 'Reply to Sam' now (10 min)",
        "Do 'Unhurried' now (20 min)",
    )
    assert found.title == "3 quick wins of 30 minutes or less"
    assert found.impact == pytest.approx(0.25 + 0.15 + 0.2 * 2 / 3, abs=1e-3)


def test_quick_wins_respect_scope_and_ignore_archived() -> None:
    world = World()
    here, there = world.place("Here"), world.place("There", pillar="Other")
    hidden = world.place("Hidden", archived=True)
    for project in (here, there, hidden):
        world.task(project, "One", minutes=10)
        world.task(project, "Two", minutes=10)
    snapshot = world.snapshot()
    assert codes(quick_wins(snapshot, Scope("project", here.id))) == [("QUICK_WINS", "project", here.id)]
    assert len(quick_wins(snapshot, EVERYTHING)[0].evidence) == 4
    assert quick_wins(snapshot, Scope("project", hidden.id)) == []
    one = next(t for t in snapshot.tasks.values() if t.project_id == here.id)
    assert quick_wins(snapshot, Scope("task", one.id)) == []


def test_quick_wins_batch_beyond_four() -> None:
    world = World()
    project = world.place()
    for i in range(7):
        world.task(project, f"Chore {i}", minutes=5 + i)
    [found] = quick_wins(world.snapshot(), EVERYTHING)
    assert len(found.recommendations) == 5
    assert found.recommendations[-1] == "Batch the other 3 into one session"


@pytest.mark.parametrize(
    ("status", "counted"),
    [("planning", True), ("active", True), ("on_hold", False), ("completed", False), ("cancelled", False)],
)
@pytest.mark.parametrize("detector", [overdue_cluster, overload, quick_wins])
def test_work_of_projects_not_under_way_is_left_out(
    detector: Callable[[Snapshot, Scope], list[Finding]], status: str, counted: bool
) -> None:
    world = World()
    project = world.place(status=status)
    for name in ("Sand", "Paint", "Varnish"):
        world.task(project, name, due=-1, minutes=1000 if detector is overload else 15)
    assert bool(detector(world.snapshot(), EVERYTHING)) is counted


# --- all of them


def busy_world() -> World:
    """Something for every detector to find."""
    world = World()
    work, life = world.pillar("Work", 30), world.pillar("Life", 70)
    world.worked(work, tasks=10, minutes=1000)
    office = world.area(work, "Office")
    launch = world.project(office, "Launch", idle=30)
    world.task(launch, "Late 1", due=-2, minutes=20)
    world.task(launch, "Late 2", due=-1, minutes=15)
    first = world.task(launch, "Spec", minutes=2400, due=3)
    second = world.task(launch, "Code", waits=(first,))
    world.task(launch, "Test", waits=(second,))
    world.task(world.project(world.area(life, "Home"), "House"), "Call plumber", minutes=10)
    return world


def test_detect_runs_every_detector_most_impactful_first_with_stable_keys() -> None:
    world = busy_world()
    found = detect(world.snapshot(), EVERYTHING)
    assert {f.rule_code for f in found} == set(DETECTORS)
    assert [f.impact for f in found] == sorted((f.impact for f in found), reverse=True)
    again = detect(world.snapshot(), EVERYTHING)
    assert [f.key for f in found] == [f.key for f in again]
    assert len({f.key for f in found}) == len(found)
    for f in found:
        check_shape(f)


def test_detect_runs_only_the_codes_asked_for() -> None:
    snapshot = busy_world().snapshot()
    assert {f.rule_code for f in detect(snapshot, EVERYTHING, codes=["QUICK_WINS", "OVERLOAD"])} == {
        "QUICK_WINS",
        "OVERLOAD",
    }
    assert detect(snapshot, EVERYTHING, codes=[]) == []
    # The active rules include scoring rules and the model's: they have no detector and find nothing here.
    assert {
        f.rule_code for f in detect(snapshot, EVERYTHING, codes={"URGENCY", "AI_ADVICE", "QUICK_WINS"})
    } == {"QUICK_WINS"}


@pytest.mark.parametrize(
    ("optimisation", "favoured", "played_down"),
    [
        ("balance", "NEGLECTED_PILLAR", "QUICK_WINS"),
        ("focus", "BLOCKED_CHAIN", "PILLAR_IMBALANCE"),
        ("efficiency", "QUICK_WINS", "PILLAR_IMBALANCE"),
        ("wellbeing", "OVERLOAD", "OVERDUE_CLUSTER"),
        ("exploration", "STALLED_PROJECT", "OVERDUE_CLUSTER"),
    ],
)
def test_emphasis_follows_the_primary_optimisation(
    optimisation: str, favoured: str, played_down: str
) -> None:
    assert emphasis(optimisation, favoured) > 1 > emphasis(optimisation, played_down)
    assert emphasis("unknown", favoured) == 1.0
    snapshot = busy_world().snapshot(primary_optimisation=optimisation)
    neutral = {f.key: f.impact for f in detect(snapshot, EVERYTHING, codes=list(DETECTORS)) if f.impact}
    raw = {
        f.key: f.impact
        for code, d in DETECTORS.items()
        for f in d(snapshot, EVERYTHING)
        if f.rule_code == code
    }
    for key, impact in neutral.items():
        code = key.split(":")[0]
        assert impact == pytest.approx(min(1.0, round(raw[key] * emphasis(optimisation, code), 3)), abs=1e-3)
    favoured_key = next(k for k in raw if k.startswith(favoured))
    if raw[favoured_key] < 1:
        assert neutral[favoured_key] > raw[favoured_key]


def test_emphasis_reorders_findings() -> None:
    world = World()
    mind, body = world.pillar("Mind", 50), world.pillar("Body", 50)
    world.worked(body, tasks=10, minutes=1000)
    project = world.project(world.area(mind, "Reading"), "Books")
    world.task(project, "Read", minutes=10)
    world.task(project, "Note", minutes=10)
    snapshot = World.snapshot
    balance = detect(
        snapshot(world, primary_optimisation="balance"), EVERYTHING, ["NEGLECTED_PILLAR", "QUICK_WINS"]
    )
    efficiency = detect(
        snapshot(world, primary_optimisation="efficiency"), EVERYTHING, ["NEGLECTED_PILLAR", "QUICK_WINS"]
    )
    assert balance[0].rule_code == "NEGLECTED_PILLAR"
    by_code = {f.rule_code: f.impact for f in efficiency}
    assert by_code["QUICK_WINS"] > {f.rule_code: f.impact for f in balance}["QUICK_WINS"]
    assert all(f.impact <= 1.0 for f in balance + efficiency)
