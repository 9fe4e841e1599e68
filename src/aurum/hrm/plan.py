"""Which of a person's scores may have moved since the scoring job last wrote them, and the facts to
compute those.

The job's last pass left, with the scores: the context key it scored under, the key of every project and
pillar (``aurum.hrm.ratings``), and from then on a trigger notes every changed task, project, area and pillar
in ``hrm_score_changes``. A score can only have moved if (``aurum.hrm.ratings`` says why):

- the context changed: all of them (a whole pass);
- the task itself changed (a dependency or a verdict of it counts as its own change), or a task it waits for
  changed (opened or closed);
- its project's key moved: the project, its area or pillar changed, or its tasks did (their counts are the
  project's momentum); only projects so named are rated again, the others' keys cannot have moved;
- its pillar's key moved: every pillar is rated again (a completion anywhere, an allocation anywhere, moves
  the shares every pillar's balance compares).

Reading this costs the hierarchy's rows, one aggregate over recent completions, the counts of the projects
named, and the ids of the tasks concerned: nothing that grows with the tasks a change leaves alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.hrm.facts import Snapshot, history_days
from aurum.hrm.gather import DEPENDENCIES, TASKS, account_of, among, preferences_of
from aurum.hrm.model import PillarRating, ProjectRating, ScoreChange, ScoreState
from aurum.hrm.partial import Hierarchy, effort, hierarchy, snapshot_of, with_projects
from aurum.hrm.preferences import Preferences
from aurum.hrm.ratings import context_key, pillar_keys, project_key
from aurum.hrm.rules import EVALUATORS, RuleDef
from aurum.hrm.weights import definitions, rule_weights
from aurum.models import table_of

STATE = table_of(ScoreState)
CHANGES = table_of(ScoreChange)
PROJECT_RATINGS = table_of(ProjectRating)
PILLAR_RATINGS = table_of(PillarRating)


@dataclass(frozen=True)
class State:
    generation: int
    scored_generation: int
    version: int  # raised by every write of scores: a pass planned on an older one plans again
    context: str | None
    whole_pass_due: bool  # the hourly refresh asked for one

    @property
    def current(self) -> bool:
        """Whether the stored scores are those of the data (a reader may use them)."""
        return self.scored_generation >= self.generation

    @property
    def due(self) -> bool:
        """Whether a pass is due: the data changed, or the hourly refresh asked for one."""
        return not self.current or self.whole_pass_due


async def read_state(session: AsyncSession, user_id: uuid.UUID) -> State | None:
    row = (await session.execute(select(STATE).where(STATE.c.user_id == user_id))).first()
    if row is None:
        return None
    return State(row.generation, row.scored_generation, row.version, row.context, row.whole_pass_due)


@dataclass(frozen=True)
class Rules:
    """The person's scoring rules with their effective weights, preferences and time zone."""

    scoring: dict[str, RuleDef]
    preferences: Preferences
    zone: ZoneInfo
    started_at: datetime  # when the person started: how much history there is to judge

    @property
    def context(self) -> str:
        return context_key(self.scoring, self.preferences, self.zone)


async def read_rules(session: AsyncSession, user_id: uuid.UUID) -> Rules:
    weights = await rule_weights(session, user_id)
    overrides = {w.rule.code: w.override for w in weights if w.override is not None}
    preferences = await preferences_of(session, user_id, overrides)
    scoring = {code: rule for code, rule in definitions(weights).items() if code in EVALUATORS}
    return Rules(scoring, preferences, *await account_of(session, user_id))


@dataclass(frozen=True)
class Pending:
    """What a pass must compute, from what the stored scores were computed with."""

    rules: Rules
    hierarchy: Hierarchy
    snapshot: Snapshot  # the hierarchy, the effort and the facts of the projects rated again; no tasks
    tasks: frozenset[uuid.UUID] | None  # the tasks whose scores may have moved (None: every one)
    project_keys: dict[uuid.UUID, str | None] = field(default_factory=dict)  # rated again (None: no scores)
    pillar_keys: dict[uuid.UUID, str] = field(default_factory=dict)  # every pillar, rated again

    @property
    def whole(self) -> bool:
        return self.tasks is None


