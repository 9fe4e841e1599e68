"""A person's HRM preferences: how much the HRM explains, how it speaks, when they work and have energy,
whether it learns from their feedback and whether it may ask the AI model. Pure values and their checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any

DETAIL_LEVELS = ("minimal", "balanced", "detailed")
PERSONALITIES = ("coach", "assistant", "strategist", "motivator")
STYLES = ("direct", "encouraging", "analytical", "socratic")
OPTIMISATIONS = ("balance", "focus", "exploration", "efficiency", "wellbeing")
ENERGY_PATTERNS = ("morning_peak", "afternoon_peak", "evening_peak", "steady")

# Recommendations an insight carries, and whether its reasoning path goes past the scope itself.
RECOMMENDATIONS_BY_DETAIL = {"minimal": 1, "balanced": 3, "detailed": 5}
MAX_RECOMMENDATIONS = 5


@dataclass(frozen=True)
class Preferences:
    explanation_detail: str = "balanced"
    show_confidence: bool = True
    show_reasoning: bool = True
    ai_personality: str = "coach"
    communication_style: str = "encouraging"
    primary_optimisation: str = "balance"
    work_start: time = time(9, 0)
    work_end: time = time(17, 0)
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    energy_pattern: str = "morning_peak"
    learning_enabled: bool = True
    ai_enabled: bool = False  # consent to send the person's data to the AI model: given, never assumed
    weight_overrides: dict[str, float] = field(default_factory=dict)

    @property
    def max_recommendations(self) -> int:
        return RECOMMENDATIONS_BY_DETAIL[self.explanation_detail]

    @property
    def weekly_work_minutes(self) -> int:
        """The hours a week the person works, from their work hours and days (a night shift wraps)."""
        start = self.work_start.hour * 60 + self.work_start.minute
        end = self.work_end.hour * 60 + self.work_end.minute
        daily = end - start if end > start else 24 * 60 - start + end
        return daily * len(self.work_days)

    @classmethod
    def of(cls, row: Any | None, overrides: dict[str, float] | None = None) -> Preferences:
        """From an ``hrm_preferences`` row (None: the defaults)."""
        if row is None:
            return cls(weight_overrides=dict(overrides or {}))
        return cls(
            explanation_detail=row.explanation_detail,
            show_confidence=row.show_confidence,
            show_reasoning=row.show_reasoning,
            ai_personality=row.ai_personality,
            communication_style=row.communication_style,
            primary_optimisation=row.primary_optimisation,
            work_start=row.work_start,
            work_end=row.work_end,
            work_days=tuple(row.work_days),
            energy_pattern=row.energy_pattern,
            learning_enabled=row.learning_enabled,
            ai_enabled=row.ai_enabled,
            weight_overrides=dict(overrides or {}),
        )
