"""An account driven through GraphQL by generated writes, and the scores a whole recomputation gives it, for
the tests of incremental rescoring (tests/test_hrm_rescoring.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from aurum.db import read_session
from aurum.hrm.scoring import compute, snapshot_and_rules
from aurum.resources import Resources
from tests.hierarchy import act, make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient, uuid_of

SCORE = "score { value factors { ruleCode label weight score contribution reason } }"
TASKS = "{ tasks(first: 100) { edges { node { id status " + SCORE + " } } } }"
TODAY = "{ today(limit: 50) { task { id } score { value } } }"
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
ENERGIES = (None, "LOW", "MEDIUM", "HIGH")
PATTERNS = ("MORNING_PEAK", "AFTERNOON_PEAK", "EVENING_PEAK", "STEADY")
STATUSES = ("PLANNING", "ACTIVE", "ON_HOLD", "COMPLETED", "CANCELLED")
ZONES = ("UTC", "Pacific/Kiritimati", "America/Los_Angeles", "Asia/Kolkata")
RULES = ("URGENCY", "PILLAR_ALIGNMENT", "PROJECT_MOMENTUM", "WORK_LIFE_BALANCE", "DEPENDENCIES", "TASK_AGE")
VERDICTS = ("TOO_HIGH", "TOO_LOW", "CORRECT")

Step = tuple[Any, ...]
pick = st.integers(0, 1_000)  # an index into whatever exists when the step runs
due = st.one_of(st.none(), st.integers(-10, 20))
estimate = st.one_of(st.none(), st.integers(5, 300))
created = st.tuples(
    st.just("task"),
    pick,
    st.sampled_from(PRIORITIES),
    due,
    st.sampled_from(ENERGIES),
    estimate,
    st.booleans(),
)
# Each step is (what, *arguments); arguments that name records are indices taken modulo what exists. The
# writes a pass must follow beyond the task itself (waiting, completing, moving) come more often.
steps: st.SearchStrategy[Step] = st.one_of(
    created,
    created,
    st.tuples(st.just("wait"), pick, pick),
    st.tuples(st.just("complete"), pick),
    st.tuples(st.just("complete"), pick),
    st.tuples(st.just("reopen"), pick),
    st.tuples(st.just("priority"), pick, st.sampled_from(PRIORITIES), due),
    st.tuples(st.just("estimate"), pick, estimate),
    st.tuples(st.just("wait"), pick, pick),
    st.tuples(st.just("unwait"), pick),
    st.tuples(st.just("move"), pick, pick),
    st.tuples(st.just("delete"), pick),
    st.tuples(st.just("project"), pick),
    st.tuples(st.just("project status"), pick, st.sampled_from(STATUSES)),
    st.tuples(st.just("project importance"), pick, st.integers(1, 5)),
    st.tuples(st.just("project move"), pick, pick),
    st.tuples(st.just("project archive"), pick, st.booleans()),
    st.tuples(st.just("area importance"), pick, st.integers(1, 5)),
    st.tuples(st.just("area move"), pick, pick),
    st.tuples(st.just("area archive"), pick, st.booleans()),
    st.tuples(st.just("pillar"), st.integers(0, 100)),
    st.tuples(st.just("allocation"), pick, st.integers(0, 100)),
    st.tuples(
        st.just("vision"), pick, st.sampled_from(["", "Strong body", "A long and healthy life, every day"])
    ),
    st.tuples(st.just("pillar archive"), pick, st.booleans()),
    st.tuples(st.just("pillar delete"), pick),
    st.tuples(st.just("feedback"), pick, st.sampled_from(VERDICTS)),
    st.tuples(st.just("energy pattern"), st.sampled_from(PATTERNS)),
    st.tuples(
        st.just("weight"), st.sampled_from(RULES), st.one_of(st.none(), st.sampled_from([0.1, 0.5, 1.0]))
    ),
    st.tuples(st.just("zone"), st.sampled_from(ZONES)),
    st.tuples(st.just("settle")),
)


def _of(items: list[str], index: int) -> str | None:
    return items[index % len(items)] if items else None


@dataclass
class Account:
    """A person's records as created (the ids may outlive their records: writes to them answer NOT_FOUND)."""

    client: GraphQLClient
    pillars: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)

    async def seed(self) -> None:
        """Two pillars of two areas of one project, with two tasks each, one completed."""
        for p in range(2):
            pillar = await make_pillar(self.client, name=f"Pillar {p}", timeAllocation=20 + 30 * p)
            self.pillars.append(pillar)
            for a in range(2):
                area = await make_area(self.client, pillar, name=f"Area {p}.{a}", importance=2 + a)
                self.areas.append(area)
                project = await make_project(self.client, area, name=f"Project {p}.{a}")
                self.projects.append(project)
                for t in range(2):
                    task = await make_task(
                        self.client, project, f"Task {p}.{a}.{t}", estimatedMinutes=30 * (t + 1)
                    )
                    self.tasks.append(task)
                await act(
                    self.client, "taskComplete", {"id": self.tasks[-1]}, "task { id }", "TaskStatusInput"
                )

    async def apply(self, step: Step) -> None:
        what, *args = step
        await WRITES[what](self, *args)


