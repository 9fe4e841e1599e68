"""Rules are data, their behaviour is code: every active rule needs its evaluator (or detector) and every
evaluator its rule. A mismatch stops start-up, naming the codes, rather than scoring silently with less."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aurum.hrm.model import HrmRule
from aurum.hrm.rules import EVALUATORS

MODEL_RULE = "AI_ADVICE"  # the model's own findings: applied by the analysis job, not an evaluator


class RuleRegistryError(RuntimeError):
    pass


def implemented() -> frozenset[str]:
    from aurum.hrm.detectors import DETECTORS
    from aurum.hrm.standing import STATUS_RULE

    return frozenset(EVALUATORS) | frozenset(DETECTORS) | {MODEL_RULE, STATUS_RULE}


def check_rules(rules: Iterable[tuple[str, bool]], handlers: frozenset[str] | None = None) -> None:
    """``rules``: (code, active) of every row of ``hrm_rules``."""
    handlers = implemented() if handlers is None else handlers
    rows = dict(rules)
    unimplemented = sorted(code for code, active in rows.items() if active and code not in handlers)
    unknown = sorted(handlers - set(rows))
    problems = []
    if unimplemented:
        problems.append(f"active rules without an evaluator: {', '.join(unimplemented)}")
    if unknown:
        problems.append(f"evaluators without a rule in hrm_rules: {', '.join(unknown)}")
    if problems:
        raise RuleRegistryError("HRM rules and code disagree: " + "; ".join(problems))


async def verify_rules(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        rows = (await session.execute(select(HrmRule.code, HrmRule.active))).all()
    check_rules((row.code, row.active) for row in rows)
