"""Row-level security: the SQL migrations use to make tenant isolation a fact of the database.

The app connects as (or switches to) ``aurum_app``, which is neither owner nor superuser. Every user-owned
table has row-level security enabled and forced, with a policy that lets ``aurum_app`` see and write only the
rows of the user named by ``app.user_id`` for the current transaction; with no user set it sees nothing. The
role that ran the migrations keeps a maintenance policy for itself, and owns the few ``SECURITY DEFINER``
lookups that authentication needs before it knows the user (a credential's owner, nothing more).
"""

from __future__ import annotations

APP_ROLE = "aurum_app"
CURRENT_USER_ID = "NULLIF(current_setting('app.user_id', true), '')::uuid"


def create_app_role() -> list[str]:
    return [
        f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$""",
        # The migrating role may switch to aurum_app (the app's connections do so at start-up).
        f"GRANT {APP_ROLE} TO CURRENT_USER",
        f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}",
        f"REVOKE ALL ON alembic_version FROM {APP_ROLE}",
    ]


def drop_app_role() -> list[str]:
    return [
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {APP_ROLE}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}",
        f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}",
        # Other databases of the cluster may still use the role: then it stays.
        f"""DO $$ BEGIN
  DROP ROLE IF EXISTS {APP_ROLE};
EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege THEN NULL;
END $$""",
    ]


def enable_tenant_isolation(table: str, column: str = "user_id") -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} TO {APP_ROLE} "
        f"USING ({column} = {CURRENT_USER_ID}) WITH CHECK ({column} = {CURRENT_USER_ID})",
        f"CREATE POLICY maintenance ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)",
    ]


def disable_tenant_isolation(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"DROP POLICY IF EXISTS maintenance ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def create_definer_function(signature: str, returns: str, body: str, volatility: str = "STABLE") -> list[str]:
    """A narrow lookup that runs with the owner's rights, callable by the app role only."""
    return [
        f"CREATE FUNCTION {signature} RETURNS {returns} LANGUAGE sql {volatility} SECURITY DEFINER "
        f"SET search_path = pg_catalog, public AS $fn$ {body} $fn$",
        f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}",
    ]
