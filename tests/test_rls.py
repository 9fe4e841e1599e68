"""Row-level security is the backstop of tenant isolation: whatever the application code forgets, the database
itself shows and changes the rows of the user a transaction acts for, and no one else's.

The user-owned tables are read from the models (every table with ``user_id``, and ``users``), so a new table
is covered without touching this file: it must have row-level security, and the data made here must reach it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

import pytest
from sqlalchemy import CursorResult, TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aurum.db import act_as, unit_of_work
from aurum.hrm.scoring import rescore
from aurum.ids import parse_global_id
from aurum.resources import Resources
from aurum.rls import APP_ROLE
from aurum.tables import metadata
from tests.support import GraphQLClient

PASSWORD = "correct horse battery"
# Tables that must be among the enumerated ones: if the enumeration breaks, the test does not silently shrink.
KNOWN_OWNED = {
    "users",
    "pillars",
    "areas",
    "projects",
    "tasks",
    "task_dependencies",
    "auth_sessions",
    "refresh_tokens",
    "password_reset_tokens",
    "api_keys",
    "account_exports",
}
# The lookups authentication runs before it knows the user, with the owner's rights.
KNOWN_DEFINERS = {
    "aurum_auth_user_by_email",
    "aurum_auth_user_by_google",
    "aurum_auth_refresh_token_owner",
    "aurum_auth_reset_token_owner",
    "aurum_auth_api_key",
    "aurum_auth_sessions_revoked_since",
}


def owned_tables() -> dict[str, str]:
    """Every user-owned table and the column naming its owner, in dependency order (parents first)."""
    tables = {}
    for table in metadata.sorted_tables:
        if table.name == "users":
            tables[table.name] = "id"
        elif "user_id" in table.c:
            tables[table.name] = "user_id"
    return tables


OWNED = owned_tables()


async def affected(session: AsyncSession, statement: TextClause, user_id: uuid.UUID) -> int:
    """How many rows an INSERT, UPDATE or DELETE wrote."""
    result = cast(CursorResult[Any], await session.execute(statement, {"user_id": user_id}))
    return int(result.rowcount)


def user_uuid(client: GraphQLClient) -> uuid.UUID:
    parsed = parse_global_id(client.user_id)
    assert parsed is not None, client.user_id
    assert parsed[0] == "User", client.user_id
    return parsed[1]


async def counts(engine: AsyncEngine, user_id: uuid.UUID) -> dict[str, int]:
    """How many rows of each owned table belong to ``user_id``, as the owner sees them."""
    found = {}
    async with engine.connect() as connection:
        for table, column in OWNED.items():
            statement = text(f"SELECT count(*) FROM {table} WHERE {column} = :user_id")
            found[table] = int((await connection.execute(statement, {"user_id": user_id})).scalar_one())
    return found


async def payload(
    client: GraphQLClient, operation: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The single root field's payload, insisting on no userErrors."""
    data = await client.ok(operation, variables)
    (result,) = data.values()
    assert result["userErrors"] == [], result
    return dict(result)


async def fill(client: GraphQLClient, resources: Resources) -> None:
    """Rows in every user-owned table, made through the public API (and the notification scheduler)."""
    pillar = await client.mutate("pillarCreate", {"name": "Health"}, "pillar { id }")
    area = await client.mutate(
        "areaCreate", {"pillarId": pillar["pillar"]["id"], "name": "Fitness"}, "area { id }"
    )
    project = await client.mutate(
        "projectCreate", {"areaId": area["area"]["id"], "name": "Run a 10k"}, "project { id }"
    )
    first = await client.mutate(
        "taskCreate", {"projectId": project["project"]["id"], "name": "Buy shoes"}, "task { id }"
    )
    second = await client.mutate(
        "taskCreate",
        {"projectId": project["project"]["id"], "name": "Run", "dependencyIds": [first["task"]["id"]]},
        "task { id dependencies { id } }",
    )
    for created in (pillar, area, project, first, second):
        assert created["userErrors"] == [], created
    assert second["task"]["dependencies"] == [first["task"]]
    from tests.test_notifications import notification_of, prefer

    assert (await prefer(client, dueSoonHours=12))["userErrors"] == []
    await notification_of(resources, client, first["task"]["id"])
    template = await client.mutate("journalTemplateCreate", {"name": "Evening"}, "journalTemplate { id }")
    entry = {"title": "Day one", "templateId": template["journalTemplate"]["id"]}
    assert (await client.mutate("journalEntryCreate", entry, "journalEntry { id }"))["userErrors"] == []
    from tests.test_resources import PNG, upload  # a file, through a real multipart upload

    assert (await upload(client, "photo.png", PNG, "image/png"))["userErrors"] == []
    from tests.test_calendars import FILES, import_calendar  # busy time, and a feed of the plan

    assert (await import_calendar(client, "work.ics", (FILES / "work.ics").read_bytes()))["userErrors"] == []
    assert (await payload(client, "mutation { calendarFeedCreate { url userErrors { code } } }"))["url"]
    timer = (
        "mutation($id: ID!) { timeEntryStart(input: {taskId: $id}) { timeEntry { id } userErrors { code } } }"
    )
    assert (await payload(client, timer, {"id": first["task"]["id"]}))["timeEntry"]
    key = await client.mutate("apiKeyCreate", {"name": "Sync", "scopes": ["READ"]}, "secret")
    assert key["userErrors"] == [], key
    assert key["secret"], key
    # A second session, from a sign-in (registering started the first).
    signed_in = await client.mutate(
        "tokenCreate", {"email": client.email, "password": PASSWORD}, "refreshToken"
    )
    assert signed_in["userErrors"] == [], signed_in
    assert signed_in["refreshToken"], signed_in
    reset = await client.mutate("passwordResetRequest", {"email": client.email}, "ok")
    assert reset == {"ok": True, "userErrors": []}
    exported = await payload(client, "mutation { accountExport { url userErrors { code } } }")
    assert exported["url"], exported
    await fill_hrm(client, resources, first["task"]["id"])


