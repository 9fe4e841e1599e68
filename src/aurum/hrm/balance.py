"""The balance detectors: NEGLECTED_PILLAR and PILLAR_IMBALANCE, judged only on enough evidence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aurum.hrm.facts import PillarFacts, Snapshot, TaskFacts
from aurum.hrm.findings import Evidence, Finding, Scope
from aurum.hrm.observing import (
    completed_count,
    duration,
    effort_shares,
    finding,
    is_live,
    live_pillars,
    next_steps,
    pillars_in_scope,
    quoted,
)
from aurum.hrm.wording import allocation

# --- NEGLECTED_PILLAR and PILLAR_IMBALANCE

NEGLECT_RATIO = 0.5
IMBALANCE_DISTANCE = 0.3


def data_confidence(snapshot: Snapshot) -> float:
    """How far effort shares can be trusted: 0.4 with nothing completed, + 0.05 per completed task, ≤ 0.9."""
    return min(0.9, 0.4 + 0.05 * completed_count(snapshot))


def neglected_pillar(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """A live pillar with a time allocation > 0 whose share of the effort completed in the window is below
    half its planned share (allocation ÷ all allocations). Quiet with fewer than 2 live pillars (one pillar
    gets all the effort there is) and when nothing was completed in the window (no effort to share out: a new
    person, or a break, is not neglect). Global and pillar scopes only. Confidence = min(0.9, 0.4 + 0.05·tasks
    completed in the window); impact = 0.3 + (planned − actual share)."""
    if len(live_pillars(snapshot)) < 2:
        return []
    too_early = snapshot.too_little_history()
    if too_early is not None:  # said once: by PILLAR_IMBALANCE for everything, here for one pillar
        if scope.type != "pillar":
            return []
        allocated = [p for p in pillars_in_scope(snapshot, scope) if p.time_allocation]
        return [_too_early(snapshot, "NEGLECTED_PILLAR", ("pillar", p.id), [p], too_early) for p in allocated]
    shares = effort_shares(snapshot)
    if shares is None:
        return []
    found = []
    for pillar in pillars_in_scope(snapshot, scope):
        if not pillar.time_allocation:
            continue
        planned = snapshot.planned_share(pillar.id)
        actual = shares.get(pillar.id, 0.0)
        if actual < NEGLECT_RATIO * planned:
            found.append(_neglect_finding(snapshot, pillar, planned, actual))
    return found


def _neglect_finding(snapshot: Snapshot, pillar: PillarFacts, planned: float, actual: float) -> Finding:
    days = snapshot.effort_days
    got = f"{actual:.0%} of what you completed"
    tasks = [t for t in snapshot.open_tasks() if _pillar_id(snapshot, t) == pillar.id]
    evidence = [
        Evidence(
            "Pillar",
            pillar.id,
            f"{allocation(snapshot, pillar).capitalize()}; got {got} in the last {days} days",
        )
    ]
    steps = next_steps(snapshot, tasks)
    evidence += [Evidence("Task", t.id, f"open in {_place(snapshot, t)}, ready to start") for t in steps[:3]]
    advice = [f"Schedule {quoted(t.name)} ({_place(snapshot, t)}) this week" for t in steps[:3]]
    if not tasks:
        advice.append(f"Add a next step under {quoted(pillar.name)}: it has no open task")
    hours = planned * snapshot.preferences.weekly_work_minutes
    advice.append(f"Reserve about {duration(hours)} a week for {quoted(pillar.name)} to match your plan")
    advice.append(
        f"Or lower the time allocation of {quoted(pillar.name)} if {pillar.time_allocation}%"
        " no longer fits your plans"
    )
    return finding(
        "NEGLECTED_PILLAR",
        "alignment_analysis",
        ("pillar", pillar.id),
        f"{quoted(pillar.name)} is getting less of your time than planned",
        f"You planned {planned:.0%} of your time for {quoted(pillar.name)} but it got {got} in the last"
        f" {days} days.",
        (data_confidence(snapshot), 0.3 + planned - actual),
        evidence,
        advice,
        ("balance", "pillar"),
    )


def pillar_imbalance(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """The completed effort spread over the live pillars against the planned spread: total variation distance
    ½·Σ|actual − planned| ≥ 0.3, with ≥ 2 pillars and something completed. Global scope only. Confidence as
    NEGLECTED_PILLAR; impact = 0.2 + distance."""
    pillars = live_pillars(snapshot)
    if scope.type != "global" or len(pillars) < 2:
        return []
    too_early = snapshot.too_little_history()
    if too_early is not None:
        return [_too_early(snapshot, "PILLAR_IMBALANCE", ("global", None), pillars, too_early)]
    shares = effort_shares(snapshot)
    if shares is None:
        return []
    gaps = {p.id: shares[p.id] - snapshot.planned_share(p.id) for p in pillars}
    distance = sum(abs(g) for g in gaps.values()) / 2
    if round(distance, 9) < IMBALANCE_DISTANCE:
        return []
    under = sorted((p for p in pillars if gaps[p.id] < 0), key=lambda p: (gaps[p.id], p.name))
    over = sorted((p for p in pillars if gaps[p.id] > 0), key=lambda p: (-gaps[p.id], p.name))

    def shares_of(p: PillarFacts) -> str:
        return f"got {shares[p.id]:.0%}, planned {snapshot.planned_share(p.id):.0%}"

    advice = []
    for pillar in under[:2]:
        tasks = [t for t in snapshot.open_tasks() if _pillar_id(snapshot, t) == pillar.id]
        steps = next_steps(snapshot, tasks)
        start = f": start with {quoted(steps[0].name)}" if steps else ""
        advice.append(f"Give {quoted(pillar.name)} more time ({shares_of(pillar)}){start}")
    advice += [f"Ease off {quoted(p.name)} ({shares_of(p)})" for p in over[:2]]
    advice.append("Revisit your time allocations if they no longer match how you want to spend your time")
    return [
        finding(
            "PILLAR_IMBALANCE",
            "alignment_analysis",
            ("global", None),
            "Your effort is out of balance with your pillars",
            f"{distance:.0%} of your completed effort in the last {snapshot.effort_days} days went"
            f" elsewhere than planned: {quoted(over[0].name)} {shares_of(over[0])}; {quoted(under[0].name)} "
            f"{shares_of(under[0])}.",
            (data_confidence(snapshot), 0.2 + distance),
            [Evidence("Pillar", p.id, shares_of(p)) for p in sorted(pillars, key=lambda p: -abs(gaps[p.id]))],
            advice,
            ("balance", "global"),
        )
    ]


def _too_early(
    snapshot: Snapshot,
    code: str,
    about: tuple[str, uuid.UUID | None],
    pillars: Sequence[PillarFacts],
    why: str,
) -> Finding:
    """Balance is not judged on too little evidence, and the person is told so, once, quietly."""
    return finding(
        code,
        "alignment_analysis",
        about,
        "Too early to judge your balance",
        f"{why}. Tasks entered as already done count as a record, not as effort.",
        (0.9, 0.1),
        [Evidence("Pillar", p.id, allocation(snapshot, p).capitalize()) for p in pillars],
        ["Keep completing tasks as you go: the balance between your pillars is judged from that"],
        ("balance", about[0]),
    )


def _pillar_id(snapshot: Snapshot, task: TaskFacts) -> uuid.UUID | None:
    pillar = snapshot.pillar_of(task) if is_live(snapshot, task) else None
    return pillar.id if pillar else None


def _place(snapshot: Snapshot, task: TaskFacts) -> str:
    area, project = snapshot.area_of(task), snapshot.project_of(task)
    return " › ".join(x.name for x in (area, project) if x is not None)
