"""Analysis runs: requested through GraphQL, run as ARQ jobs, written once.

``request`` records a run and queues its job after commit (the job id is the run id); an identical request
while one is pending returns that run. The job marks the run running, gathers the scope's snapshot and the
scores, runs the detectors, asks the model when the depth and the person's preferences call for it, and writes
the insights with the run's outcome in one transaction. The run row is the guard: a second delivery of the
job (a retry, a sweep after a crash) finds it finished and does nothing, and insights are unique per run and
key, so a run never writes its insights twice. A finding an earlier run made that still stands is refreshed
rather than written again (``store``). Failures are retried with backoff and end in ``failed`` with a
readable error; a bad or missing model answer never fails a run: it degrades to the rules' insights.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from arq.worker import Retry
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.db import Actor, UnitOfWork, read_session, unit_of_work
from aurum.errors import Conflict, NotFound, RateLimited
from aurum.hrm.feedback import rejected_keys
from aurum.hrm.findings import NODE_TYPES, Scope
from aurum.hrm.insights import InsightDraft, draft
from aurum.hrm.llm import Advice, model_client
from aurum.hrm.model import AnalysisRun, Insight
from aurum.hrm.prompt import analysis_prompt
from aurum.hrm.registry import MODEL_RULE
from aurum.hrm.scopes import SCOPE_MODELS
from aurum.hrm.scoring import compute, snapshot_and_rules
from aurum.hrm.store import expire_due, expire_orphans, write_insights
from aurum.hrm.telling import model_findings, rule_findings, rules_only, weighted
from aurum.hrm.weights import rule_weights
from aurum.models import table_of
from aurum.notification.notify import Notified, notify, send_now
from aurum.resources import Resources

log = structlog.get_logger(__name__)

RUNS = table_of(AnalysisRun)
INSIGHTS = table_of(Insight)
ANALYSE = "analyse"
MAX_TRIES = 3
MAX_STARTS = 5  # retries and restarts after crashes together
RETRY_SECONDS = 2.0  # doubles for each further try
REQUESTS_PER_HOUR = 60
INSIGHTS_BY_DEPTH = {"quick": 3, "balanced": 6, "deep": 10}
PENDING = ("queued", "running")
# The predicate of the partial unique index, as a literal: with bound parameters PostgreSQL cannot match a
# generic plan of the statement to the index (asyncpg prepares it) and the insert fails after a few requests.
PENDING_INDEX = text("status IN ('queued', 'running')")


def input_hash(scope: Scope, depth: str) -> str:
    return hashlib.sha256(f"{scope.type}:{scope.id or ''}:{depth}".encode()).hexdigest()


async def _check_scope(session: AsyncSession, user_id: uuid.UUID, scope: Scope) -> None:
    if scope.type == "global":
        return
    model = SCOPE_MODELS[scope.type]
    found = await session.scalar(select(model.id).where(model.id == scope.id, model.user_id == user_id))
    if found is None:
        raise NotFound(f"No {NODE_TYPES[scope.type]} with this id", ["input", "scopeId"])


async def _check_rate(session: AsyncSession, user_id: uuid.UUID) -> None:
    recent = await session.scalar(
        select(func.count())
        .select_from(RUNS)
        .where(RUNS.c.user_id == user_id, RUNS.c.created_at > func.now() - timedelta(hours=1))
    )
    if (recent or 0) > REQUESTS_PER_HOUR:  # the count includes the run just recorded
        raise RateLimited(f"At most {REQUESTS_PER_HOUR} analyses an hour: try again later")


async def request(
    uow: UnitOfWork, resources: Resources, scope: Scope, depth: str, force: bool
) -> tuple[Any, bool]:
    """The run for this request: a new one (queued after commit), or the identical one still pending."""
    session, user_id = uow.session, uow.user_id
    await _check_scope(session, user_id, scope)
    digest = input_hash(scope, depth)
    values = {
        "user_id": user_id,
        "scope_type": scope.type,
        "scope_id": scope.id,
        "depth": depth,
        "force": force,
        "input_hash": digest,
    }
    for _ in range(2):  # the pending run it collided with may finish before it is read: then record anew
        created = (
            await session.execute(
                insert(RUNS)
                .values(**values)
                .on_conflict_do_nothing(
                    index_elements=[RUNS.c.user_id, RUNS.c.input_hash], index_where=PENDING_INDEX
                )
                .returning(RUNS)
            )
        ).first()
        if created is not None:
            await _check_rate(session, user_id)
            _enqueue_after_commit(uow, resources, created.id)
            return created, True
        existing = (
            await session.execute(
                select(RUNS).where(
                    RUNS.c.user_id == user_id, RUNS.c.input_hash == digest, RUNS.c.status.in_(PENDING)
                )
            )
        ).first()
        if existing is not None:
            return existing, False
    raise Conflict("An identical analysis was being recorded at the same time; try again")


def _enqueue_after_commit(uow: UnitOfWork, resources: Resources, run_id: uuid.UUID) -> None:
    async def enqueue() -> None:
        await resources.jobs.enqueue(ANALYSE, str(run_id), str(uow.user_id), job_id=str(run_id))

    uow.on_commit(enqueue)


@dataclass(frozen=True)
class Outcome:
    drafts: list[InsightDraft]
    model: str | None
    note: str | None


async def _start(resources: Resources, run_id: uuid.UUID, user_id: uuid.UUID) -> Any | None:
    """Mark the run running (one more attempt); None when it is finished already, or has now been given up
    after its worker died under it ``MAX_STARTS`` times."""
    async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
        run = (await uow.session.execute(select(RUNS).where(RUNS.c.id == run_id).with_for_update())).first()
        if run is None or run.status in ("succeeded", "failed"):
            return None
        if run.attempts >= MAX_STARTS:
            error = f"The analysis was started {run.attempts} times and never finished"
            await _mark_failure(uow, run_id, error, final=True)
            started = None
        else:
            started = await _begin_attempt(uow, run_id)
    resources.announce(user_id)
    return started


async def _begin_attempt(uow: UnitOfWork, run_id: uuid.UUID) -> Any:
    statement = (
        update(RUNS)
        .where(RUNS.c.id == run_id)
        .values(
            status="running",
            attempts=RUNS.c.attempts + 1,
            started_at=func.coalesce(RUNS.c.started_at, func.now()),
            updated_at=func.now(),
            version=RUNS.c.version + 1,
        )
        .returning(RUNS)
    )
    return (await uow.session.execute(statement)).one()


async def _think(resources: Resources, run: Any, user_id: uuid.UUID) -> Outcome:
    scope = Scope(run.scope_type, run.scope_id)
    now = datetime.now(UTC)
    async with read_session(resources.sessionmaker, user_id) as session:
        snapshot, scoring = await snapshot_and_rules(session, user_id, now)
        weights = {w.rule.code: w for w in await rule_weights(session, user_id, active_only=False)}
        rejected = await rejected_keys(session, user_id, now)
    scores = compute(snapshot, scoring, now)
    findings = rule_findings(snapshot, scope, scores, weights, rejected)[: INSIGHTS_BY_DEPTH[run.depth]]
    preferences, model, note = snapshot.preferences, None, None
    advice_rule = weights.get(MODEL_RULE)
    if run.depth != "quick" and advice_rule is not None and advice_rule.rule.active:
        prompt = analysis_prompt(snapshot, scope, findings, preferences, run.depth)
        result = await model_client(resources).generate(
            user_id=user_id,
            purpose="analysis",
            prompt=prompt,
            schema=Advice,
            ai_enabled=preferences.ai_enabled,
            force=run.force,
        )
        if result.answer is not None:
            model = result.model
            found = model_findings(snapshot, result.answer, scope)
            advice = [w for w in (weighted(f, weights) for f in found) if w]
            findings = findings + advice
        else:
            note = result.degraded
            findings = rules_only(findings, note or "the AI model could not help")
    drafts = [
        draft(snapshot, f, scores, preferences, source="llm", model=model)
        if f.rule_code == MODEL_RULE
        else draft(snapshot, f, scores, preferences, source="rules")
        for f in findings
    ]
    return Outcome(drafts, model, note)


def _row(run: Any, user_id: uuid.UUID, item: InsightDraft) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "run_id": run.id,
        "dedupe_key": item.key[:200],
        "rule_code": item.rule_code,
        "scope_type": item.scope_type,
        "scope_id": item.scope_id,
        "type": item.type,
        "title": item.title[:200],
        "summary": item.summary,
        "confidence": item.confidence,
        "impact": item.impact,
        "reasoning_path": [step.to_json() for step in item.reasoning_path],
        "evidence": [{"type": e.entity_type, "id": str(e.entity_id), "fact": e.fact} for e in item.evidence],
        "recommendations": list(item.recommendations[:5]),
        "tags": [t[:50] for t in item.tags],
        "source": item.source,
        "model": item.model,
        "expires_at": item.expires_at,
    }


async def _finish(resources: Resources, run: Any, user_id: uuid.UUID, outcome: Outcome) -> bool:
    """Write the insights and the outcome together; False when another delivery finished the run first."""
    async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
        session = uow.session
        current = (
            await session.execute(select(RUNS.c.status).where(RUNS.c.id == run.id).with_for_update())
        ).first()
        if current is None or current.status in ("succeeded", "failed"):
            return False
        now = datetime.now(UTC)
        await expire_due(session, user_id, now)  # an insight past its expiry is not refreshed but found anew
        rows = [_row(run, user_id, d) for d in outcome.drafts]
        to_notify = await write_insights(session, user_id, rows, now)
        await session.execute(
            update(RUNS)
            .where(RUNS.c.id == run.id)
            .values(
                status="succeeded",
                error=None,
                model=outcome.model,
                model_note=outcome.note,
                finished_at=func.now(),
                updated_at=func.now(),
                version=RUNS.c.version + 1,
            )
        )
        notified = await notify_insights(uow, to_notify, now)
    resources.announce(user_id)
    if notified:
        await send_now(resources, user_id, notified[0], now)  # sends every due email of the person
    return True


async def notify_insights(uow: UnitOfWork, ids: list[uuid.UUID], now: datetime) -> list[Notified]:
    """One INSIGHT notification for each of these insights (new, or newly of a high impact)."""
    if not ids:
        return []
    rows = (
        await uow.session.execute(
            select(INSIGHTS.c.id, INSIGHTS.c.title, INSIGHTS.c.summary)
            .where(INSIGHTS.c.id.in_(ids))
            .order_by(INSIGHTS.c.impact.desc(), INSIGHTS.c.id)
        )
    ).all()
    made = [
        await notify(uow, "INSIGHT", ("Insight", row.id), "", row.title, row.summary, now) for row in rows
    ]
    return [n for n in made if n is not None]


async def _mark_failure(uow: UnitOfWork, run_id: uuid.UUID, error: str, final: bool) -> None:
    values: dict[str, Any] = {"error": error, "updated_at": func.now(), "version": RUNS.c.version + 1}
    if final:
        values.update(status="failed", finished_at=func.now())
    await uow.session.execute(
        update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status.in_(("queued", "running"))).values(**values)
    )


async def _fail(resources: Resources, run_id: uuid.UUID, user_id: uuid.UUID, error: str, final: bool) -> None:
    async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
        await _mark_failure(uow, run_id, error, final)
    resources.announce(user_id)


def readable_error(error: Exception) -> str:
    return f"The analysis stopped on an unexpected {type(error).__name__}"


async def analyse(ctx: dict[str, Any], run_id: str, user_id: str) -> str:
    """The job. Returns what became of the run."""
    resources: Resources = ctx["resources"]
    run_uuid, user_uuid = uuid.UUID(run_id), uuid.UUID(user_id)
    job_try: int = ctx.get("job_try", 1)
    run = await _start(resources, run_uuid, user_uuid)
    if run is None:
        return "finished already"
    try:
        outcome = await _think(resources, run, user_uuid)
        written = await _finish(resources, run, user_uuid, outcome)
    except Exception as error:
        final = job_try >= MAX_TRIES
        log.exception("analysis failed", run_id=run_id, job_try=job_try, final=final)
        await _fail(
            resources,
            run_uuid,
            user_uuid,
            readable_error(error) + (f" after {job_try} attempts" if final else ""),
            final,
        )
        if final:
            return "failed"
        raise Retry(defer=RETRY_SECONDS * 2 ** (job_try - 1)) from error
    return "succeeded" if written else "finished already"


async def sweep_runs(ctx: dict[str, Any]) -> int:
    """Queue again the runs still pending long after their last sign of life (a worker died, Redis lost its
    queue). A run's own job may still be queued: the retry job carries another id, and whichever comes second
    finds the run finished."""
    resources: Resources = ctx["resources"]
    cutoff = datetime.now(UTC) - timedelta(seconds=resources.settings.analysis_stuck_seconds)
    async with resources.sessionmaker() as session, session.begin():
        rows = (
            await session.execute(
                select(func.aurum_pending_analysis_runs(cutoff).table_valued("id", "user_id"))
            )
        ).all()
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    for row in rows:
        await resources.jobs.enqueue(ANALYSE, str(row.id), str(row.user_id), job_id=f"{row.id}:sweep:{stamp}")
    if rows:
        log.info("stuck analysis runs queued again", runs=len(rows))
    return len(rows)


async def expire_insights(ctx: dict[str, Any]) -> int:
    """Every five minutes: active insights past their expiry become expired (pinned ones stay), user by
    user, each as a writer of that user's data; so do those of these users about a deleted record (the
    scoring job, which follows every deletion, expires those of anyone else)."""
    resources: Resources = ctx["resources"]
    now = datetime.now(UTC)
    async with resources.sessionmaker() as session, session.begin():
        users = (
            await session.scalars(
                select(func.aurum_users_with_expiring_insights(now).table_valued("user_id"))
            )
        ).all()
    expired = 0
    for user_id in users:
        async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
            expired += await expire_due(uow.session, user_id, now)
            expired += await expire_orphans(uow.session, user_id, now)
        resources.announce(user_id)
    if expired:
        log.info("insights expired", insights=expired)
    return expired
