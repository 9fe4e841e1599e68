"""the journal trash purge reads its cutoff once: the lock loop and the delete saw the clock move between them,
so an entry crossing the cutoff in between was deleted without its user locked first (the order 0011 set)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 23:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURGE = """
CREATE OR REPLACE FUNCTION aurum_purge_journal_trash(p_keep interval) RETURNS integer LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
  owner uuid;
  purged integer;
  cutoff timestamptz := {cutoff};
BEGIN
  FOR owner IN SELECT DISTINCT user_id FROM journal_entries WHERE trashed_at < {bound} ORDER BY user_id LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended(owner::text, 4242));
  END LOOP;
  WITH gone AS (DELETE FROM journal_entries WHERE trashed_at < {bound} RETURNING 1)
  SELECT count(*)::integer INTO purged FROM gone;
  RETURN purged;
END
$fn$
"""


def upgrade() -> None:
    op.execute(PURGE.format(cutoff="clock_timestamp() - p_keep", bound="cutoff"))


def downgrade() -> None:
    op.execute(PURGE.format(cutoff="NULL", bound="clock_timestamp() - p_keep"))  # as 0011 left it
