-- 0007: CI/CD pipelines (cicd.Pipeline) and their runs (cicd.Run). Times are
-- unix nanoseconds (UTC). A run row keeps the whole record as JSON; the
-- columns beside it are what queries and constraints need. The tables are
-- prefixed cicd_ because "runs" is tracking's (0002).

-- id is AUTOINCREMENT so an ID is never handed out twice, even after the
-- pipeline holding it is deleted.
CREATE TABLE cicd_pipelines (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace  TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    repository TEXT    NOT NULL,
    yaml_path  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace, name)
) STRICT;

-- Run IDs are unique and increasing across the server (AUTOINCREMENT never
-- reuses one). Deleting a pipeline, or its workspace, deletes its runs.
CREATE TABLE cicd_runs (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT    NOT NULL,
    pipeline  TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    record    TEXT    NOT NULL,
    FOREIGN KEY (workspace, pipeline) REFERENCES cicd_pipelines (workspace, name) ON DELETE CASCADE
) STRICT;

-- ListRuns (newest first, of a pipeline or of the workspace) and the
-- foreign key's cascade.
CREATE INDEX cicd_runs_by_pipeline ON cicd_runs (workspace, pipeline, id);

-- The runs ListUnfinishedRuns reads after a restart; it repeats this
-- expression so the planner uses the index.
CREATE INDEX cicd_runs_unfinished ON cicd_runs (id) WHERE status <> 'completed';
