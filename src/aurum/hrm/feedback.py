"""Verdicts: on a task's priority and on insights. With learning on, each moves the person's learned rule
weights within bounds, and is logged with a snapshot of the factors and of the weights before and after."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from aurum import crud
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput, NotFound
from aurum.hrm.factors import Factor, Score
from aurum.hrm.model import HrmFeedback, HrmRuleWeight, Insight
from aurum.hrm.scoring import current_scores
from aurum.hrm.service import upsert_weight, viewer_preferences
from aurum.hrm.weights import RuleWeight, insight_adjustments, learned, priority_adjustments, rule_weights
from aurum.models import table_of
from aurum.task.model import CLOSED_STATUSES, Task

FEEDBACK = table_of(HrmFeedback)
INSIGHTS = table_of(Insight)
WEIGHTS = table_of(HrmRuleWeight)
MAX_COMMENT = 2000


async def learn(
    uow: UnitOfWork, adjustments: Mapping[str, float], weights: Mapping[str, RuleWeight]
) -> dict[str, float]:
    """Move the learned weights; returns the new values."""
    moved = learned(weights, adjustments)
    for code, value in moved.items():
        await upsert_weight(uow, code, {"learned_weight": value}, learned=True)
    return moved


def snapshot_of(
    score: Score | None, weights: Mapping[str, RuleWeight], moved: Mapping[str, float]
) -> dict[str, Any]:
    return {
        "score": score.value if score else None,
        "factors": score.factors_json() if score else [],
        "weightsBefore": {code: weights[code].effective for code in moved},
        "weightsAfter": dict(moved),
    }


async def priority_feedback(uow: UnitOfWork, task_id: uuid.UUID, verdict: str, comment: str | None) -> Task:
    """Record a verdict on a task's priority; with learning on, move the rule weights behind it."""
    task = await crud.get_owned(uow.session, Task, task_id, uow.user_id, ["input", "taskId"])
    if task.status in CLOSED_STATUSES:
        raise InvalidInput("A completed or skipped task has no priority to correct", ["input", "taskId"])
    _check_comment(comment)
    score = (await current_scores(uow.session, uow.user_id, [task_id])).get(task_id)
    preferences = await viewer_preferences(uow.session, uow.user_id)
    weights = {w.rule.code: w for w in await rule_weights(uow.session, uow.user_id)}
    moved: dict[str, float] = {}
    if preferences.learning_enabled and score is not None:
        moved = await learn(uow, await _priority_adjustments(uow, task_id, score, verdict), weights)
    snapshot = {**snapshot_of(score, weights, moved), "learning": preferences.learning_enabled}
    await _log(uow, {"task_id": task_id}, verdict, comment, snapshot)
    return task


async def _latest_learned(uow: UnitOfWork, subject: Any, subject_id: uuid.UUID) -> Any:
    """The person's latest verdict on the task or insight (``subject`` is its column) that moved their
    weights, with its snapshot; ``None`` if there is none."""
    return (
        await uow.session.execute(
            select(FEEDBACK.c.verdict, FEEDBACK.c.snapshot)
            .where(
                subject == subject_id,
                FEEDBACK.c.user_id == uow.user_id,
                FEEDBACK.c.snapshot["learning"].as_boolean().is_(True),
            )
            .order_by(FEEDBACK.c.created_at.desc())
            .limit(1)
        )
    ).first()


async def _learned_priority_verdict(uow: UnitOfWork, task_id: uuid.UUID) -> tuple[str, list[Factor]] | None:
    """The person's latest verdict on the task's priority that moved their weights, with the factors then."""
    row = await _latest_learned(uow, FEEDBACK.c.task_id, task_id)
    if row is None:
        return None
    return str(row.verdict).upper(), [Factor.from_json(f) for f in row.snapshot.get("factors", [])]


async def _priority_adjustments(
    uow: UnitOfWork, task_id: uuid.UUID, score: Score, verdict: str
) -> dict[str, float]:
    """What the verdict teaches, less what the task's earlier verdict taught (from the factors it was given
    on): one task's verdicts count as its latest one, so tapping "too low" again does not move the weights
    again (the deltas telescope to the latest verdict's effect)."""
    wanted = priority_adjustments(score.factors, verdict)
    earlier = await _learned_priority_verdict(uow, task_id)
    taught = priority_adjustments(earlier[1], earlier[0]) if earlier else {}
    return _replacing(taught, wanted)


def _replacing(taught: dict[str, float], wanted: dict[str, float]) -> dict[str, float]:
    """The weight changes that turn what an earlier verdict taught into what the new one wants."""
    deltas = {code: wanted.get(code, 0.0) - taught.get(code, 0.0) for code in {*wanted, *taught}}
    return {code: delta for code, delta in sorted(deltas.items()) if abs(delta) > 1e-9}


def _check_comment(comment: str | None) -> None:
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInput(f"A comment is at most {MAX_COMMENT} characters", ["input", "comment"])


