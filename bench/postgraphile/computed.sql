-- What a PostGraphile user would write for Aurum's computed task fields: computed columns (STABLE SQL
-- functions taking the row), exposed as Task.isOverdue and Task.canStart. Created in the bench's database
-- only, never by Aurum's migrations. Both run under the caller's role and row-level security.

-- Past due in the owner's time zone (aurum.task.rules.is_overdue): its due time, or the end of its due day,
-- and still open (neither completed nor skipped).
CREATE OR REPLACE FUNCTION tasks_is_overdue(t tasks) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT t.status NOT IN ('completed', 'skipped') AND t.due_date IS NOT NULL
    AND (t.due_date + coalesce(t.due_time, time '23:59:59.999999'))
        AT TIME ZONE (SELECT u.timezone FROM users u WHERE u.id = t.user_id) < now()
$$;

-- Every task it waits for is completed or skipped (Task.canStart).
CREATE OR REPLACE FUNCTION tasks_can_start(t tasks) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT NOT EXISTS (
    SELECT 1 FROM task_dependencies d JOIN tasks w ON w.id = d.depends_on_id
    WHERE d.task_id = t.id AND w.status NOT IN ('completed', 'skipped')
  )
$$;
