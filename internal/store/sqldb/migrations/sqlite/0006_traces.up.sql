-- 0006: MLflow 3 traces. Only a trace's metadata is here; its spans are
-- the artifact traces.json under the trace's mlflow.artifactLocation tag.
-- Trace IDs are chosen by clients, so they are keyed by workspace. Times
-- are unix milliseconds, as for runs. Assessments are not kept.

CREATE TABLE traces (
    workspace          TEXT    NOT NULL,
    trace_id           TEXT    NOT NULL,
    experiment_id      INTEGER NOT NULL,
    client_request_id  TEXT    NOT NULL DEFAULT '',
    request_time       INTEGER NOT NULL,
    execution_duration INTEGER NOT NULL DEFAULT 0,
    state              TEXT    NOT NULL,
    request_preview    TEXT    NOT NULL DEFAULT '',
    response_preview   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (workspace, trace_id),
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Searches are per experiment, newest first.
CREATE INDEX traces_by_experiment ON traces (workspace, experiment_id, request_time);

CREATE TABLE trace_tags (
    workspace TEXT NOT NULL,
    trace_id  TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (workspace, trace_id, key),
    FOREIGN KEY (workspace, trace_id) REFERENCES traces (workspace, trace_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE trace_metadata (
    workspace TEXT NOT NULL,
    trace_id  TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (workspace, trace_id, key),
    FOREIGN KEY (workspace, trace_id) REFERENCES traces (workspace, trace_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Runs a trace was linked to after the fact (LinkTracesToRun), besides the
-- run it was created in (its mlflow.sourceRun metadata).
CREATE TABLE trace_run_links (
    workspace TEXT NOT NULL,
    trace_id  TEXT NOT NULL,
    run_id    TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    PRIMARY KEY (workspace, trace_id, run_id),
    FOREIGN KEY (workspace, trace_id) REFERENCES traces (workspace, trace_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX trace_run_links_by_run ON trace_run_links (run_id);
