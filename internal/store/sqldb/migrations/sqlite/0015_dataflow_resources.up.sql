-- 0015: Data Factory resources (dataflow.Resource) and secrets. A resource
-- is a linked service, dataset, pipeline or trigger, kept as its
-- "properties" JSON; names are case-insensitive, as in Data Factory. The
-- references a resource makes are kept beside it so that deleting one still
-- in use is refused. Secret values are read by the pipeline runtime only,
-- never answered by the API (the database file is 0600). Deleting the
-- workspace deletes all of it. Times are unix nanoseconds (UTC).
CREATE TABLE dataflow_resources (
    workspace     TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL COLLATE NOCASE,
    properties    TEXT    NOT NULL,
    etag          TEXT    NOT NULL,
    -- A trigger's Started or Stopped; '' for the other kinds.
    runtime_state TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace, kind, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE dataflow_references (
    workspace TEXT NOT NULL,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL COLLATE NOCASE,
    ref_kind  TEXT NOT NULL,
    ref_name  TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (workspace, kind, name, ref_kind, ref_name),
    FOREIGN KEY (workspace, kind, name) REFERENCES dataflow_resources (workspace, kind, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Who uses a resource, read when deleting it.
CREATE INDEX dataflow_references_to ON dataflow_references (workspace, ref_kind, ref_name);

CREATE TABLE dataflow_secrets (
    workspace  TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name       TEXT    NOT NULL COLLATE NOCASE,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT, WITHOUT ROWID;
