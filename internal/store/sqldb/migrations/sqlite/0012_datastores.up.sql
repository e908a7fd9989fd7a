-- 0012: datastores (datastore.Datastore) and the cache of data fetched from
-- URLs (datastore.Fetched). A datastore's settings are a JSON object (its
-- type's fields: path, or endpoint, bucket, prefix, region and the NAMES of
-- the environment variables holding its keys, never the keys). Deleting the
-- workspace deletes its datastores. The fetch cache is the server's, keyed by
-- the sha256 of the URL so that a URL holding a token is not stored here.
CREATE TABLE datastores (
    workspace  TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    settings   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE fetched_urls (
    key           TEXT    NOT NULL PRIMARY KEY,
    digest        TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    etag          TEXT    NOT NULL,
    last_modified TEXT    NOT NULL,
    fetched_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
