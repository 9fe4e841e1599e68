"""A demo account with a realistic hierarchy: ``aurum seed-demo``.

The whole account is one literal below; dates are day offsets from today (negative ones lie in the past, so
some tasks are overdue), ``after`` names tasks of the account a task waits for, ``done`` completes it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aurum.area import service as areas
from aurum.auth import service as auth
from aurum.auth.model import User
from aurum.db import UnitOfWork, unit_of_work
from aurum.errors import Conflict
from aurum.pillar import service as pillars
from aurum.project import service as projects
from aurum.task import service as tasks

DEMO_EMAIL = "demo@aurum.life"
DEMO_PASSWORD = "aurum-demo-2024"
DEMO_NAME = "Alex Demo"
DEMO_TIMEZONE = "UTC"

Spec = dict[str, Any]

HIERARCHY: list[Spec] = [
    {
        "name": "Health & Vitality",
        "icon": "💪",
        "color": "#10b981",
        "time_allocation": 25,
        "vision_statement": "Strong, rested and energetic enough for everything else.",
        "areas": [
            {
                "name": "Fitness",
                "icon": "🏃",
                "importance": 5,
                "projects": [
                    {
                        "name": "Run a half marathon",
                        "status": "active",
                        "priority": "high",
                        "importance": 5,
                        "deadline": 60,
                        "tasks": [
                            {
                                "name": "Buy running shoes",
                                "due": -6,
                                "priority": "medium",
                                "energy": "low",
                                "category": "errand",
                                "minutes": 60,
                                "done": True,
                            },
                            {
                                "name": "Register for the city half marathon",
                                "due": -2,
                                "priority": "high",
                                "energy": "low",
                                "category": "admin",
                                "minutes": 15,
                            },
                            {
                                "name": "Long run: 12 km",
                                "due": 1,
                                "time": "07:00",
                                "priority": "high",
                                "energy": "high",
                                "category": "other",
                                "minutes": 75,
                                "after": ["Buy running shoes"],
                            },
                            {
                                "name": "Plan the 10-week training schedule",
                                "due": 0,
                                "time": "18:00",
                                "priority": "medium",
                                "energy": "medium",
                                "category": "deep_work",
                                "minutes": 45,
                                "subtasks": [
                                    {
                                        "name": "List the available training days",
                                        "minutes": 10,
                                        "energy": "low",
                                    },
                                    {
                                        "name": "Pick long-run distances per week",
                                        "minutes": 20,
                                        "energy": "medium",
                                    },
                                ],
                            },
                        ],
                    },
                    {
                        "name": "Strength routine",
                        "status": "planning",
                        "priority": "medium",
                        "importance": 3,
                        "tasks": [
                            {
                                "name": "Book an intro session at the gym",
                                "due": 3,
                                "priority": "medium",
                                "energy": "low",
                                "category": "communication",
                                "minutes": 10,
                            },
                            {
                                "name": "Write a 3-day split",
                                "due": 7,
                                "priority": "low",
                                "energy": "medium",
                                "category": "creative",
                                "minutes": 30,
                            },
                        ],
                    },
                ],
            },
            {
                "name": "Nutrition & Sleep",
                "icon": "🥗",
                "importance": 4,
                "projects": [
                    {
                        "name": "Meal-prep Sundays",
                        "status": "active",
                        "priority": "medium",
                        "importance": 4,
                        "tasks": [
                            {
                                "name": "Write this week's shopping list",
                                "due": -1,
                                "priority": "medium",
                                "energy": "low",
                                "category": "admin",
                                "minutes": 15,
                            },
                            {
                                "name": "Cook lunches for the week",
                                "due": 2,
                                "time": "11:00",
                                "priority": "medium",
                                "energy": "medium",
                                "category": "errand",
                                "minutes": 120,
                                "after": ["Write this week's shopping list"],
                            },
                            {
                                "name": "Set a 23:00 wind-down alarm",
                                "due": -3,
                                "priority": "low",
                                "energy": "low",
                                "category": "other",
                                "minutes": 5,
                                "done": True,
                            },
                        ],
                    },
                ],
            },
            {
                "name": "Mindfulness",
                "icon": "🧘",
                "importance": 3,
                "projects": [
                    {
                        "name": "Daily meditation habit",
                        "status": "active",
                        "priority": "low",
                        "importance": 3,
                        "tasks": [
                            {
                                "name": "Install a meditation timer",
                                "due": -9,
                                "priority": "low",
                                "energy": "low",
                                "category": "admin",
                                "minutes": 5,
                                "done": True,
                            },
                            {
                                "name": "Meditate 10 minutes before work",
                                "due": 0,
                                "time": "08:00",
                                "priority": "medium",
                                "energy": "low",
                                "category": "other",
                                "minutes": 10,
                            },
                        ],
                    },
                ],
            },
        ],
    },
    {
        "name": "Career & Craft",
        "icon": "🚀",
        "color": "#6366f1",
        "time_allocation": 40,
        "vision_statement": "Do deep, visible work and keep learning in public.",
        "areas": [
            {
                "name": "Product launch",
                "icon": "📦",
                "importance": 5,
                "projects": [
                    {
                        "name": "Ship v2 of the mobile app",
                        "status": "active",
                        "priority": "urgent",
                        "importance": 5,
                        "deadline": 21,
                        "tasks": [
                            {
                                "name": "Finalize the onboarding designs",
                                "due": -4,
                                "priority": "high",
                                "energy": "high",
                                "category": "creative",
                                "minutes": 180,
                                "done": True,
                            },
                            {
                                "name": "Implement the onboarding flow",
                                "due": -1,
                                "time": "17:00",
                                "priority": "urgent",
                                "energy": "high",
                                "category": "deep_work",
                                "minutes": 480,
                                "after": ["Finalize the onboarding designs"],
                                "subtasks": [
                                    {"name": "Welcome screen", "minutes": 90, "energy": "medium"},
                                    {"name": "Pillar picker", "minutes": 120, "energy": "high"},
                                    {
                                        "name": "Notification permission prompt",
                                        "minutes": 60,
                                        "energy": "medium",
                                    },
                                ],
                            },
                            {
                                "name": "Write release notes",
                                "due": 5,
                                "priority": "medium",
                                "energy": "medium",
                                "category": "communication",
                                "minutes": 45,
                                "after": ["Implement the onboarding flow"],
                            },
                            {
                                "name": "Submit the build for store review",
                                "due": 7,
                                "time": "10:00",
                                "priority": "high",
                                "energy": "low",
                                "category": "admin",
                                "minutes": 30,
                                "after": ["Implement the onboarding flow", "Write release notes"],
                            },
                        ],
                    },
                    {
                        "name": "Customer interviews",
                        "status": "active",
                        "priority": "high",
                        "importance": 4,
                        "tasks": [
                            {
                                "name": "Email ten beta users",
                                "due": 0,
                                "time": "09:30",
                                "priority": "high",
                                "energy": "low",
                                "category": "communication",
                                "minutes": 30,
                            },
                            {
                                "name": "Run three interviews",
                                "due": 4,
                                "priority": "high",
                                "energy": "medium",
                                "category": "communication",
                                "minutes": 135,
                                "after": ["Email ten beta users"],
                            },
                            {
                                "name": "Synthesize interview notes",
                                "due": 6,
                                "priority": "medium",
                                "energy": "high",
                                "category": "deep_work",
                                "minutes": 90,
                                "after": ["Run three interviews"],
                            },
                        ],
                    },
                ],
            },
            {
                "name": "Learning",
                "icon": "📚",
                "importance": 3,
                "projects": [
                    {
                        "name": "Finish the distributed systems course",
                        "status": "on_hold",
                        "priority": "low",
                        "importance": 3,
                        "deadline": 90,
                        "tasks": [
                            {
                                "name": "Watch lecture 7: consensus",
                                "due": -8,
                                "priority": "low",
                                "energy": "medium",
                                "category": "deep_work",
                                "minutes": 80,
                            },
                            {
                                "name": "Do the Raft lab",
                                "due": 10,
                                "priority": "medium",
                                "energy": "high",
                                "category": "deep_work",
                                "minutes": 300,
                                "after": ["Watch lecture 7: consensus"],
                            },
                        ],
                    },
                ],
            },
            {
                "name": "Network",
                "icon": "🤝",
                "importance": 2,
                "projects": [
                    {
                        "name": "Speak at a local meetup",
                        "status": "planning",
                        "priority": "medium",
                        "importance": 3,
                        "tasks": [
                            {
                                "name": "Draft a talk abstract",
                                "due": 2,
                                "priority": "medium",
                                "energy": "medium",
                                "category": "creative",
                                "minutes": 40,
                            },
                            {
                                "name": "Send the abstract to the organizers",
                                "due": 9,
                                "priority": "low",
                                "energy": "low",
                                "category": "communication",
                                "minutes": 10,
                                "after": ["Draft a talk abstract"],
                            },
                        ],
                    },
                ],
            },
        ],
    },
    {
        "name": "Relationships",
        "icon": "❤️",
        "color": "#f43f5e",
        "time_allocation": 20,
        "vision_statement": "Be present for the people who matter.",
        "areas": [
            {
                "name": "Family",
                "icon": "🏡",
                "importance": 5,
                "projects": [
                    {
                        "name": "Plan the summer family trip",
                        "status": "active",
                        "priority": "medium",
                        "importance": 4,
                        "deadline": 45,
                        "tasks": [
                            {
                                "name": "Agree on dates with everyone",
                                "due": -5,
                                "priority": "high",
                                "energy": "low",
                                "category": "communication",
                                "minutes": 20,
                            },
                            {
                                "name": "Book the cabin",
                                "due": 3,
                                "priority": "high",
                                "energy": "low",
                                "category": "errand",
                                "minutes": 30,
                                "after": ["Agree on dates with everyone"],
                            },
                            {
                                "name": "Make a packing list",
                                "due": 30,
                                "priority": "low",
                                "energy": "low",
                                "category": "admin",
                                "minutes": 20,
                            },
                        ],
                    },
                ],
            },
            {
                "name": "Friends",
                "icon": "🎉",
                "importance": 3,
                "projects": [
                    {
                        "name": "Monthly dinner club",
                        "status": "active",
                        "priority": "low",
                        "importance": 3,
                        "tasks": [
                            {
                                "name": "Pick a restaurant",
                                "due": 1,
                                "priority": "low",
                                "energy": "low",
                                "category": "errand",
                                "minutes": 15,
                            },
                            {
                                "name": "Send the invites",
                                "due": 2,
                                "time": "12:00",
                                "priority": "medium",
                                "energy": "low",
                                "category": "communication",
                                "minutes": 10,
                                "after": ["Pick a restaurant"],
                            },
                            {
                                "name": "Call Sam back",
                                "due": -1,
                                "priority": "medium",
                                "energy": "medium",
                                "category": "communication",
                                "minutes": 30,
                            },
                        ],
                    },
                ],
            },
        ],
    },
    {
        "name": "Wealth & Home",
        "icon": "🏦",
        "color": "#f59e0b",
        "time_allocation": 15,
        "vision_statement": "Calm finances and a home that runs itself.",
        "areas": [
            {
                "name": "Finances",
                "icon": "💰",
                "importance": 4,
                "projects": [
                    {
                        "name": "Tax return",
                        "status": "active",
                        "priority": "high",
                        "importance": 5,
                        "deadline": 14,
                        "tasks": [
                            {
                                "name": "Collect receipts and statements",
                                "due": -3,
                                "priority": "high",
                                "energy": "low",
                                "category": "admin",
                                "minutes": 60,
                                "done": True,
                            },
                            {
                                "name": "Fill in the return",
                                "due": 4,
                                "priority": "high",
                                "energy": "high",
                                "category": "deep_work",
                                "minutes": 120,
                                "after": ["Collect receipts and statements"],
                                "subtasks": [
                                    {"name": "Income section", "minutes": 40, "energy": "medium"},
                                    {"name": "Deductions section", "minutes": 60, "energy": "high"},
                                ],
                            },
                            {
                                "name": "Review the monthly budget",
                                "due": -2,
                                "priority": "medium",
                                "energy": "medium",
                                "category": "admin",
                                "minutes": 30,
                            },
                        ],
                    },
                ],
            },
            {
                "name": "Home",
                "icon": "🔧",
                "importance": 2,
                "projects": [
                    {
                        "name": "Declutter the apartment",
                        "status": "active",
                        "priority": "low",
                        "importance": 2,
                        "tasks": [
                            {
                                "name": "Sort the wardrobe",
                                "due": 5,
                                "priority": "low",
                                "energy": "medium",
                                "category": "errand",
                                "minutes": 90,
                            },
                            {
                                "name": "Drop donations off",
                                "due": 8,
                                "priority": "low",
                                "energy": "low",
                                "category": "errand",
                                "minutes": 45,
                                "after": ["Sort the wardrobe"],
                            },
                            {
                                "name": "Fix the leaking tap",
                                "due": -7,
                                "priority": "medium",
                                "energy": "medium",
                                "category": "errand",
                                "minutes": 40,
                            },
                        ],
                    },
                ],
            },
        ],
    },
]

NESTED = ("areas", "projects", "tasks", "subtasks", "after", "done")
RENAMED = {"minutes": "estimated_minutes", "time": "due_time"}


async def seed(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Create the demo account; ``False`` (and nothing written) when it already exists."""
    user_id = await _register(sessionmaker)
    if user_id is None:
        return False
    try:
        today = datetime.now(ZoneInfo(DEMO_TIMEZONE)).date()
        async with unit_of_work(sessionmaker, user_id) as uow:
            await _create_hierarchy(uow, today)
    except Exception:
        await _forget(sessionmaker, user_id)
        raise
    return True


