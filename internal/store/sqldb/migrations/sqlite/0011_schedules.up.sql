-- 0011: job schedules (schedule.Schedule) and their firings
-- (schedule.Firing). Times are unix nanoseconds (UTC). A schedule row keeps
-- the whole record as JSON; the columns beside it are what firing reads and
-- checks. Deleting a workspace deletes its schedules; deleting a schedule
-- deletes its firings, never the jobs they submitted.
CREATE TABLE schedules (
    workspace  TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    record     TEXT    NOT NULL,
    enabled    INTEGER NOT NULL,
    -- NULL when the schedule fires no more (disabled, or past its end).
    next_fire  INTEGER,
    -- Changes with every change; a firing is recorded only against the
    -- revision and next_fire it read, so it is recorded at most once.
    revision   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT;

-- DueSchedules, every second; it repeats this WHERE so the index is used.
CREATE INDEX schedules_due ON schedules (next_fire) WHERE enabled = 1 AND next_fire IS NOT NULL;

CREATE TABLE schedule_firings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace    TEXT    NOT NULL,
    schedule     TEXT    NOT NULL,
    trigger_time INTEGER NOT NULL,
    fired_at     INTEGER NOT NULL,
    job          TEXT    NOT NULL,
    error        TEXT    NOT NULL,
    FOREIGN KEY (workspace, schedule) REFERENCES schedules (workspace, name) ON DELETE CASCADE
) STRICT;

-- ListFirings (newest first) and the foreign key's cascade.
CREATE INDEX schedule_firings_by_schedule ON schedule_firings (workspace, schedule, id);
