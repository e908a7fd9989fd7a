-- 0003: the model registry. Times are unix nanoseconds (UTC); tags and the
-- lineage are JSON text, NULL when empty.

CREATE TABLE registered_models (
    workspace    TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    tags         TEXT,
    -- the highest version number ever given out: numbers are not reused
    last_version INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT, WITHOUT ROWID;

-- A rename of a registered model cascades to its versions, and from them
-- to its aliases.
CREATE TABLE model_versions (
    workspace      TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    type           TEXT    NOT NULL DEFAULT 'custom_model',
    description    TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL DEFAULT '',
    storage        TEXT    NOT NULL DEFAULT '',
    run_id         TEXT    NOT NULL DEFAULT '',
    model_id       TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL,
    status_message TEXT    NOT NULL DEFAULT '',
    stage          TEXT    NOT NULL DEFAULT 'None',
    tags           TEXT,
    archived       INTEGER NOT NULL DEFAULT 0,
    lineage        TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (workspace, name, version),
    FOREIGN KEY (workspace, name) REFERENCES registered_models (workspace, name)
        ON DELETE CASCADE ON UPDATE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE model_aliases (
    workspace TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    alias     TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (workspace, name, alias),
    FOREIGN KEY (workspace, name, version) REFERENCES model_versions (workspace, name, version)
        ON DELETE CASCADE ON UPDATE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX model_aliases_by_version ON model_aliases (workspace, name, version);
