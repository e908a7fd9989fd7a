-- 0010: where each cron of a pipeline's schedules: stands on each branch
-- (cicd.ScheduleState): its next fire time (unix nanoseconds, UTC) and the
-- commit its last run was of. Kept so that a restarted server fires once
-- for a time that passed while it was down, and never twice for one time.
-- Deleting the pipeline, or its workspace, deletes its states.
CREATE TABLE cicd_schedules (
    workspace TEXT    NOT NULL,
    pipeline  TEXT    NOT NULL,
    branch    TEXT    NOT NULL,
    cron      TEXT    NOT NULL,
    next_fire INTEGER NOT NULL,
    last_sha  TEXT    NOT NULL,
    PRIMARY KEY (workspace, pipeline, branch, cron),
    FOREIGN KEY (workspace, pipeline) REFERENCES cicd_pipelines (workspace, name) ON DELETE CASCADE
) STRICT;

-- DueSchedules, every second.
CREATE INDEX cicd_schedules_due ON cicd_schedules (next_fire);
