-- 0003: servers sharing one database (SQLite's 0020): each renews its row
-- while it lives; CI/CD and Data Factory runs name the server running
-- them, so that a run left open is closed by another server only once its
-- own has stopped renewing.
CREATE TABLE replicas (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    heartbeat_until BIGINT NOT NULL
);
ALTER TABLE cicd_runs ADD COLUMN owner TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE dataflow_pipeline_runs ADD COLUMN owner TEXT COLLATE "C" NOT NULL DEFAULT '';
