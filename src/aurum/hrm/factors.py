"""A priority score and the factors that explain it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Factor:
    """One rule's part in a score: ``contribution`` = weight × score ÷ Σ weights × 100, so the
    contributions of a score's factors add up to its value (all scaled alike when the person's verdict holds
    the value under or over another task's)."""

    rule_code: str
    label: str
    weight: float
    score: float  # 0–1
    contribution: float  # points of the 0–100 value
    reason: str  # one line a person understands

    def to_json(self) -> dict[str, Any]:
        return {
            "ruleCode": self.rule_code,
            "label": self.label,
            "weight": self.weight,
            "score": self.score,
            "contribution": self.contribution,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Factor:
        return cls(
            rule_code=data["ruleCode"],
            label=data["label"],
            weight=float(data["weight"]),
            score=float(data["score"]),
            contribution=float(data["contribution"]),
            reason=data["reason"],
        )


@dataclass(frozen=True)
class Score:
    value: float  # 0–100
    factors: tuple[Factor, ...]
    computed_at: datetime

    def factors_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.factors]
