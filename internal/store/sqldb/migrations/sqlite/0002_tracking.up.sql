-- 0002: experiment tracking (MLflow's data model). Times are unix
-- milliseconds, as MLflow keeps them. A NaN metric value is stored as 0 with
-- is_nan = 1 (SQLite turns NaN into NULL). Run and logged-model IDs are
-- random, hence unique across workspaces; experiment IDs count up from 0 in
-- each workspace.

CREATE TABLE experiments (
    workspace         TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    id                INTEGER NOT NULL,
    name              TEXT    NOT NULL,
    artifact_location TEXT    NOT NULL,
    lifecycle_stage   TEXT    NOT NULL DEFAULT 'active',
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL,
    PRIMARY KEY (workspace, id),
    UNIQUE (workspace, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE experiment_tags (
    workspace     TEXT    NOT NULL,
    experiment_id INTEGER NOT NULL,
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (workspace, experiment_id, key),
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Every workspace has the experiment "Default" (id 0), as every MLflow
-- server does: runs started with no experiment land there.
CREATE TRIGGER workspaces_default_experiment AFTER INSERT ON workspaces BEGIN
    INSERT INTO experiments (workspace, id, name, artifact_location, creation_time, last_update_time)
    VALUES (NEW.name, 0, 'Default', 'mlflow-artifacts:/0', NEW.created_at / 1000000, NEW.created_at / 1000000);
END;

INSERT INTO experiments (workspace, id, name, artifact_location, creation_time, last_update_time)
SELECT name, 0, 'Default', 'mlflow-artifacts:/0', created_at / 1000000, created_at / 1000000 FROM workspaces;

CREATE TABLE runs (
    run_id          TEXT    NOT NULL PRIMARY KEY,
    workspace       TEXT    NOT NULL,
    experiment_id   INTEGER NOT NULL,
    name            TEXT    NOT NULL DEFAULT '',
    user_id         TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    lifecycle_stage TEXT    NOT NULL DEFAULT 'active',
    artifact_uri    TEXT    NOT NULL DEFAULT '',
    deleted_time    INTEGER,
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Searches scan one experiment's active runs, newest first, deciding the
-- lifecycle from the index alone (the row is read only for runs that match).
CREATE INDEX runs_by_experiment ON runs (workspace, experiment_id, lifecycle_stage, start_time);

CREATE TABLE run_params (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE run_tags (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;

-- Every logged value; an identical value logged twice is kept once.
CREATE TABLE metrics (
    run_id         TEXT    NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    step           INTEGER NOT NULL,
    timestamp      INTEGER NOT NULL,
    value          REAL    NOT NULL,
    is_nan         INTEGER NOT NULL DEFAULT 0,
    model_id       TEXT,
    dataset_name   TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_id, key, step, timestamp, value, is_nan)
) STRICT, WITHOUT ROWID;

CREATE INDEX metrics_by_model ON metrics (model_id) WHERE model_id IS NOT NULL;

-- The latest value of each metric of a run: the greatest (step, timestamp,
-- value), what searches compare and run data shows.
CREATE TABLE latest_metrics (
    run_id         TEXT    NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    step           INTEGER NOT NULL,
    timestamp      INTEGER NOT NULL,
    value          REAL    NOT NULL,
    is_nan         INTEGER NOT NULL DEFAULT 0,
    model_id       TEXT,
    dataset_name   TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;

-- Datasets a run used; context is the mlflow.data.context input tag, kept
-- apart so filters on datasets.context need no JSON.
CREATE TABLE run_datasets (
    run_id      TEXT    NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    source_type TEXT    NOT NULL DEFAULT '',
    source      TEXT    NOT NULL DEFAULT '',
    schema      TEXT    NOT NULL DEFAULT '',
    profile     TEXT    NOT NULL DEFAULT '',
    tags        TEXT,
    context     TEXT    NOT NULL DEFAULT '',
    seq         INTEGER NOT NULL,
    PRIMARY KEY (run_id, name, digest)
) STRICT, WITHOUT ROWID;

-- Logged models a run used (direction 'input') or produced ('output').
CREATE TABLE run_models (
    run_id    TEXT    NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    direction TEXT    NOT NULL,
    model_id  TEXT    NOT NULL,
    step      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, direction, model_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE logged_models (
    model_id          TEXT    NOT NULL PRIMARY KEY,
    workspace         TEXT    NOT NULL,
    experiment_id     INTEGER NOT NULL,
    name              TEXT    NOT NULL,
    artifact_uri      TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    status_message    TEXT    NOT NULL DEFAULT '',
    model_type        TEXT    NOT NULL DEFAULT '',
    source_run_id     TEXT    NOT NULL DEFAULT '',
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    lifecycle_stage   TEXT    NOT NULL DEFAULT 'active',
    FOREIGN KEY (workspace, experiment_id) REFERENCES experiments (workspace, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX logged_models_by_experiment ON logged_models (workspace, experiment_id, creation_time);

CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) STRICT, WITHOUT ROWID;

-- Which run each ciel job step is (step '' is a pipeline's parent run), so
-- retries and resumed jobs keep their run.
CREATE TABLE job_runs (
    workspace TEXT NOT NULL,
    job       TEXT NOT NULL,
    step      TEXT NOT NULL,
    run_id    TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    PRIMARY KEY (workspace, job, step)
) STRICT, WITHOUT ROWID;
