-- 0014: Data Factory pipeline runs and their activity runs
-- (internal/dataflow/run). Each row keeps the whole record (run.PipelineRun,
-- run.ActivityRun) as JSON; the columns beside it are what queries need.
-- Times are unix nanoseconds (UTC).

CREATE TABLE dataflow_pipeline_runs (
    workspace    TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    run_id       TEXT    NOT NULL,
    run_group_id TEXT    NOT NULL,
    pipeline     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    record       TEXT    NOT NULL,
    PRIMARY KEY (workspace, run_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX dataflow_pipeline_runs_by_time ON dataflow_pipeline_runs (workspace, created_at);
CREATE INDEX dataflow_pipeline_runs_by_group ON dataflow_pipeline_runs (workspace, run_group_id);
-- Recovery on start looks for the runs a stopped server left open.
CREATE INDEX dataflow_pipeline_runs_open ON dataflow_pipeline_runs (status)
    WHERE status IN ('Queued', 'InProgress', 'Canceling');

CREATE TABLE dataflow_activity_runs (
    workspace       TEXT    NOT NULL,
    run_id          TEXT    NOT NULL,
    activity_run_id TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    record          TEXT    NOT NULL,
    PRIMARY KEY (workspace, run_id, activity_run_id),
    FOREIGN KEY (workspace, run_id) REFERENCES dataflow_pipeline_runs (workspace, run_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX dataflow_activity_runs_by_start ON dataflow_activity_runs (workspace, run_id, started_at);
CREATE INDEX dataflow_activity_runs_open ON dataflow_activity_runs (status)
    WHERE status IN ('Queued', 'InProgress');