async def _log(
    uow: UnitOfWork,
    subject: dict[str, uuid.UUID],
    verdict: str,
    comment: str | None,
    snapshot: dict[str, Any],
) -> None:
    await uow.session.execute(
        insert(FEEDBACK).values(
            user_id=uow.user_id,
            verdict=verdict.lower(),
            comment=comment,
            snapshot=snapshot,
            created_at=datetime.now(UTC),
            **subject,
        )
    )


async def _owned_insight(uow: UnitOfWork, insight_id: uuid.UUID, field: list[str]) -> Any:
    row = (
        await uow.session.execute(
            select(INSIGHTS)
            .where(INSIGHTS.c.id == insight_id, INSIGHTS.c.user_id == uow.user_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound("No Insight with this id", field)
    return row


def _rules_behind(row: Any) -> list[str]:
    """The rules an insight came from: its own rule and, for a priority insight, the task's score factors."""
    codes = {row.rule_code} if row.rule_code else set()
    if row.type == "priority_reasoning":
        for step in row.reasoning_path or []:
            if step.get("level") == "task":
                codes.update(f["ruleCode"] for f in step.get("factors", []))
    return sorted(codes)


async def _learned_verdict(uow: UnitOfWork, insight_id: uuid.UUID) -> str | None:
    """The person's latest verdict on the insight that moved their weights, if any."""
    row = await _latest_learned(uow, FEEDBACK.c.insight_id, insight_id)
    return str(row.verdict).upper() if row is not None else None


async def _insight_adjustments(uow: UnitOfWork, row: Any, verdict: str) -> dict[str, float]:
    """What the verdict teaches, less what an earlier verdict on the same insight taught already: judging an
    insight again replaces the earlier verdict rather than counting twice."""
    codes = _rules_behind(row)
    wanted = insight_adjustments(codes, verdict)
    earlier = await _learned_verdict(uow, row.id)
    taught = insight_adjustments(codes, earlier) if earlier else {}
    return _replacing(taught, wanted)


REVIVING = ("ACCEPTED", "MODIFIED")  # verdicts that take a dismissed insight back, until it expires
DISMISSED = {"status": "dismissed", "pinned": False}  # a dismissed insight is not kept past its expiry


async def insight_feedback(uow: UnitOfWork, insight_id: uuid.UUID, verdict: str, comment: str | None) -> Any:
    """Log the verdict and learn from it; REJECTED dismisses the insight, ACCEPTED or MODIFIED brings a
    dismissed one back while it has not expired."""
    row = await _owned_insight(uow, insight_id, ["input", "insightId"])
    _check_comment(comment)
    preferences = await viewer_preferences(uow.session, uow.user_id)
    weights = {w.rule.code: w for w in await rule_weights(uow.session, uow.user_id)}
    moved: dict[str, float] = {}
    if preferences.learning_enabled:
        moved = await learn(uow, await _insight_adjustments(uow, row, verdict), weights)
    snapshot = {
        "insight": {
            "type": row.type,
            "ruleCode": row.rule_code,
            "confidence": row.confidence,
            "impact": row.impact,
        },
        "weightsBefore": {code: weights[code].effective for code in moved},
        "weightsAfter": dict(moved),
        "learning": preferences.learning_enabled,
    }
    await _log(uow, {"insight_id": insight_id}, verdict, comment, snapshot)
    if verdict == "REJECTED":
        return await _change(uow, row, DISMISSED)
    if verdict in REVIVING and row.status == "dismissed" and _standing(row):
        return await _change(uow, row, {"status": "active"})
    return row


def _standing(row: Any) -> bool:
    return row.expires_at is None or row.expires_at > datetime.now(UTC)


async def pin_insight(uow: UnitOfWork, insight_id: uuid.UUID, pinned: bool) -> Any:
    """Pin (it no longer expires) or unpin. Pinning a dismissed insight takes it back; an expired one cannot
    be pinned (what it said no longer stands)."""
    row = await _owned_insight(uow, insight_id, ["input", "id"])
    if pinned and row.status == "expired":
        raise InvalidInput("An expired insight cannot be pinned: ask for a new analysis", ["input", "id"])
    values: dict[str, Any] = {"pinned": pinned}
    if pinned and row.status == "dismissed":
        values["status"] = "active"
    return await _change(uow, row, values)


async def dismiss_insight(uow: UnitOfWork, insight_id: uuid.UUID) -> Any:
    """Dismiss an insight, unpinning it."""
    return await _change(uow, await _owned_insight(uow, insight_id, ["input", "id"]), DISMISSED)


async def _change(uow: UnitOfWork, row: Any, values: Mapping[str, Any]) -> Any:
    """Set these values; a change that changes nothing writes nothing (no version bump, no event)."""
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if not changed:
        return row
    return (
        await uow.session.execute(
            update(INSIGHTS)
            .where(INSIGHTS.c.id == row.id)
            .values(**changed, updated_at=func.now(), version=INSIGHTS.c.version + 1)
            .returning(INSIGHTS)
        )
    ).one()