async def _task(
    account: Account,
    project: int,
    priority: str,
    days: int | None,
    energy: str | None,
    minutes: int | None,
    done: bool,
) -> None:
    project_id = _of(account.projects, project)
    if project_id is None:
        return
    fields: dict[str, Any] = {"priority": priority, "estimatedMinutes": minutes}
    if days is not None:
        fields["dueDate"] = (date.today() + timedelta(days=days)).isoformat()
    if energy:
        fields["energy"] = energy
    if done:
        fields["status"] = "COMPLETED"
    payload = await account.client.mutate(
        "taskCreate", {"projectId": project_id, "name": f"Task {len(account.tasks)}", **fields}, "task { id }"
    )
    if payload["task"]:
        account.tasks.append(payload["task"]["id"])


async def _status(account: Account, task: int, name: str) -> None:
    if (task_id := _of(account.tasks, task)) is not None:
        await act(account.client, name, {"id": task_id}, "task { id }", "TaskStatusInput")


async def _update(account: Account, kind: str, index: int, **fields: Any) -> None:
    items: list[str] = getattr(account, f"{kind}s")
    if (record := _of(items, index)) is not None:
        await account.client.mutate(f"{kind}Update", {"id": record, **fields}, f"{kind} {{ id }}")


async def _priority(account: Account, task: int, priority: str, days: int | None) -> None:
    when = None if days is None else (date.today() + timedelta(days=days)).isoformat()
    await _update(account, "task", task, priority=priority, dueDate=when)


async def _wait(account: Account, task: int, on: int) -> None:
    waiting, waited = _of(account.tasks, task), _of(account.tasks, on)
    if waiting is not None and waited is not None and waiting != waited:
        await account.client.mutate("taskUpdate", {"id": waiting, "dependencyIds": [waited]}, "task { id }")


async def _move(account: Account, task: int, project: int) -> None:
    task_id, project_id = _of(account.tasks, task), _of(account.projects, project)
    if task_id is not None and project_id is not None:
        await account.client.mutate("taskMove", {"id": task_id, "projectId": project_id}, "task { id }")


async def _delete(account: Account, kind: str, index: int) -> None:
    if (record := _of(getattr(account, f"{kind}s"), index)) is not None:
        await act(account.client, f"{kind}Delete", {"id": record}, "deletedId")


async def _archive(account: Account, kind: str, index: int, archive: bool) -> None:
    if (record := _of(getattr(account, f"{kind}s"), index)) is not None:
        name = f"{kind}Archive" if archive else f"{kind}Unarchive"
        await act(account.client, name, {"id": record}, f"{kind} {{ id }}")


