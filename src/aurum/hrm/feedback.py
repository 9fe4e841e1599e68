"""Verdicts: on a task's priority and on insights. With learning on, each moves the person's learned rule
weights within bounds, and is logged with a snapshot of the factors and of the weights before and after."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aurum import crud
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput, NotFound
from aurum.hrm.factors import Factor, Score
from aurum.hrm.model import HrmFeedback, HrmRuleWeight, Insight
from aurum.hrm.scoring import current_scores, top_scores
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
    target = await verdict_target(uow, task_id, score, verdict)
    await _log(uow, {"task_id": task_id}, verdict, comment, snapshot, target)
    return task


STEP = 0.5  # how far past the neighbouring task's score a verdict holds a task (at most half the gap beyond)
RANKED_LOOKED_AT = 500


async def verdict_target(
    uow: UnitOfWork, task_id: uuid.UUID, score: Score | None, verdict: str
) -> float | None:
    """Where the verdict holds the task: just under the task ranked next below it (too high) or just over
    the one ranked next above (too low); ten points past itself when there is none. CORRECT holds nothing."""
    if score is None or verdict not in ("TOO_HIGH", "TOO_LOW"):
        return None
    ranked = await top_scores(uow.session, uow.user_id, RANKED_LOOKED_AT)
    others = sorted({s.value for t, s in ranked if t != task_id})
    if verdict == "TOO_HIGH":  # the next value under it, and the one after, as a gap to land in
        below = [v for v in reversed(others) if v < score.value][:2]
        target = below[0] - min(STEP, (below[0] - below[1]) / 2) if len(below) == 2 else None
        target = target if target is not None else (below[0] - STEP if below else score.value - 10)
    else:
        above = [v for v in others if v > score.value][:2]
        target = above[0] + min(STEP, (above[1] - above[0]) / 2) if len(above) == 2 else None
        target = target if target is not None else (above[0] + STEP if above else score.value + 10)
    return round(min(100.0, max(0.0, target)), 2)


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
    target: float | None = None,
) -> None:
    await uow.session.execute(
        insert(FEEDBACK).values(
            user_id=uow.user_id,
            verdict=verdict.lower(),
            comment=comment,
            snapshot=snapshot,
            adjusted_score=target,
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


async def _learned_verdict(uow: UnitOfWork, row: Any) -> str | None:
    """The person's latest verdict that moved their weights on this insight or any copy of it (the same
    finding, told again by a later run), if any."""
    copies = select(INSIGHTS.c.id).where(
        INSIGHTS.c.user_id == uow.user_id, INSIGHTS.c.dedupe_key == row.dedupe_key
    )
    found = (
        await uow.session.execute(
            select(FEEDBACK.c.verdict)
            .where(
                FEEDBACK.c.insight_id.in_(copies),
                FEEDBACK.c.user_id == uow.user_id,
                FEEDBACK.c.snapshot["learning"].as_boolean().is_(True),
            )
            .order_by(FEEDBACK.c.created_at.desc())
            .limit(1)
        )
    ).first()
    return str(found.verdict).upper() if found is not None else None


async def _insight_adjustments(uow: UnitOfWork, row: Any, verdict: str) -> dict[str, float]:
    """What the verdict teaches, less what an earlier verdict on the same insight (or a copy of it) taught
    already: judging a finding again replaces the earlier verdict rather than counting twice, so rejecting
    four copies of one insight moves the weights as one rejection does."""
    codes = _rules_behind(row)
    wanted = insight_adjustments(codes, verdict)
    earlier = await _learned_verdict(uow, row)
    taught = insight_adjustments(codes, earlier) if earlier else {}
    return _replacing(taught, wanted)


SILENCE = timedelta(days=30)  # a finding the person rejected is not told again at its scope for this long
REJECTED_KEYS = text(
    """SELECT key FROM (
         SELECT DISTINCT ON (i.dedupe_key) i.dedupe_key AS key, f.verdict, f.created_at
           FROM hrm_feedback f JOIN insights i ON i.id = f.insight_id
          WHERE f.user_id = :user_id
          ORDER BY i.dedupe_key, f.created_at DESC) latest
        WHERE verdict = 'rejected' AND created_at > :since"""
)


async def rejected_keys(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> frozenset[str]:
    """The findings (by key: rule and scope) whose latest verdict is a recent rejection."""
    rows = await session.execute(REJECTED_KEYS, {"user_id": user_id, "since": now - SILENCE})
    return frozenset(str(row.key) for row in rows)


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