async def scope(session: AsyncSession, user_id: uuid.UUID, now: datetime, rules: Rules) -> Pending:
    """What scoring any of the person's tasks reads first: the hierarchy and the recent effort."""
    found = await hierarchy(session, user_id)
    base = Snapshot(
        now=now,
        zone=rules.zone,
        preferences=rules.preferences,
        history_days=history_days(now, rules.started_at),
    )
    return Pending(rules, found, snapshot_of(base, found, await effort(session, user_id, now)), None)


async def pending(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, state: State | None, rules: Rules
) -> Pending:
    """The scores that may differ from a pass at ``now`` (``session`` sees one moment: see the callers)."""
    started = await scope(session, user_id, now, rules)
    found, snapshot = started.hierarchy, started.snapshot
    if state is None or state.context != rules.context:
        return Pending(rules, found, snapshot, None)
    noted = select(CHANGES.c.kind, CHANGES.c.entity_id).where(CHANGES.c.user_id == user_id).distinct()
    changes = (await session.execute(noted)).all()
    named: dict[str, set[uuid.UUID]] = {"task": set(), "project": set(), "area": set(), "pillar": set()}
    for change in changes:
        named[change.kind].add(change.entity_id)
    rated = named["project"] | found.projects_below(areas=named["area"], pillars=named["pillar"])
    snapshot = await with_projects(session, user_id, snapshot, found, rated)
    project_keys = {
        p: project_key(snapshot, p, rules.scoring) if p in snapshot.projects else None for p in rated
    }
    pillars = pillar_keys(snapshot, rules.scoring)
    moved_pillars = await _moved_pillars(session, user_id, pillars)
    moved = await _moved_projects(session, project_keys) | _below(found, moved_pillars)
    tasks = await _tasks_concerned(session, user_id, named["task"], moved)
    return Pending(rules, found, snapshot, frozenset(tasks), project_keys, pillars)


async def _moved_projects(session: AsyncSession, keys: dict[uuid.UUID, str | None]) -> set[uuid.UUID]:
    if not keys:
        return set()
    rows = (
        await session.execute(
            select(PROJECT_RATINGS.c.project_id, PROJECT_RATINGS.c.key).where(
                among(PROJECT_RATINGS.c.project_id, keys)
            )
        )
    ).all()
    stored = {row.project_id: row.key for row in rows}
    return {p for p, key in keys.items() if stored.get(p) != key}


async def _moved_pillars(
    session: AsyncSession, user_id: uuid.UUID, keys: dict[uuid.UUID, str]
) -> set[uuid.UUID]:
    stored_keys = select(PILLAR_RATINGS.c.pillar_id, PILLAR_RATINGS.c.key).where(
        PILLAR_RATINGS.c.user_id == user_id
    )
    rows = (await session.execute(stored_keys)).all()
    stored = {row.pillar_id: row.key for row in rows}
    return {p for p in keys.keys() | stored.keys() if stored.get(p) != keys.get(p)}


def _below(found: Hierarchy, pillars: set[uuid.UUID]) -> set[uuid.UUID]:
    return found.projects_below(pillars=pillars) if pillars else set()


async def _tasks_concerned(
    session: AsyncSession, user_id: uuid.UUID, changed: set[uuid.UUID], projects: set[uuid.UUID]
) -> list[uuid.UUID]:
    """The changed tasks that still exist, those waiting for one of them, those they wait for, and every task
    of these projects."""
    if not changed and not projects:
        return []
    # A union, not one OR: each part reads its own index (an OR reads every task of the person).
    parts = []
    if changed:
        parts.append(select(TASKS.c.id).where(TASKS.c.user_id == user_id, among(TASKS.c.id, changed)))
        parts.append(
            select(DEPENDENCIES.c.task_id).where(
                DEPENDENCIES.c.user_id == user_id, among(DEPENDENCIES.c.depends_on_id, changed)
            )
        )
        parts.append(  # what they wait for: its rating of what it unblocks reads them
            select(DEPENDENCIES.c.depends_on_id).where(
                DEPENDENCIES.c.user_id == user_id, among(DEPENDENCIES.c.task_id, changed)
            )
        )
    if projects:
        parts.append(
            select(TASKS.c.id).where(TASKS.c.user_id == user_id, among(TASKS.c.project_id, projects))
        )
    return list((await session.scalars(union(*parts))).all())