async def _project(account: Account, area: int) -> None:
    if (area_id := _of(account.areas, area)) is not None:
        payload = await account.client.mutate(
            "projectCreate", {"areaId": area_id, "name": "New"}, "project { id }"
        )
        if payload["project"]:
            account.projects.append(payload["project"]["id"])


async def _pillar(account: Account, allocation: int) -> None:
    pillar = await make_pillar(
        account.client, name=f"Pillar {len(account.pillars)}", timeAllocation=allocation
    )
    account.pillars.append(pillar)
    area = await make_area(account.client, pillar, name="First")
    account.areas.append(area)


async def _feedback(account: Account, task: int, verdict: str) -> None:
    if (task_id := _of(account.tasks, task)) is not None:
        await account.client.mutate(
            "taskPriorityFeedback", {"taskId": task_id, "verdict": verdict}, "task { id }"
        )


async def _preferences(account: Account, **fields: Any) -> None:
    await account.client.mutate("hrmPreferencesUpdate", fields, "preferences { energyPattern }")


async def _weight(account: Account, rule: str, weight: float | None) -> None:
    await _preferences(account, ruleWeights=[{"ruleCode": rule, "weight": weight}])


async def _zone(account: Account, zone: str) -> None:
    await account.client.mutate("accountUpdate", {"timezone": zone}, "user { id }")


async def _nothing(account: Account, *args: Any) -> None:
    """A pause for the scoring job (the test waits for it to catch up)."""


WRITES: dict[str, Any] = {
    "task": _task,
    "complete": lambda a, t: _status(a, t, "taskComplete"),
    "reopen": lambda a, t: _status(a, t, "taskReopen"),
    "priority": _priority,
    "estimate": lambda a, t, minutes: _update(a, "task", t, estimatedMinutes=minutes),
    "wait": _wait,
    "unwait": lambda a, t: _update(a, "task", t, dependencyIds=[]),
    "move": _move,
    "delete": lambda a, t: _delete(a, "task", t),
    "project": _project,
    "project status": lambda a, p, status: _update(a, "project", p, status=status),
    "project importance": lambda a, p, importance: _update(a, "project", p, importance=importance),
    "project move": lambda a, p, area: _update(a, "project", p, areaId=_of(a.areas, area)),
    "project archive": lambda a, p, archive: _archive(a, "project", p, archive),
    "area importance": lambda a, r, importance: _update(a, "area", r, importance=importance),
    "area move": lambda a, r, pillar: _update(a, "area", r, pillarId=_of(a.pillars, pillar)),
    "area archive": lambda a, r, archive: _archive(a, "area", r, archive),
    "pillar": _pillar,
    "allocation": lambda a, p, allocation: _update(a, "pillar", p, timeAllocation=allocation),
    "vision": lambda a, p, vision: _update(a, "pillar", p, visionStatement=vision),
    "pillar archive": lambda a, p, archive: _archive(a, "pillar", p, archive),
    "pillar delete": lambda a, p: _delete(a, "pillar", p),
    "feedback": _feedback,
    "energy pattern": lambda a, pattern: _preferences(a, energyPattern=pattern),
    "weight": _weight,
    "zone": _zone,
    "settle": _nothing,
}


async def whole_recomputation(
    resources: Resources, client: GraphQLClient, now: datetime
) -> dict[str, tuple[float, list[dict[str, Any]]]]:
    """Every open task's score from a whole snapshot at ``now``, by global id: what a whole pass stores."""
    user_id = uuid_of(client.user_id)
    async with read_session(resources.sessionmaker, user_id) as session:
        snapshot, scoring = await snapshot_and_rules(session, user_id, now)
    scores = compute(snapshot, scoring, now)
    return {_global(task_id): (s.value, s.factors_json()) for task_id, s in scores.items()}


def _global(task_id: Any) -> str:
    from aurum.ids import to_global_id

    return to_global_id("Task", task_id)
