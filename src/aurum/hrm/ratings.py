"""Keys for what tasks share in their scores, so that a pass can tell which scores a change moved.

A task's score is a function of its rules' definitions (weights, configuration), of the ratings of its
project's rules (``PROJECT_RULES``: the same for every task of the project), of its pillar's rules
(``PILLAR_RULES``: the same below a pillar) and of its own rules' ratings (its facts, what it waits for, the
person's verdict, energy pattern and time zone, the clock). So, at one moment:

- the context key (rules, weights, energy pattern, work hours, time zone) changed: every score may have
  moved;
- a project's key changed (or it started or stopped having scores): its tasks' scores may have moved;
- a pillar's key changed: the scores of every task below it may have moved;
- otherwise only tasks whose own facts changed can have moved.

Keys are exact (a rating's score by its ``repr``, its reason word for word), so equal keys mean equal
ratings, and hashed to stay small.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from zoneinfo import ZoneInfo

from aurum.hrm.facts import AreaFacts, ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.preferences import Preferences
from aurum.hrm.rules import EVALUATORS, PILLAR_RULES, PROJECT_RULES, RuleDef

PROBE = uuid.UUID(int=0)  # a task (and, for pillars, an area and project) that stands for any other


def _hashed(parts: Iterable[object]) -> str:
    return hashlib.blake2b(repr(tuple(parts)).encode(), digest_size=16).hexdigest()


def context_key(scoring: Mapping[str, RuleDef], preferences: Preferences, zone: ZoneInfo) -> str:
    """What every score depends on alike."""
    rules = tuple(
        (code, rule.label, repr(rule.weight), json.dumps(dict(rule.config), sort_keys=True, default=str))
        for code, rule in sorted(scoring.items())
    )
    hours = (preferences.work_start, preferences.work_end, tuple(sorted(preferences.work_days)))
    return _hashed((rules, preferences.energy_pattern, hours, zone.key))


def probe_task(project_id: uuid.UUID, snapshot: Snapshot) -> TaskFacts:
    return TaskFacts(
        id=PROBE, project_id=project_id, name="", status="todo", priority="medium", created_at=snapshot.now
    )


def ratings_key(
    snapshot: Snapshot, task: TaskFacts, scoring: Mapping[str, RuleDef], codes: frozenset[str]
) -> str:
    """The key of the ratings these rules give the task."""
    parts = []
    for code in sorted(codes & scoring.keys()):
        rating = EVALUATORS[code](snapshot, task, scoring[code].config)
        parts.append((code, None if rating is None else (repr(rating.score), rating.reason)))
    return _hashed(parts)


def project_key(snapshot: Snapshot, project_id: uuid.UUID, scoring: Mapping[str, RuleDef]) -> str:
    """The ratings every task of the project shares (the project must be in the snapshot)."""
    return ratings_key(snapshot, probe_task(project_id, snapshot), scoring, PROJECT_RULES)


def pillar_keys(snapshot: Snapshot, scoring: Mapping[str, RuleDef]) -> dict[uuid.UUID, str]:
    """The ratings every task below each pillar of the snapshot shares: rated through a stand-in area and
    project of that pillar, since the pillar's rules read nothing of either."""
    keys = {}
    for pillar_id in snapshot.pillars:
        area = AreaFacts(PROBE, pillar_id, "", 1)
        project = ProjectFacts(PROBE, PROBE, "", "active", "medium", 1, None, snapshot.now, 0, 0, None)
        probed = replace(snapshot, areas={PROBE: area}, projects={PROBE: project})
        keys[pillar_id] = ratings_key(probed, probe_task(PROBE, probed), scoring, PILLAR_RULES)
    return keys
