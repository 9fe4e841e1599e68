"""Migrations: up, down and up again on a fresh database; the result matches the models exactly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from aurum.migrate import alembic_config, downgrade, upgrade
from aurum.tables import metadata

TABLES = """
    SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1
"""

# Every foreign key with the column numbers it uses, and every index with its leading key columns.
FOREIGN_KEYS = """
    SELECT con.conname, con.conrelid::regclass::text AS table_name, con.conkey::int[] AS columns,
           con.confrelid::regclass::text AS referred
    FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
    WHERE con.contype = 'f' AND n.nspname = 'public'
"""
INDEXES = """
    SELECT i.indexrelid::regclass::text AS index_name, i.indrelid::regclass::text AS table_name,
           (i.indkey::int2[])::int[] AS columns, i.indnkeyatts AS key_count
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND i.indpred IS NULL
"""
COLUMNS = """
    SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'
"""
# Triggers and the functions they run, as PostgreSQL prints them.
TRIGGERS = """
    SELECT pg_get_triggerdef(t.oid) FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal ORDER BY 1
"""
FUNCTIONS = """
    SELECT p.proname, p.prosrc FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1, 2
"""


@pytest.fixture(scope="module")
async def fresh_url(engine_urls: tuple[str, str]) -> AsyncIterator[str]:
    async with scratch_database(engine_urls[0]) as url:
        yield url


@asynccontextmanager
async def scratch_database(database_url: str) -> AsyncIterator[str]:
    """A database of its own in the test server, dropped afterwards."""
    server_url = make_url(database_url)
    name = f"aurum_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server_url.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture(scope="module")
async def migrated(fresh_url: str) -> AsyncIterator[AsyncConnection]:
    """The fresh database taken up, down to base and up again; a connection to it."""
    engine = create_async_engine(fresh_url)
    try:
        await upgrade(fresh_url)
        async with engine.connect() as connection:
            assert "pillars" in await table_names(connection)
        await downgrade(fresh_url, "base")
        async with engine.connect() as connection:
            assert await table_names(connection) == ["alembic_version"], (
                "downgrade to base left tables behind"
            )
        await upgrade(fresh_url)
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def table_names(connection: AsyncConnection) -> list[str]:
    return list((await connection.execute(text(TABLES))).scalars())


async def test_migrations_create_every_model_table(migrated: AsyncConnection) -> None:
    assert set(await table_names(migrated)) == {*metadata.tables, "alembic_version"}


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True, "target_metadata": metadata}
    )
    return list(compare_metadata(context, metadata))


async def test_models_match_migrations(migrated: AsyncConnection) -> None:
    diff = await migrated.run_sync(differences)
    assert diff == [], (
        "models and migrations differ; add a migration (alembic revision --autogenerate):\n"
        + "\n".join(map(repr, diff))
    )


async def test_every_foreign_key_has_an_index(migrated: AsyncConnection) -> None:
    indexes: dict[str, list[list[int]]] = {}
    for row in (await migrated.execute(text(INDEXES))).mappings():
        indexes.setdefault(row["table_name"], []).append(list(row["columns"][: row["key_count"]]))
    foreign_keys = list((await migrated.execute(text(FOREIGN_KEYS))).mappings())
    assert foreign_keys, "no foreign keys found"
    unindexed = [
        f"{fk['table_name']}.{fk['conname']}"
        for fk in foreign_keys
        if not any(
            set(key[: len(fk["columns"])]) == set(fk["columns"]) for key in indexes.get(fk["table_name"], [])
        )
    ]
    assert unindexed == [], f"foreign keys without an index led by their columns: {unindexed}"


async def test_user_owned_tables_carry_user_id_and_version(migrated: AsyncConnection) -> None:
    columns: dict[str, set[str]] = {}
    for table, column in await migrated.execute(text(COLUMNS)):
        columns.setdefault(table, set()).add(column)
    # A user-owned table is one whose rows point at their user directly.
    owned = {
        fk["table_name"]
        for fk in (await migrated.execute(text(FOREIGN_KEYS))).mappings()
        if fk["referred"] == "users"
    }
    assert {"pillars", "areas", "projects", "tasks"} <= owned
    # Never updated, so no version to compare (the scoring job's change log is written by triggers and
    # dropped by the job).
    append_only = {"events", "hrm_score_changes"}
    lacking = {
        table: {"user_id", "version"} - columns[table]
        for table in owned - append_only
        if {"user_id", "version"} - columns[table]
    }
    assert lacking == {}, f"user-owned tables missing columns: {lacking}"
    # Every other table but users itself is still scoped to a user (tenant isolation, row-level security),
    # except global reference data the app role may only read (test_hrm_rules shows it cannot write them),
    # and persisted documents, which every client shares and the app may only add to
    # (test_persisted_documents shows it cannot change or remove one).
    reference = {"hrm_rules", "persisted_documents"}
    unscoped = [t for t in metadata.tables if t not in {"users", *reference} and "user_id" not in columns[t]]
    assert unscoped == [], f"tables without user_id: {unscoped}"


async def test_the_last_downgrades_restore_the_triggers_before_them(engine_urls: tuple[str, str]) -> None:
    """Each of the last three revisions, undone, leaves the triggers and functions as they were before it
    (at least one of them changes some, or this would prove nothing)."""
    script = ScriptDirectory.from_config(alembic_config(engine_urls[0]))
    last = script.get_current_head()
    assert last is not None
    revisions = [r.revision for r in list(script.walk_revisions(base="base", head=last))[:3]]
    changed = 0
    async with scratch_database(engine_urls[0]) as url:
        engine = create_async_engine(url)
        try:
            for revision in reversed(revisions):
                await upgrade(url, f"{revision}-1")
                before = await triggers_and_functions(engine)
                await upgrade(url, revision)
                changed += await triggers_and_functions(engine) != before
                await downgrade(url, f"{revision}-1")
                assert await triggers_and_functions(engine) == before, revision
                await upgrade(url, revision)
        finally:
            await engine.dispose()
    assert changed >= 1


async def triggers_and_functions(engine: AsyncEngine) -> tuple[list[Any], list[Any]]:
    async with engine.connect() as connection:
        triggers = list((await connection.execute(text(TRIGGERS))).scalars())
        functions = [tuple(row) for row in await connection.execute(text(FUNCTIONS))]
    return triggers, functions
