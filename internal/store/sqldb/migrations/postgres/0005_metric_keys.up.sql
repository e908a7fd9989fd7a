-- 0005: metrics and latest_metrics keep no foreign key to runs. The key
-- check PostgreSQL runs for every inserted row was a fifth of a log_batch
-- of 1,000 metrics; a batch now locks its run once instead (SELECT ... FOR
-- KEY SHARE, in the store), and the cascade the keys gave is this trigger:
-- a run's metrics go with it (runs go only with their experiment's
-- workspace).
ALTER TABLE metrics DROP CONSTRAINT metrics_run_id_fkey;
ALTER TABLE latest_metrics DROP CONSTRAINT latest_metrics_run_id_fkey;

CREATE FUNCTION runs_drop_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM metrics WHERE run_id = OLD.run_id;
    DELETE FROM latest_metrics WHERE run_id = OLD.run_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER runs_drop_metrics AFTER DELETE ON runs
    FOR EACH ROW EXECUTE FUNCTION runs_drop_metrics();