async def fill_hrm(client: GraphQLClient, resources: Resources, task_id: str) -> None:
    """Preferences and a weight, a verdict, stored scores, and an analysis that asked the (stand-in) model."""
    from tests.test_isolation import analysed

    preferences = {"aiEnabled": True, "ruleWeights": [{"ruleCode": "TASK_AGE", "weight": 0.5}]}
    assert (await client.mutate("hrmPreferencesUpdate", preferences, "preferences { aiEnabled }"))[
        "userErrors"
    ] == []
    verdict = {"taskId": task_id, "verdict": "TOO_HIGH"}
    assert (await client.mutate("taskPriorityFeedback", verdict, "task { id }"))["userErrors"] == []
    await rescore(resources, user_uuid(client), force=True)
    await analysed(client, task_id, depth="BALANCED")
    # A change the scoring job has yet to see: its log empties as the job catches up, so the row is written
    # here, as the person, at a generation no job reaches.
    async with unit_of_work(resources.sessionmaker, user_uuid(client)) as uow:
        await uow.session.execute(
            text(
                "INSERT INTO hrm_score_changes (user_id, generation, kind, entity_id)"
                " VALUES (:user_id, 9223372036854775807, 'task', :task_id)"
            ),
            {"user_id": user_uuid(client), "task_id": parse_global_id(task_id)[1]},  # type: ignore[index]
        )


@dataclass
class Tenants:
    alice: uuid.UUID
    bob: uuid.UUID
    alice_email: str
    alice_rows: dict[str, int]
    bob_rows: dict[str, int]


@pytest.fixture
async def tenants(
    alice: GraphQLClient, bob: GraphQLClient, owner: AsyncEngine, resources: Resources
) -> Tenants:
    await fill(alice, resources)
    await fill(bob, resources)
    alice_id, bob_id = user_uuid(alice), user_uuid(bob)
    alice_rows, bob_rows = await counts(owner, alice_id), await counts(owner, bob_id)
    # Every table has rows of both users, or the checks below would prove nothing for it.
    assert [t for t, n in alice_rows.items() if n < 1] == [], alice_rows
    assert [t for t, n in bob_rows.items() if n < 1] == [], bob_rows
    return Tenants(alice_id, bob_id, alice.email, alice_rows, bob_rows)


def test_the_user_owned_tables_are_found_in_the_models() -> None:
    assert set(OWNED) >= KNOWN_OWNED, KNOWN_OWNED - set(OWNED)
    assert OWNED["users"] == "id"
    assert all(column == "user_id" for table, column in OWNED.items() if table != "users")


async def test_every_user_owned_table_has_forced_row_level_security(owner: AsyncEngine) -> None:
    async with owner.connect() as connection:
        rows = await connection.execute(
            text(
                """SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner)
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY(:tables)"""
            ),
            {"tables": list(OWNED)},
        )
        found = {name: (enabled, forced, owner) for name, enabled, forced, owner in rows}
        policies = await connection.execute(
            text("SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND :role = ANY(roles)"),
            {"role": APP_ROLE},
        )
        with_app_policy = {name for (name,) in policies}
    assert set(found) == set(OWNED), set(OWNED) - set(found)
    for table, (enabled, forced, owner) in found.items():
        assert enabled, f"{table}: row-level security is not enabled"
        assert forced, f"{table}: row-level security is not forced"
        assert owner != APP_ROLE, f"{table} is owned by {APP_ROLE}: it would bypass its own policies"
    assert set(OWNED) <= with_app_policy, set(OWNED) - with_app_policy


