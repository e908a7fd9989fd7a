-- 0013: batch endpoints, their deployments, and the jobs invocations
-- started. Each endpoint and deployment row keeps the whole record
-- (batch.Endpoint, batch.Deployment) as JSON; the columns beside it are what
-- queries and constraints need. Times are unix nanoseconds (UTC).

CREATE TABLE batch_endpoints (
    workspace  TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    record     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE batch_deployments (
    workspace  TEXT    NOT NULL,
    endpoint   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    record     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, endpoint, name),
    FOREIGN KEY (workspace, endpoint) REFERENCES batch_endpoints (workspace, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- A record per invocation: the job itself lives in jobs and outlives the
-- endpoint; the record goes with the endpoint.
CREATE TABLE batch_jobs (
    workspace  TEXT    NOT NULL,
    endpoint   TEXT    NOT NULL,
    deployment TEXT    NOT NULL,
    job        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, job),
    FOREIGN KEY (workspace, endpoint) REFERENCES batch_endpoints (workspace, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX batch_jobs_by_endpoint ON batch_jobs (workspace, endpoint, created_at);
