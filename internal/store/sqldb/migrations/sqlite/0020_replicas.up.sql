-- 0020: servers sharing one database (PostgreSQL's 0003): each renews its
-- row while it lives; CI/CD and Data Factory runs name the server running
-- them, so that a run left open is closed by another server only once its
-- own has stopped renewing.
CREATE TABLE replicas (
    id              TEXT    NOT NULL PRIMARY KEY,
    heartbeat_until INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
ALTER TABLE cicd_runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE dataflow_pipeline_runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
