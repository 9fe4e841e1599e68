"""events for many users in one statement: what the realtime hubs read, and what announcing marks

A hub reads the new events of every user woken meanwhile, and an announcer marks the events of every user
written meanwhile. Under row-level security each user took its own ``set_config`` and its own statement,
in a transaction of its own: in a burst of writes, most of PostgreSQL's round trips. These two lookups run
with the owner's rights over the users named, one statement for all of them.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 00:10:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

from aurum.rls import create_definer_function

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Up to p_limit events of each user after that user's position, oldest first for each.
EVENTS_AFTER = (
    "aurum_events_after(p_users uuid[], p_after bigint[], p_limit integer)",
    "TABLE (user_id uuid, id bigint, entity_type text, entity_id uuid, operation text,"
    " changed_fields text[], occurred_at timestamptz)",
    """SELECT p.user_id, e.id, e.entity_type, e.entity_id, e.operation, e.changed_fields, e.occurred_at
       FROM unnest(p_users, p_after) AS p (user_id, after_id)
       CROSS JOIN LATERAL (
         SELECT events.id, events.entity_type::text AS entity_type, events.entity_id,
                events.operation::text AS operation, events.changed_fields::text[] AS changed_fields,
                events.occurred_at
         FROM events WHERE events.user_id = p.user_id AND events.id > p.after_id
         ORDER BY events.id LIMIT p_limit) AS e
       ORDER BY p.user_id, e.id""",
)

# Marks the users' unannounced events published and says, per user, which is the last (null: none), with
# the generation of their priority scores when those are behind their data. Rows are locked in the order of
# the (user_id, id) index, the same for every announcer.
ANNOUNCE = (
    "aurum_mark_announced(p_users uuid[])",
    "TABLE (user_id uuid, last_id bigint, stale_generation bigint)",
    """WITH marked AS (
         UPDATE events SET published_at = clock_timestamp()
         WHERE events.user_id = ANY (p_users) AND events.published_at IS NULL
         RETURNING events.user_id, events.id)
       SELECT u.user_id,
              (SELECT max(marked.id) FROM marked WHERE marked.user_id = u.user_id),
              (SELECT s.generation FROM hrm_score_state AS s
               WHERE s.user_id = u.user_id AND s.generation > s.scored_generation)
       FROM unnest(p_users) AS u (user_id)""",
)


def upgrade() -> None:
    for statement in create_definer_function(*EVENTS_AFTER):
        op.execute(statement)
    for statement in create_definer_function(*ANNOUNCE, volatility="VOLATILE"):
        op.execute(statement)


def downgrade() -> None:
    for signature, *_ in (EVENTS_AFTER, ANNOUNCE):
        op.execute(f"DROP FUNCTION {signature}")
