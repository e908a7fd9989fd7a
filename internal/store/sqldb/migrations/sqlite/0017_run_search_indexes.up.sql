-- 0017: searches that sort or filter runs by a metric, param or tag read
-- one experiment's rows of that key in the order asked for, from an index,
-- and stop at the page's end (keyset paging), instead of computing the key
-- of every run of the experiment and sorting them all.
--
-- The latest-metric, param and tag tables are keyed by run, so each row
-- gains its run's workspace, experiment and start time (fixed when the run
-- is created; written with the row, backfilled here). Each table gets two
-- indexes, one per direction, whose order is the whole order MLflow
-- returns: the value, then start_time DESC, then run_id ASC; a metric's
-- is_nan comes before its value so NaN values sort after the others.

ALTER TABLE latest_metrics ADD COLUMN workspace TEXT;
ALTER TABLE latest_metrics ADD COLUMN experiment_id INTEGER;
ALTER TABLE latest_metrics ADD COLUMN start_time INTEGER;
ALTER TABLE run_params ADD COLUMN workspace TEXT;
ALTER TABLE run_params ADD COLUMN experiment_id INTEGER;
ALTER TABLE run_params ADD COLUMN start_time INTEGER;
ALTER TABLE run_tags ADD COLUMN workspace TEXT;
ALTER TABLE run_tags ADD COLUMN experiment_id INTEGER;
ALTER TABLE run_tags ADD COLUMN start_time INTEGER;

UPDATE latest_metrics SET (workspace, experiment_id, start_time) =
    (SELECT r.workspace, r.experiment_id, r.start_time FROM runs r WHERE r.run_id = latest_metrics.run_id);
UPDATE run_params SET (workspace, experiment_id, start_time) =
    (SELECT r.workspace, r.experiment_id, r.start_time FROM runs r WHERE r.run_id = run_params.run_id);
UPDATE run_tags SET (workspace, experiment_id, start_time) =
    (SELECT r.workspace, r.experiment_id, r.start_time FROM runs r WHERE r.run_id = run_tags.run_id);

CREATE INDEX latest_metrics_asc ON latest_metrics (workspace, experiment_id, key, is_nan, value, start_time DESC, run_id);
CREATE INDEX latest_metrics_desc ON latest_metrics (workspace, experiment_id, key, is_nan, value DESC, start_time DESC, run_id);
CREATE INDEX run_params_asc ON run_params (workspace, experiment_id, key, value, start_time DESC, run_id);
CREATE INDEX run_params_desc ON run_params (workspace, experiment_id, key, value DESC, start_time DESC, run_id);
CREATE INDEX run_tags_asc ON run_tags (workspace, experiment_id, key, value, start_time DESC, run_id);
CREATE INDEX run_tags_desc ON run_tags (workspace, experiment_id, key, value DESC, start_time DESC, run_id);
