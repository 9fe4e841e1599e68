"""The SQL that makes every change of a user's data append to ``events``, whoever writes it: mutations, jobs,
cascades. Migrations call these; a table joins the change log with ``record_changes``."""

from __future__ import annotations

ALWAYS_IGNORED = ("user_id", "version", "created_at", "updated_at", "archived_at")

RECORD_EVENT = """
CREATE OR REPLACE FUNCTION aurum_record_event() RETURNS trigger LANGUAGE plpgsql AS $fn$
-- Arguments: entity type, owner column, entity id column, ignored columns (comma separated) and,
-- for link rows, the field of the entity the link stands for.
DECLARE
  row_before jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
  row_after jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
  subject jsonb := COALESCE(row_after, row_before);
  owner uuid := (subject ->> TG_ARGV[1])::uuid;
  kind text := 'UPDATED';
  fields text[] := '{}';
BEGIN
  -- Rows going with their account (a cascade from users) leave no trace.
  IF NOT EXISTS (SELECT 1 FROM users WHERE id = owner) THEN
    RETURN NULL;
  END IF;
  IF TG_NARGS > 4 THEN
    fields := ARRAY[TG_ARGV[4]];
  ELSIF TG_OP = 'INSERT' THEN
    kind := 'CREATED';
  ELSIF TG_OP = 'DELETE' THEN
    kind := 'DELETED';
  ELSE
    SELECT coalesce(array_agg(after.key ORDER BY after.key), '{}') INTO fields
      FROM jsonb_each(row_after) AS after
     WHERE after.value IS DISTINCT FROM row_before -> after.key
       AND after.key <> ALL (string_to_array(TG_ARGV[3], ','));
    IF cardinality(fields) = 0 THEN
      RETURN NULL;
    END IF;
    IF (row_after ->> 'archived') = 'true' AND (row_before ->> 'archived') = 'false' THEN
      kind := 'ARCHIVED';
    END IF;
  END IF;
  -- One writer per user at a time from here to commit: event ids then follow commit order for each user,
  -- so a subscriber resuming after a cursor can never skip an event committed late.
  PERFORM pg_advisory_xact_lock(hashtextextended(owner::text, 4242));
  INSERT INTO events
    (user_id, entity_type, entity_id, operation, changed_fields, actor_type, actor_id, request_id)
  VALUES (
    owner,
    TG_ARGV[0],
    (subject ->> TG_ARGV[2])::uuid,
    kind,
    fields,
    COALESCE(NULLIF(current_setting('app.actor', true), ''), 'system'),
    NULLIF(current_setting('app.actor_id', true), '')::uuid,
    NULLIF(current_setting('app.request_id', true), '')
  );
  RETURN NULL;
END
$fn$
"""


def record_changes(
    table: str,
    entity_type: str,
    *,
    owner_column: str = "user_id",
    entity_column: str = "id",
    ignored: tuple[str, ...] = (),
    as_field: str | None = None,
    on: str = "INSERT OR UPDATE OR DELETE",
) -> list[str]:
    args = [entity_type, owner_column, entity_column, ",".join((*ALWAYS_IGNORED, *ignored))]
    if as_field is not None:
        args.append(as_field)
    quoted = ", ".join(f"'{a}'" for a in args)
    return [
        f"CREATE TRIGGER record_changes AFTER {on} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION aurum_record_event({quoted})"
    ]


def stop_recording(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS record_changes ON {table}"]