async def _register(sessionmaker: async_sessionmaker[AsyncSession]) -> uuid.UUID | None:
    async with sessionmaker() as session, session.begin():
        if await auth.user_id_by_email(session, DEMO_EMAIL) is not None:
            return None
        registration = auth.Registration(DEMO_EMAIL, DEMO_PASSWORD, DEMO_NAME, DEMO_TIMEZONE)
        try:
            user = await auth.register(session, registration)
        except Conflict:  # registered at the same moment by another process
            return None
        user.onboarding_completed = True
        return user.id


async def _forget(sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID) -> None:
    """Undo a half-made account so that the next run starts over."""
    async with unit_of_work(sessionmaker, user_id) as uow:
        await uow.session.execute(delete(User).where(User.id == user_id))


async def _create_hierarchy(uow: UnitOfWork, today: date) -> None:
    task_ids: dict[str, uuid.UUID] = {}
    for order, pillar_spec in enumerate(HIERARCHY):
        pillar = await pillars.create(uow, {**_columns(pillar_spec), "sort_order": order}, None)
        for area_order, area_spec in enumerate(pillar_spec["areas"]):
            area = await areas.create(uow, pillar.id, {**_columns(area_spec), "sort_order": area_order}, None)
            for project_order, project_spec in enumerate(area_spec["projects"]):
                values = {**_project_columns(project_spec, today), "sort_order": project_order}
                project = await projects.create(uow, area.id, values, None)
                for task_order, task_spec in enumerate(project_spec["tasks"]):
                    await _create_task(uow, project.id, task_spec, task_order, today, task_ids)


def _columns(spec: Spec) -> dict[str, Any]:
    return {RENAMED.get(k, k): v for k, v in spec.items() if k not in NESTED}


def _project_columns(spec: Spec, today: date) -> dict[str, Any]:
    values = _columns(spec)
    if "deadline" in values:
        values["deadline"] = today + timedelta(days=values["deadline"])
    return values


async def _create_task(
    uow: UnitOfWork,
    project_id: uuid.UUID,
    spec: Spec,
    order: int,
    today: date,
    task_ids: dict[str, uuid.UUID],
    parent_id: uuid.UUID | None = None,
) -> None:
    values = {**_columns(spec), "sort_order": order}
    if "due" in values:
        values["due_date"] = today + timedelta(days=values.pop("due"))
    waits_for = [task_ids[name] for name in spec.get("after", [])]
    task = await tasks.create(uow, project_id, values, None, parent_id=parent_id, dependency_ids=waits_for)
    task_ids[spec["name"]] = task.id
    for sub_order, sub_spec in enumerate(spec.get("subtasks", [])):
        await _create_task(uow, project_id, sub_spec, sub_order, today, task_ids, parent_id=task.id)
    if spec.get("done"):
        await tasks.complete(uow, task.id)
