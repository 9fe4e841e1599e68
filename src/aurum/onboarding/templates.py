"""The onboarding templates: a ready-made hierarchy for three kinds of life (DESIGN.md §4).

Each template is 3 pillars × 3 areas × 1 project × 3 tasks. Pillar time allocations add up to 100; area and
project importance run 1–5; ``due`` and ``deadline`` are day offsets from the person's today (in their time
zone), and a task without one has no due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Template(StrEnum):
    STUDENT = "student"
    ENTREPRENEUR = "entrepreneur"
    BUSY_EMPLOYEE = "busy_employee"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    priority: str
    minutes: int
    energy: str
    category: str
    due: int | None = None


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    description: str
    status: str
    priority: str
    importance: int
    tasks: tuple[TaskSpec, TaskSpec, TaskSpec]
    deadline: int | None = None


@dataclass(frozen=True)
class AreaSpec:
    name: str
    description: str
    icon: str
    importance: int
    project: ProjectSpec


@dataclass(frozen=True)
class PillarSpec:
    name: str
    description: str
    icon: str
    color: str
    time_allocation: int
    vision_statement: str
    areas: tuple[AreaSpec, AreaSpec, AreaSpec]


T = TaskSpec

STUDENT = (
    PillarSpec(
        "Academics",
        "Courses, exams and the skills that lead to a first job.",
        "🎓",
        "#4f46e5",
        50,
        "Learn deeply and graduate with skills and grades I am proud of.",
        (
            AreaSpec(
                "Coursework",
                "Lectures, assignments and exams.",
                "📚",
                5,
                ProjectSpec(
                    "Ace this semester's courses",
                    "Keep up with every course and walk into the exams prepared.",
                    "active",
                    "high",
                    5,
                    (
                        T("Put every exam and deadline in the calendar", "high", 30, "low", "admin", 1),
                        T("Review this week's lecture notes", "medium", 60, "medium", "deep_work", 3),
                        T("Start the first essay draft", "high", 120, "high", "deep_work", 7),
                    ),
                    deadline=30,
                ),
            ),
            AreaSpec(
                "Study habits",
                "How, when and with whom I study.",
                "🧠",
                4,
                ProjectSpec(
                    "Build a weekly study routine",
                    "Fixed study blocks instead of last-minute cramming.",
                    "active",
                    "medium",
                    4,
                    (
                        T("Block three 90-minute study sessions", "medium", 15, "low", "admin", 2),
                        T("Set up a spaced-repetition deck", "medium", 45, "medium", "creative"),
                        T("Find a study partner", "low", 20, "low", "communication"),
                    ),
                    deadline=21,
                ),
            ),
            AreaSpec(
                "Skills & career",
                "Experience beyond the classroom.",
                "💼",
                3,
                ProjectSpec(
                    "Land a summer internship",
                    "One good internship offer before the spring break.",
                    "planning",
                    "medium",
                    3,
                    (
                        T("Update the CV", "medium", 60, "medium", "creative", 14),
                        T("Visit the career centre", "low", 45, "low", "errand"),
                        T("List ten companies to apply to", "medium", 30, "medium", "deep_work"),
                    ),
                    deadline=60,
                ),
            ),
        ),
    ),
    PillarSpec(
        "Well-being",
        "Sleep, movement and the people around me.",
        "🌱",
        "#10b981",
        30,
        "Stay healthy, rested and connected through the busy weeks.",
        (
            AreaSpec(
                "Sleep",
                "Enough rest to learn well.",
                "😴",
                5,
                ProjectSpec(
                    "Sleep eight hours on school nights",
                    "A regular bedtime, even in exam weeks.",
                    "active",
                    "high",
                    5,
                    (
                        T("Set a fixed bedtime alarm", "high", 5, "low", "admin", 0),
                        T("Move the phone charger out of the bedroom", "low", 10, "low", "errand"),
                        T("Track sleep for two weeks", "medium", 5, "low", "other"),
                    ),
                ),
            ),
            AreaSpec(
                "Exercise",
                "Moving the body between study sessions.",
                "🏃",
                4,
                ProjectSpec(
                    "Move three times a week",
                    "Three short workouts every week of the semester.",
                    "active",
                    "medium",
                    4,
                    (
                        T("Sign up for the campus gym", "medium", 30, "low", "errand", 3),
                        T("Plan three workouts for this week", "medium", 20, "low", "admin"),
                        T("Go for a 30-minute run", "medium", 30, "high", "other"),
                    ),
                ),
            ),
            AreaSpec(
                "Friends & social life",
                "Time with friends, clubs and family.",
                "🤝",
                3,
                ProjectSpec(
                    "Stay close to friends",
                    "Make room for people, not only for deadlines.",
                    "active",
                    "low",
                    3,
                    (
                        T("Join one club or society", "low", 30, "medium", "communication", 10),
                        T("Plan a weekend outing", "low", 20, "low", "communication"),
                        T("Call home on Sunday", "medium", 30, "low", "communication"),
                    ),
                ),
            ),
        ),
    ),
    PillarSpec(
        "Finances",
        "Budget, income and savings while studying.",
        "💰",
        "#f59e0b",
        20,
        "Know where my money goes and finish my studies without money worries.",
        (
            AreaSpec(
                "Budget",
                "What comes in and what goes out each month.",
                "📊",
                5,
                ProjectSpec(
                    "Make a monthly student budget",
                    "A simple budget that is followed, not just written.",
                    "active",
                    "high",
                    5,
                    (
                        T("List this month's income and fixed costs", "high", 30, "medium", "admin", 2),
                        T("Track every expense for a week", "medium", 10, "low", "admin"),
                        T("Set a weekly spending limit", "medium", 15, "low", "admin"),
                    ),
                    deadline=14,
                ),
            ),
            AreaSpec(
                "Income",
                "Part-time work and grants.",
                "💵",
                3,
                ProjectSpec(
                    "Find a part-time job",
                    "A few paid hours a week that leave time to study.",
                    "planning",
                    "medium",
                    3,
                    (
                        T("Look through the campus job boards", "medium", 30, "low", "errand", 5),
                        T("Write a short cover letter", "medium", 45, "medium", "creative"),
                        T("Apply to three openings", "medium", 60, "medium", "communication"),
                    ),
                ),
            ),
            AreaSpec(
                "Savings & loans",
                "A safety net, and loans kept under control.",
                "🏦",
                4,
                ProjectSpec(
                    "Build a small emergency fund",
                    "One month of expenses put aside.",
                    "planning",
                    "low",
                    4,
                    (
                        T("Open a savings account", "low", 30, "low", "errand"),
                        T("Set up an automatic monthly transfer", "low", 15, "low", "admin"),
                        T("Review the student loan terms", "medium", 45, "medium", "deep_work", 21),
                    ),
                ),
            ),
        ),
    ),
)

ENTREPRENEUR = (
    PillarSpec(
        "Business Development",
        "Customers, partners and the story we tell the market.",
        "📈",
        "#4f46e5",
        40,
        "A business that grows from paying customers and lasting relationships.",
        (
            AreaSpec(
                "Sales pipeline",
                "Leads, proposals and closed deals.",
                "🎯",
                5,
                ProjectSpec(
                    "Close the first ten paying customers",
                    "Ten customers paying for the product within a month.",
                    "active",
                    "urgent",
                    5,
                    (
                        T("List fifty target customers", "high", 60, "medium", "deep_work", 1),
                        T("Send ten personal outreach emails", "high", 45, "medium", "communication", 3),
                        T("Follow up on open proposals", "medium", 30, "low", "communication"),
                    ),
                    deadline=30,
                ),
            ),
            AreaSpec(
                "Partnerships",
                "Companies that can bring us customers.",
                "🤝",
                3,
                ProjectSpec(
                    "Sign one distribution partner",
                    "A first partner that sells the product alongside its own.",
                    "planning",
                    "medium",
                    3,
                    (
                        T("Shortlist five potential partners", "medium", 45, "medium", "deep_work"),
                        T("Draft a partnership one-pager", "medium", 60, "high", "creative", 10),
                        T("Book two introduction calls", "low", 20, "low", "communication"),
                    ),
                    deadline=60,
                ),
            ),
            AreaSpec(
                "Marketing",
                "Being known by the people we serve.",
                "📣",
                4,
                ProjectSpec(
                    "Launch the company newsletter",
                    "A monthly newsletter with a first issue out this month.",
                    "planning",
                    "medium",
                    4,
                    (
                        T("Write the first issue", "medium", 90, "high", "creative", 7),
                        T("Add a signup form to the website", "medium", 30, "medium", "admin"),
                        T("Share the launch post on LinkedIn", "low", 15, "low", "communication"),
                    ),
                    deadline=21,
                ),
            ),
        ),
    ),
    PillarSpec(
        "Product",
        "What we build, how well it works, and what customers tell us.",
        "🛠️",
        "#0ea5e9",
        40,
        "A product customers love and recommend to others.",
        (
            AreaSpec(
                "Roadmap",
                "What we build next, and why.",
                "🗺️",
                5,
                ProjectSpec(
                    "Plan the next quarter's roadmap",
                    "A ranked roadmap the whole team understands.",
                    "active",
                    "high",
                    5,
                    (
                        T(
                            "Collect customer feature requests",
                            "high",
                            60,
                            "medium",
                            "communication",
                            2,
                        ),
                        T("Rank features by impact and effort", "high", 90, "high", "deep_work", 5),
                        T("Share the roadmap with the team", "medium", 30, "low", "communication"),
                    ),
                    deadline=14,
                ),
            ),
            AreaSpec(
                "Quality",
                "Bugs, crashes and reliability.",
                "🐞",
                4,
                ProjectSpec(
                    "Halve the open bugs",
                    "Fewer crashes and a backlog we can trust.",
                    "active",
                    "high",
                    4,
                    (
                        T("Triage the bug backlog", "high", 60, "medium", "admin", 0),
                        T("Fix the top three crashes", "urgent", 240, "high", "deep_work", 4),
                        T("Add an error-monitoring alert", "medium", 45, "medium", "deep_work"),
                    ),
                    deadline=30,
                ),
            ),
            AreaSpec(
                "Customer feedback",
                "Listening to the people who use the product.",
                "💬",
                4,
                ProjectSpec(
                    "Run monthly customer interviews",
                    "Five conversations a month that shape the product.",
                    "active",
                    "medium",
                    4,
                    (
                        T("Schedule five customer interviews", "medium", 30, "low", "communication", 3),
                        T("Write an interview script", "medium", 45, "medium", "creative"),
                        T("Summarise what we learned", "medium", 60, "high", "deep_work"),
                    ),
                ),
            ),
        ),
    ),
    PillarSpec(
        "Personal Life",
        "Health, family, friends and rest outside the company.",
        "🏡",
        "#10b981",
        20,
        "Build the company without burning out or losing touch with the people I love.",
        (
            AreaSpec(
                "Health",
                "Energy for the long run.",
                "💪",
                5,
                ProjectSpec(
                    "Protect my energy during the launch",
                    "Daily movement and a hard stop in the evening.",
                    "active",
                    "high",
                    5,
                    (
                        T("Block a daily 30-minute walk", "high", 10, "low", "admin", 0),
                        T("Book a health check-up", "medium", 15, "low", "errand", 14),
                        T("No laptop after 21:00 for a week", "medium", 5, "low", "other"),
                    ),
                ),
            ),
            AreaSpec(
                "Family & friends",
                "The people who matter most.",
                "❤️",
                4,
                ProjectSpec(
                    "Weekly time with the people who matter",
                    "At least one evening a week that is theirs.",
                    "active",
                    "medium",
                    4,
                    (
                        T("Plan a family dinner", "medium", 20, "low", "communication", 6),
                        T("Call a friend I have not spoken to in a while", "low", 30, "low", "communication"),
                        T("Put a weekend away in the calendar", "low", 15, "low", "admin"),
                    ),
                ),
            ),
            AreaSpec(
                "Rest & learning",
                "Reading and thinking beyond work.",
                "📖",
                2,
                ProjectSpec(
                    "Read one book a month",
                    "A calmer end to the day, and new ideas.",
                    "planning",
                    "low",
                    2,
                    (
                        T("Pick this month's book", "low", 10, "low", "errand"),
                        T("Read 20 pages before bed", "low", 30, "low", "other"),
                        T("Note three ideas worth keeping", "low", 20, "medium", "creative"),
                    ),
                ),
            ),
        ),
    ),
)

BUSY_EMPLOYEE = (
    PillarSpec(
        "Career",
        "The job, the skills behind it, and where it leads.",
        "💼",
        "#6366f1",
        40,
        "Grow into a role with more impact while leaving work at work.",
        (
            AreaSpec(
                "Performance",
                "Doing the current job well.",
                "🏆",
                5,
                ProjectSpec(
                    "Hit this quarter's goals",
                    "Clear goals, agreed with my manager, and met.",
                    "active",
                    "high",
                    5,
                    (
                        T("Write down this quarter's three goals", "high", 30, "medium", "deep_work", 1),
                        T("Prepare for the next one-on-one", "high", 30, "medium", "communication", 4),
                        T("Get the inbox to zero", "medium", 45, "low", "admin"),
                    ),
                    deadline=45,
                ),
            ),
            AreaSpec(
                "Skills",
                "Learning for the next role.",
                "🎓",
                4,
                ProjectSpec(
                    "Finish an online course",
                    "One course completed, two hours a week.",
                    "active",
                    "medium",
                    4,
                    (
                        T("Choose a course that fits the next role", "medium", 30, "medium", "deep_work", 7),
                        T("Block two hours a week for it", "medium", 10, "low", "admin"),
                        T("Complete the first module", "medium", 120, "high", "deep_work"),
                    ),
                    deadline=60,
                ),
            ),
            AreaSpec(
                "Network",
                "People inside and outside the company.",
                "🌐",
                2,
                ProjectSpec(
                    "Grow my professional network",
                    "A few new, real connections this quarter.",
                    "planning",
                    "low",
                    2,
                    (
                        T("Update the LinkedIn profile", "low", 45, "medium", "creative"),
                        T(
                            "Have coffee with another team's lead",
                            "low",
                            30,
                            "low",
                            "communication",
                            10,
                        ),
                        T("Attend one industry meetup", "low", 120, "medium", "communication"),
                    ),
                ),
            ),
        ),
    ),
    PillarSpec(
        "Health & Wellness",
        "Body and mind, in a full schedule.",
        "🧘",
        "#10b981",
        35,
        "Enough energy for a full day's work and a life after it.",
        (
            AreaSpec(
                "Fitness",
                "Regular movement that fits around work.",
                "🏃",
                5,
                ProjectSpec(
                    "Exercise three times a week",
                    "Three short workouts, planned like meetings.",
                    "active",
                    "high",
                    5,
                    (
                        T("Schedule three 30-minute workouts", "high", 15, "low", "admin", 0),
                        T("Take the stairs every day this week", "low", 5, "low", "other"),
                        T("Try a lunchtime yoga class", "medium", 45, "medium", "other", 5),
                    ),
                ),
            ),
            AreaSpec(
                "Sleep & rest",
                "Recovering properly.",
                "😴",
                4,
                ProjectSpec(
                    "Be in bed by 23:00",
                    "Seven and a half hours of sleep on work nights.",
                    "active",
                    "medium",
                    4,
                    (
                        T("Set a wind-down alarm for 22:30", "medium", 5, "low", "admin", 1),
                        T("Keep screens out of the bedroom", "low", 10, "low", "errand"),
                        T("Take a full day off this month", "medium", 15, "low", "admin", 21),
                    ),
                ),
            ),
            AreaSpec(
                "Nutrition",
                "Eating well on busy days.",
                "🥗",
                3,
                ProjectSpec(
                    "Cook healthy weekday lunches",
                    "Prepared lunches instead of takeaway.",
                    "planning",
                    "medium",
                    3,
                    (
                        T("Plan next week's lunches", "medium", 30, "low", "admin", 2),
                        T("Do the grocery shopping", "medium", 60, "medium", "errand"),
                        T("Batch-cook on Sunday", "medium", 120, "medium", "errand"),
                    ),
                ),
            ),
        ),
    ),
    PillarSpec(
        "Relationships",
        "Partner, family, friends and community.",
        "❤️",
        "#ec4899",
        25,
        "Be present for family and friends, not just available.",
        (
            AreaSpec(
                "Partner & family",
                "The people at home.",
                "🏡",
                5,
                ProjectSpec(
                    "A weekly evening without work",
                    "One evening a week with no laptop and no phone.",
                    "active",
                    "high",
                    5,
                    (
                        T("Plan this week's date night", "high", 20, "low", "communication", 3),
                        T("Share the family calendar", "medium", 20, "low", "admin"),
                        T("Cook dinner together on Friday", "medium", 90, "medium", "other"),
                    ),
                ),
            ),
            AreaSpec(
                "Friends",
                "Keeping friendships alive.",
                "🍻",
                4,
                ProjectSpec(
                    "See friends twice a month",
                    "Regular plans, not only when there is time left.",
                    "active",
                    "medium",
                    4,
                    (
                        T("Message three friends to catch up", "medium", 15, "low", "communication", 2),
                        T("Book a table for a group dinner", "low", 15, "low", "errand"),
                        T("Note the coming birthdays", "low", 20, "low", "admin"),
                    ),
                ),
            ),
            AreaSpec(
                "Community",
                "Giving something back.",
                "🌍",
                2,
                ProjectSpec(
                    "Volunteer once a month",
                    "One morning a month for a local cause.",
                    "planning",
                    "low",
                    2,
                    (
                        T("Find a local volunteering opportunity", "low", 30, "medium", "deep_work"),
                        T("Sign up for one volunteering day", "low", 15, "low", "admin", 14),
                        T("Invite a friend to come along", "low", 10, "low", "communication"),
                    ),
                ),
            ),
        ),
    ),
)

TEMPLATES: dict[Template, tuple[PillarSpec, PillarSpec, PillarSpec]] = {
    Template.STUDENT: STUDENT,
    Template.ENTREPRENEUR: ENTREPRENEUR,
    Template.BUSY_EMPLOYEE: BUSY_EMPLOYEE,
}
