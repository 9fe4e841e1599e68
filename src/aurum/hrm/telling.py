"""What a run tells: the detectors' findings at the scope, weighed by the person (a rule they quietened, or
a finding they rejected there, says nothing), where the scope stands when nothing else speaks, and the model's
advice as findings."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aurum.hrm.detectors import DETECTORS, detect
from aurum.hrm.factors import Score
from aurum.hrm.facts import Snapshot
from aurum.hrm.findings import Evidence, Finding, Scope
from aurum.hrm.insights import priority_finding
from aurum.hrm.llm import Advice, AdviceInsight
from aurum.hrm.observing import quoted
from aurum.hrm.registry import MODEL_RULE
from aurum.hrm.standing import standing
from aurum.hrm.weights import RuleWeight, bounded

QUIET_WEIGHT = 0.15  # a rule whose weight is below this stays quiet
SPEAKING_RULES = frozenset({*DETECTORS, MODEL_RULE})  # the rules that speak as insights of their own


def quiet(weight: RuleWeight) -> bool:
    """Whether the person quietened a detector (or the model): a weight below ``QUIET_WEIGHT``, or one their
    rejections brought down as far as learning goes (for most rules that floor is above ``QUIET_WEIGHT``).
    A weight they set themselves is taken as it is."""
    if weight.effective < QUIET_WEIGHT:
        return True
    if weight.override is not None or weight.learned is None or weight.rule.code not in SPEAKING_RULES:
        return False
    return float(weight.learned) <= bounded(float(weight.rule.base_weight), 0.0)


def weighted(finding: Finding, weights: dict[str, RuleWeight]) -> Finding | None:
    """The person's weight for the finding's rule scales its impact; a rule they quietened says nothing."""
    weight = weights.get(finding.rule_code)
    if weight is None:
        return finding
    if quiet(weight):
        return None
    base = float(weight.rule.base_weight) or 1.0
    return replace(finding, impact=round(min(1.0, finding.impact * weight.effective / base), 4))


def rule_findings(
    snapshot: Snapshot,
    scope: Scope,
    scores: dict[uuid.UUID, Score],
    weights: dict[str, RuleWeight],
    rejected: frozenset[str] = frozenset(),
) -> list[Finding]:
    """The detectors' findings at this scope, weighed by the person; one they rejected here stays quiet here
    (elsewhere the rule still speaks)."""
    active = {code for code, w in weights.items() if w.rule.active}
    found = detect(snapshot, scope, codes=active)
    if scope.type == "task" and scope.id in scores and scope.id in snapshot.tasks:
        found.insert(0, priority_finding(snapshot, snapshot.tasks[scope.id], scores[scope.id]))
    told = [f for f in found if f.key[:200] not in rejected]
    spoken = [w for w in (weighted(f, weights) for f in told) if w is not None]
    if not spoken:  # an explicit analysis always says something true: at least where the scope stands
        spoken = [standing(snapshot, scope, scores)]
    return sorted(spoken, key=lambda f: -f.impact)


def named(snapshot: Snapshot, ids: list[str]) -> tuple[Evidence, ...]:
    """The records the model named, as the insight's evidence (the answer was checked to name only the
    person's records within the analysis)."""
    kinds: tuple[tuple[str, Mapping[uuid.UUID, Any]], ...] = (
        ("Pillar", snapshot.pillars),
        ("Area", snapshot.areas),
        ("Project", snapshot.projects),
        ("Task", snapshot.tasks),
    )
    found = []
    for record_id in dict.fromkeys(uuid.UUID(i) for i in ids):
        for kind, records in kinds:
            if record_id in records:
                name = quoted(records[record_id].name)
                found.append(Evidence(kind, record_id, f"The AI model points to the {kind.lower()} {name}"))
                break
    return tuple(found)


def model_finding(snapshot: Snapshot, scope: Scope, index: int, item: AdviceInsight) -> Finding:
    """One insight of the model's answer as a finding (its text was cleaned when the answer was validated)."""
    return Finding(
        rule_code=MODEL_RULE,
        type=item.type,
        scope_type=scope.type,
        scope_id=scope.id,
        title=item.title,
        summary=item.summary,
        confidence=item.confidence,
        impact=item.impact,
        evidence=named(snapshot, item.entity_ids),
        recommendations=tuple(item.recommendations),
        tags=(*item.tags, "ai"),
        key=f"llm:{index}:{hashlib.sha256(item.title.encode()).hexdigest()[:16]}",
    )


def model_findings(snapshot: Snapshot, advice: Advice, scope: Scope) -> list[Finding]:
    return [model_finding(snapshot, scope, index, item) for index, item in enumerate(advice.insights)]


def rules_only(findings: list[Finding], note: str) -> list[Finding]:
    """The rules' findings when the model was wanted but could not help, saying so."""
    return [
        replace(f, summary=f"{f.summary} (Rules only: {note}.)", tags=(*f.tags, "rules-only"))
        for f in findings
    ]
