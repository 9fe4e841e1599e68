"""Each person's rule weights: their override, else what was learned from their feedback, else the base
weight; and how feedback moves the learned weights, within bounds."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.hrm.factors import Factor
from aurum.hrm.model import HrmRule, HrmRuleWeight
from aurum.hrm.rules import RuleDef
from aurum.models import table_of

RULES = table_of(HrmRule)
WEIGHTS = table_of(HrmRuleWeight)

LEARNING_RATE = 0.1
MAX_DRIFT = 0.4  # a learned weight stays within ±0.4 of the base weight …
MIN_WEIGHT = 0.05  # … and never reaches 0: feedback can quieten a rule, never silence it


@dataclass(frozen=True)
class RuleWeight:
    """A rule with the viewer's weights."""

    rule: Any  # the hrm_rules row
    override: float | None
    learned: float | None

    @property
    def effective(self) -> float:
        if self.override is not None:
            return float(self.override)
        if self.learned is not None:
            return float(self.learned)
        return float(self.rule.base_weight)

    def definition(self) -> RuleDef:
        return RuleDef(self.rule.code, self.rule.name, self.effective, self.rule.config or {})


async def rule_weights(
    session: AsyncSession, user_id: uuid.UUID, *, active_only: bool = True
) -> list[RuleWeight]:
    """Every rule with this person's weights, in code order; one statement."""
    statement = (
        select(RULES, WEIGHTS.c.override_weight, WEIGHTS.c.learned_weight)
        .outerjoin(WEIGHTS, and_(WEIGHTS.c.rule_code == RULES.c.code, WEIGHTS.c.user_id == user_id))
        .order_by(RULES.c.code)
    )
    if active_only:
        statement = statement.where(RULES.c.active)
    rows = (await session.execute(statement)).all()
    return [RuleWeight(row, row.override_weight, row.learned_weight) for row in rows]


def definitions(weights: Iterable[RuleWeight]) -> dict[str, RuleDef]:
    return {w.rule.code: w.definition() for w in weights}


def bounded(base: float, value: float) -> float:
    return round(min(1.0, base + MAX_DRIFT, max(MIN_WEIGHT, base - MAX_DRIFT, value)), 4)


PRIORITY_SIGNS = {"TOO_HIGH": -1.0, "TOO_LOW": 1.0, "CORRECT": 0.0}


def priority_adjustments(factors: Iterable[Factor], verdict: str) -> dict[str, float]:
    """How a verdict on a task's priority moves each factor's rule weight: "too high" moves weight away
    from the rules that rated the task above its overall score (they pushed it up) and toward those below;
    "too low" the other way; "correct" leaves everything."""
    factors = list(factors)
    sign = PRIORITY_SIGNS[verdict]
    if not sign or not factors:
        return {}
    total = sum(f.weight for f in factors)
    overall = sum(f.weight * f.score for f in factors) / total if total else 0.0
    return {
        f.rule_code: sign * LEARNING_RATE * (f.score - overall)
        for f in factors
        if f.rule_code != "USER_FEEDBACK" and abs(f.score - overall) > 1e-9
    }


INSIGHT_NUDGES = {
    "ACCEPTED": LEARNING_RATE / 2,
    "MODIFIED": 0.0,
    "IGNORED": -LEARNING_RATE / 4,
    "REJECTED": -LEARNING_RATE,
}


def insight_adjustments(rule_codes: Iterable[str], verdict: str) -> dict[str, float]:
    """A verdict on an insight moves the weight of the rule(s) behind it: accepted up, rejected down."""
    nudge = INSIGHT_NUDGES[verdict]
    return {code: nudge for code in rule_codes} if nudge else {}


def learned(current: Mapping[str, RuleWeight], adjustments: Mapping[str, float]) -> dict[str, float]:
    """The new learned weights after ``adjustments``, for the adjustable rules among them."""
    moved: dict[str, float] = {}
    for code, delta in adjustments.items():
        weight = current.get(code)
        if weight is None or not weight.rule.user_adjustable:
            continue
        start = weight.learned if weight.learned is not None else float(weight.rule.base_weight)
        moved[code] = bounded(float(weight.rule.base_weight), start + delta)
    return moved
