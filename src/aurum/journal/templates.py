"""The built-in journal templates: code data, the same for everyone, with stable ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

NAMESPACE = uuid.UUID("6f1f5d0c-7d2b-4f3e-9a51-3c0b8e2a9d41")


@dataclass(frozen=True)
class BuiltInTemplate:
    type: str
    name: str
    description: str
    prompts: tuple[str, ...]
    default_tags: tuple[str, ...]

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"journal-template:{self.type}")


BUILT_INS = (
    BuiltInTemplate(
        "daily_reflection",
        "Daily reflection",
        "Look back on the day.",
        ("What went well today?", "What was hard?", "What will I do differently tomorrow?"),
        ("reflection",),
    ),
    BuiltInTemplate(
        "gratitude",
        "Gratitude",
        "Three things to be thankful for.",
        ("I am grateful for …", "Someone who made my day better:", "A small joy I noticed:"),
        ("gratitude",),
    ),
    BuiltInTemplate(
        "goal_setting",
        "Goal setting",
        "Turn a wish into a plan.",
        ("What do I want to achieve?", "Why does it matter to me?", "What is the first step?"),
        ("goals",),
    ),
    BuiltInTemplate(
        "weekly_review",
        "Weekly review",
        "The week behind and the one ahead.",
        ("What did I accomplish this week?", "What did I learn?", "What are my priorities next week?"),
        ("review", "weekly"),
    ),
    BuiltInTemplate(
        "mood_tracker",
        "Mood tracker",
        "How I feel and why.",
        ("How do I feel right now?", "What influenced my mood?", "What would help?"),
        ("mood",),
    ),
    BuiltInTemplate(
        "learning_log",
        "Learning log",
        "What I learned and how I will use it.",
        ("What did I learn?", "How can I apply it?", "What do I want to explore next?"),
        ("learning",),
    ),
    BuiltInTemplate(
        "creative_writing",
        "Creative writing",
        "A free page for stories, poems and ideas.",
        ("Write freely: what comes to mind?",),
        ("creative",),
    ),
    BuiltInTemplate(
        "problem_solving",
        "Problem solving",
        "Think a problem through.",
        ("What is the problem?", "What are the options?", "Which one will I try, and how?"),
        ("problem-solving",),
    ),
    BuiltInTemplate(
        "habit_tracker",
        "Habit tracker",
        "Check in on the habits I am building.",
        ("Which habits did I keep today?", "What got in the way?", "What will make tomorrow easier?"),
        ("habits",),
    ),
)
BY_ID = {t.id: t for t in BUILT_INS}
BY_TYPE = {t.type: t for t in BUILT_INS}
