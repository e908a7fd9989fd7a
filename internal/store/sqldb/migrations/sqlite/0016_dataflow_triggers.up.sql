-- 0016: Data Factory triggers' runtime state (triggers.State), their runs
-- (triggers.Run), tumbling windows (triggers.Window) and the blobs storage
-- event triggers have seen (triggers.Blob). Times are unix nanoseconds
-- (UTC). Deleting a workspace deletes all of it; deleting a trigger's
-- state deletes its windows and blobs, never its runs.
CREATE TABLE dataflow_triggers (
    workspace     TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    -- The factory.Trigger the trigger was started with, as JSON.
    definition    TEXT    NOT NULL,
    runtime_state TEXT    NOT NULL,
    -- A schedule's next fire time; a tumbling window trigger's first
    -- window not yet recorded. NULL: none.
    next          INTEGER,
    started_at    INTEGER NOT NULL,
    -- Changes with every change; the service moves a trigger on only from
    -- the revision and next it read, so a firing is recorded once.
    revision      INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT;

CREATE TABLE dataflow_trigger_runs (
    id                  TEXT    NOT NULL PRIMARY KEY,
    workspace           TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    trigger_name        TEXT    NOT NULL,
    trigger_type        TEXT    NOT NULL,
    run_timestamp       INTEGER NOT NULL,
    status              TEXT    NOT NULL,
    message             TEXT    NOT NULL,
    properties          TEXT    NOT NULL,
    triggered_pipelines TEXT    NOT NULL,
    -- @trigger() for the run's pipelines, as JSON.
    scope               TEXT    NOT NULL
) STRICT;

-- ListRuns by trigger, newest first; the unfinished runs every pass.
CREATE INDEX dataflow_trigger_runs_by_trigger ON dataflow_trigger_runs (workspace, trigger_name, run_timestamp);
CREATE INDEX dataflow_trigger_runs_unfinished ON dataflow_trigger_runs (status) WHERE status = 'Inprogress';

CREATE TABLE dataflow_trigger_windows (
    workspace      TEXT    NOT NULL,
    trigger_name   TEXT    NOT NULL,
    window_start   INTEGER NOT NULL,
    window_end     INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    attempt        INTEGER NOT NULL,
    trigger_run_id TEXT    NOT NULL,
    run_id         TEXT    NOT NULL,
    not_before     INTEGER,
    message        TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (workspace, trigger_name, window_start),
    FOREIGN KEY (workspace, trigger_name) REFERENCES dataflow_triggers (workspace, name) ON DELETE CASCADE
) STRICT;

-- The waiting and running windows of a trigger, earliest first.
CREATE INDEX dataflow_trigger_windows_by_status ON dataflow_trigger_windows (workspace, trigger_name, status, window_start);

CREATE TABLE dataflow_trigger_blobs (
    workspace    TEXT    NOT NULL,
    trigger_name TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    mtime        INTEGER NOT NULL,
    PRIMARY KEY (workspace, trigger_name, path),
    FOREIGN KEY (workspace, trigger_name) REFERENCES dataflow_triggers (workspace, name) ON DELETE CASCADE
) STRICT;
