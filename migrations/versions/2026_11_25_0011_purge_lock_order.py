"""purges lock their users first: the trash and notification purges take each affected user's change-log lock
(sorted) before deleting, the order every writer follows, so a purge and a writer cannot deadlock

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 22:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Writers take hashtextextended(user_id::text, 4242) first (aurum.db.WRITE_AS_USER); a purge across users must
# too, in one order, before its deletes fire the change-log trigger that takes it.
LOCKED_PURGE = """
CREATE OR REPLACE FUNCTION {name}({parameter}) RETURNS integer LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public AS $fn$
DECLARE
  owner uuid;
  purged integer;
BEGIN
  FOR owner IN SELECT DISTINCT user_id FROM {table} WHERE {condition} ORDER BY user_id LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended(owner::text, 4242));
  END LOOP;
  WITH gone AS (DELETE FROM {table} WHERE {condition} RETURNING 1) SELECT count(*)::integer INTO purged FROM gone;
  RETURN purged;
END
$fn$
"""
PLAIN_PURGE = """
CREATE OR REPLACE FUNCTION {name}({parameter}) RETURNS integer LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public AS $fn$
  WITH gone AS (DELETE FROM {table} WHERE {condition} RETURNING 1) SELECT count(*)::integer FROM gone
$fn$
"""
PURGES = [
    {
        "name": "aurum_purge_journal_trash",
        "parameter": "p_keep interval",
        "table": "journal_entries",
        "condition": "trashed_at < clock_timestamp() - p_keep",
    },
    {
        "name": "aurum_purge_notifications",
        "parameter": "p_before timestamptz",
        "table": "notifications",
        "condition": "created_at < p_before",
    },
]


def upgrade() -> None:
    for purge in PURGES:
        op.execute(LOCKED_PURGE.format(**purge))


def downgrade() -> None:
    for purge in PURGES:
        op.execute(PLAIN_PURGE.format(**purge))
