-- 0018: latest_metrics keeps one search index instead of two.
--
-- A latest_metrics row is rewritten on every logged value, so each of its
-- indexes is paid on the tracking write path (bench/tracking scenario a
-- lost a fifth of its rate to 0017's second index). A search ordered by a
-- metric DESC reads latest_metrics_asc backwards: that gives value DESC,
-- and SQLite sorts only the runs tied on a value into MLflow's
-- start_time DESC, run_id order ("USE TEMP B-TREE FOR RIGHT PART OF ORDER
-- BY"), which costs little because logged metric values rarely tie. Params
-- and tags are written once per run and often tie (params.kind = 'tree'),
-- so they keep an index per direction.

DROP INDEX IF EXISTS latest_metrics_desc;
