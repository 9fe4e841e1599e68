"""Changing the HRM's inputs: a person's preferences and rule weights, and their verdicts on priorities."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import time
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aurum import crud
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput
from aurum.hrm.gather import preferences_of
from aurum.hrm.model import HrmFeedback, HrmPreferences, HrmRuleWeight
from aurum.hrm.preferences import Preferences
from aurum.hrm.weights import rule_weights
from aurum.models import table_of

PREFERENCES = table_of(HrmPreferences)
WEIGHTS = table_of(HrmRuleWeight)
FEEDBACK = table_of(HrmFeedback)
MAX_COMMENT = 2000


async def viewer_preferences(session: AsyncSession, user_id: uuid.UUID) -> Preferences:
    weights = await rule_weights(session, user_id, active_only=False)
    return await preferences_of(
        session, user_id, {w.rule.code: w.override for w in weights if w.override is not None}
    )


def _check_preferences(values: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for name, value in values.items():
        field = _camel(INPUT_NAMES.get(name, name))
        if value is None:
            raise InvalidInput(f"'{field}' cannot be null", ["input", field])
        if isinstance(value, time):
            if value.tzinfo is not None:  # work hours are on the person's own clock (their time zone)
                raise InvalidInput(
                    "Give a wall-clock time without a UTC offset, e.g. 09:00", ["input", field]
                )
            value = value.replace(second=0, microsecond=0)
        elif name == "work_days":
            value = sorted({getattr(day, "value", day) for day in value})
            if not value:
                raise InvalidInput("Give at least one work day", ["input", "workDays"])
        checked[name] = getattr(value, "value", value)
    return checked


INPUT_NAMES = {"work_start": "work_hours_start", "work_end": "work_hours_end"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def update_preferences(
    uow: UnitOfWork,
    values: Mapping[str, Any],
    rule_weights_input: Sequence[tuple[str, float | None]] | None,
    reset: bool,
) -> None:
    checked = _check_preferences(values)
    current = await preferences_of(uow.session, uow.user_id, {})
    if checked.get("work_start", current.work_start) == checked.get("work_end", current.work_end):
        raise InvalidInput("Work hours must start and end at different times", ["input", "workHoursEnd"])
    await crud.upsert_own_row(uow, PREFERENCES, checked)
    if rule_weights_input:
        await _set_overrides(uow, rule_weights_input)
    if reset:
        await uow.session.execute(
            update(WEIGHTS)
            .where(WEIGHTS.c.user_id == uow.user_id)
            .values(learned_weight=None, feedback_count=0)
        )


async def _set_overrides(uow: UnitOfWork, overrides: Sequence[tuple[str, float | None]]) -> None:
    known = {w.rule.code: w for w in await rule_weights(uow.session, uow.user_id, active_only=False)}
    seen: set[str] = set()
    for index, (code, weight) in enumerate(overrides):
        field = ["input", "ruleWeights", str(index)]
        if code in seen:  # which of two weights was meant cannot be guessed
            raise InvalidInput(f"The rule '{code[:40]}' is given more than once", [*field, "ruleCode"])
        seen.add(code)
        rule = known.get(code)
        if rule is None:
            raise InvalidInput(f"No HRM rule '{code[:40]}' (see hrmRules)", [*field, "ruleCode"])
        if not rule.rule.user_adjustable:
            raise InvalidInput(f"The rule '{code}' cannot be adjusted", [*field, "ruleCode"])
        if weight is not None and not 0 <= weight <= 1:
            raise InvalidInput("A weight is between 0 and 1", [*field, "weight"])
        await upsert_weight(uow, code, {"override_weight": weight})


async def upsert_weight(uow: UnitOfWork, code: str, values: dict[str, Any], *, learned: bool = False) -> None:
    """Set the person's weights for a rule; ``learned``: one more feedback taught it."""
    counted = {"feedback_count": 1} if learned else {}
    recount = {"feedback_count": WEIGHTS.c.feedback_count + 1} if learned else {}
    statement = insert(WEIGHTS).values(user_id=uow.user_id, rule_code=code, **values, **counted)
    await uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=[WEIGHTS.c.user_id, WEIGHTS.c.rule_code],
            set_={**values, **recount, "updated_at": func.now(), "version": WEIGHTS.c.version + 1},
        )
    )
