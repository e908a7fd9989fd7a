-- 0004: online endpoints and their deployments. Each row keeps the whole
-- record (serving.Endpoint, serving.Deployment) as JSON; the columns beside
-- it are what queries and constraints need. Times are unix nanoseconds (UTC).

-- Endpoint names are unique per server, as Azure ML makes them unique per
-- region: the scoring URI names the endpoint, not its workspace.
CREATE TABLE online_endpoints (
    workspace  TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name       TEXT    NOT NULL UNIQUE,
    record     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE online_deployments (
    workspace  TEXT    NOT NULL,
    endpoint   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    record     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, endpoint, name),
    FOREIGN KEY (workspace, endpoint) REFERENCES online_endpoints (workspace, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
