-- 0001: the initial schema. Times are unix nanoseconds (UTC); maps are JSON
-- text, NULL when empty; specs and plans are the caller's JSON bytes verbatim.

CREATE TABLE workspaces (
    name           TEXT    NOT NULL PRIMARY KEY,
    resource_group TEXT    NOT NULL DEFAULT '',
    location       TEXT    NOT NULL DEFAULT '',
    display_name   TEXT    NOT NULL DEFAULT '',
    description    TEXT    NOT NULL DEFAULT '',
    tags           TEXT,
    created_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- seq orders versions by creation: "latest" is the highest seq, never a
-- timestamp, so two versions created in the same nanosecond still order.
CREATE TABLE assets (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace  TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    archived   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace, kind, name, version)
) STRICT;

CREATE INDEX assets_latest ON assets (workspace, kind, name, archived, seq);

CREATE TABLE jobs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace        TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    type             TEXT    NOT NULL DEFAULT '',
    display_name     TEXT    NOT NULL DEFAULT '',
    experiment_name  TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL DEFAULT '',
    error            TEXT    NOT NULL DEFAULT '',
    spec             TEXT    NOT NULL DEFAULT '',
    plan             TEXT    NOT NULL DEFAULT '',
    outputs          TEXT,
    archived         INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    ended_at         INTEGER,
    UNIQUE (workspace, name)
) STRICT;

CREATE INDEX jobs_by_workspace ON jobs (workspace, seq);

-- The statuses listed here are the terminal ones; ListActiveJobs repeats the
-- same expression so the planner uses this index.
CREATE INDEX jobs_active ON jobs (seq)
    WHERE status NOT IN ('Completed', 'Failed', 'Canceled');

CREATE TABLE steps (
    workspace   TEXT    NOT NULL,
    job         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT '',
    attempt     INTEGER NOT NULL DEFAULT 0,
    reused_from TEXT    NOT NULL DEFAULT '',
    outputs     TEXT,
    error       TEXT    NOT NULL DEFAULT '',
    exit_code   INTEGER,
    pid         INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER,
    ended_at    INTEGER,
    PRIMARY KEY (workspace, job, name),
    FOREIGN KEY (workspace, job) REFERENCES jobs (workspace, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE reuse (
    workspace  TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    job        TEXT    NOT NULL,
    step       TEXT    NOT NULL,
    outputs    TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, key)
) STRICT, WITHOUT ROWID;