async def test_the_app_role_is_subject_to_row_level_security(resources: Resources) -> None:
    async with resources.engine.connect() as connection:
        assert (await connection.execute(text("SELECT current_user"))).scalar_one() == APP_ROLE
        row = (
            await connection.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
        assert tuple(row) == (False, False)
        owned = await connection.execute(
            text(
                """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public'
                     AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"""
            )
        )
        assert owned.scalars().all() == []


async def test_without_a_user_the_app_role_sees_no_rows(resources: Resources, tenants: Tenants) -> None:
    async with resources.engine.connect() as connection:
        seen = {}
        for table in OWNED:
            seen[table] = (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    assert seen == dict.fromkeys(OWNED, 0)


async def test_acting_as_a_user_shows_exactly_that_users_rows(resources: Resources, tenants: Tenants) -> None:
    async with AsyncSession(resources.engine) as session, session.begin():
        await act_as(session, tenants.alice)
        visible, hers, his = {}, {}, {}
        for table, column in OWNED.items():
            query = f"SELECT count(*) FROM {table}"
            visible[table] = (await session.execute(text(query))).scalar_one()
            where = f"{query} WHERE {column} = :user_id"
            hers[table] = (await session.execute(text(where), {"user_id": tenants.alice})).scalar_one()
            his[table] = (await session.execute(text(where), {"user_id": tenants.bob})).scalar_one()
    assert visible == tenants.alice_rows
    assert hers == tenants.alice_rows
    assert his == dict.fromkeys(OWNED, 0)


async def test_acting_as_a_user_cannot_write_another_users_rows(
    resources: Resources, owner: AsyncEngine, tenants: Tenants
) -> None:
    insert = text("INSERT INTO pillars (user_id, name) VALUES (:user_id, 'Intruder')")
    async with AsyncSession(resources.engine) as session:
        # The control: the same insert of her own row works (and is rolled back).
        await act_as(session, tenants.alice)
        assert await affected(session, insert, tenants.alice) == 1
        await session.rollback()
        await act_as(session, tenants.alice)
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.execute(insert, {"user_id": tenants.bob})
        await session.rollback()

    async with AsyncSession(resources.engine) as session:
        await act_as(session, tenants.alice)
        for table, column in OWNED.items():
            update = text(f"UPDATE {table} SET {column} = {column} WHERE {column} = :user_id")
            assert await affected(session, update, tenants.bob) == 0, table
            # The control: the statement does reach rows, hers.
            mine = await affected(session, update, tenants.alice)
            assert mine == tenants.alice_rows[table], table
        # Children first, so that every delete of hers meets its rows rather than a cascade's leftovers.
        for table, column in reversed(OWNED.items()):
            delete = text(f"DELETE FROM {table} WHERE {column} = :user_id")
            assert await affected(session, delete, tenants.bob) == 0, table
            deleted = await affected(session, delete, tenants.alice)
            # The updates and deletes above were recorded in these, in this same transaction.
            if table in ("events", "hrm_score_changes"):
                assert deleted >= tenants.alice_rows[table], table
            else:
                assert deleted == tenants.alice_rows[table], table
        await session.rollback()

    assert await counts(owner, tenants.bob) == tenants.bob_rows
    assert await counts(owner, tenants.alice) == tenants.alice_rows


async def test_the_definer_lookups_are_for_the_app_role_only(
    resources: Resources, owner: AsyncEngine, tenants: Tenants
) -> None:
    stranger = f"aurum_test_stranger_{uuid.uuid4().hex[:8]}"
    async with owner.begin() as connection:
        await connection.execute(text(f"CREATE ROLE {stranger} NOLOGIN"))
        try:
            rows = await connection.execute(
                text(
                    """SELECT p.proname, p.proacl IS NOT NULL,
                              EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0),
                              has_function_privilege(:app, p.oid, 'EXECUTE'),
                              has_function_privilege(:stranger, p.oid, 'EXECUTE')
                       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                       WHERE n.nspname = 'public' AND p.prosecdef"""
                ),
                {"app": APP_ROLE, "stranger": stranger},
            )
            found = {name: tuple(flags) for name, *flags in rows}
        finally:
            await connection.execute(text(f"DROP ROLE {stranger}"))
    assert set(found) >= KNOWN_DEFINERS, KNOWN_DEFINERS - set(found)
    for name, (has_acl, public, app, other) in found.items():
        assert has_acl, f"{name} has the default ACL, which lets PUBLIC execute it"
        assert not public, f"{name} is executable by PUBLIC"
        assert app, f"{name} is not executable by {APP_ROLE}"
        assert not other, f"{name} is executable by a role it was never granted to"

    # And the app role can indeed call them, with no user set.
    async with resources.engine.connect() as connection:
        found_id = await connection.execute(
            text("SELECT aurum_auth_user_by_email(:email)"), {"email": tenants.alice_email}
        )
        assert found_id.scalar_one() == tenants.alice
