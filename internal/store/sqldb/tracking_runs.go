package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

const runCols = `r.run_id, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, r.lifecycle_stage, r.artifact_uri`

func scanRunInfo(sc scanner) (tracking.Run, error) {
	var (
		run tracking.Run
		exp int64
		end sql.NullInt64
	)
	i := &run.Info
	err := sc.Scan(&i.RunID, &exp, &i.RunName, &i.UserID, &i.Status, &i.StartTime, &end, &i.LifecycleStage, &i.ArtifactURI)
	i.ExperimentID = strconv.FormatInt(exp, 10)
	if end.Valid {
		v := end.Int64
		i.EndTime = &v
	}
	return run, err
}

// nullString is s, or NULL when empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insertRun creates a run in tx; see tracking.RunStore.CreateRun.
func (s *Store) insertRun(ctx context.Context, tx *sql.Tx, ws string, info tracking.RunInfo, tags []tracking.Tag) (tracking.RunInfo, error) {
	exp, err := parseExpID(info.ExperimentID)
	if err != nil {
		return info, err
	}
	var loc, stage string
	err = tx.StmtContext(ctx, s.ws.runExperiment).QueryRowContext(ctx, ws, exp).Scan(&loc, &stage)
	if err != nil {
		return info, fmt.Errorf("experiment %s: %w", info.ExperimentID, notFoundIfNone(err))
	}
	if stage != tracking.StageActive {
		return info, tracking.Errorf(tracking.CodeInvalidParameterValue,
			"The experiment %s must be in the 'active' state. Current state is %s.", info.ExperimentID, stage)
	}
	info.ArtifactURI = loc + "/" + info.RunID + "/artifacts"
	if info.LifecycleStage == "" {
		info.LifecycleStage = tracking.StageActive
	}
	if _, err := tx.StmtContext(ctx, s.ws.insertRun).ExecContext(ctx,
		info.RunID, ws, exp, info.RunName, info.UserID, info.Status, info.StartTime, info.EndTime,
		info.LifecycleStage, info.ArtifactURI); err != nil {
		return info, err
	}
	return info, s.putRunTags(ctx, tx, runScope{ws: ws, experiment: exp, startTime: info.StartTime}, info.RunID, tags)
}

// runScope is what the search indexes over a run's params, tags and latest
// metrics repeat from the run (migration 0017): its workspace, experiment
// and start time, none of which changes after the run is created.
type runScope struct {
	ws         string
	experiment int64
	startTime  int64
}

func (s *Store) putRunTags(ctx context.Context, tx *sql.Tx, sc runScope, runID string, tags []tracking.Tag) error {
	for _, t := range tags {
		if _, err := tx.StmtContext(ctx, s.ws.putRunTag).ExecContext(ctx, runID, t.Key, t.Value,
			sc.ws, sc.experiment, sc.startTime); err != nil {
			return err
		}
		if t.Key == tracking.TagRunName {
			if _, err := tx.StmtContext(ctx, s.ws.setRunName).ExecContext(ctx, t.Value, runID); err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateRun creates a run; see tracking.RunStore.
func (s *Store) CreateRun(ctx context.Context, ws string, info tracking.RunInfo, tags []tracking.Tag) (tracking.RunInfo, error) {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		info, err = s.insertRun(ctx, tx, ws, info, tags)
		return err
	})
	if err != nil {
		return tracking.RunInfo{}, opErr(fmt.Sprintf("create run in experiment %s of workspace %q", info.ExperimentID, ws), err)
	}
	return info, nil
}

// GetRun returns a run with its data.
func (s *Store) GetRun(ctx context.Context, ws, runID string) (tracking.Run, error) {
	run, err := scanRunInfo(s.rdb.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs r WHERE r.run_id = ? AND r.workspace = ?`, runID, ws))
	if err == nil {
		runs := []tracking.Run{run}
		if err = s.loadRunData(ctx, runs); err == nil {
			return runs[0], nil
		}
	}
	return tracking.Run{}, fmt.Errorf("get run %s in workspace %q: %w", runID, ws, notFoundIfNone(err))
}

// activeRun checks in tx that the run exists in ws and is active, and
// returns its scope.
func (s *Store) activeRun(ctx context.Context, tx *sql.Tx, ws, runID string) (runScope, error) {
	stage, sc, err := s.scopeOf(ctx, tx, ws, runID)
	if err != nil {
		return sc, err
	}
	if stage != tracking.StageActive {
		return sc, tracking.Errorf(tracking.CodeInvalidParameterValue,
			"The run %s must be in the 'active' state. Current state is %s.", runID, stage)
	}
	return sc, nil
}

// scopeOf reads in tx the lifecycle stage and scope of a run of ws.
func (s *Store) scopeOf(ctx context.Context, tx *sql.Tx, ws, runID string) (string, runScope, error) {
	var stage string
	sc := runScope{ws: ws}
	err := tx.StmtContext(ctx, s.ws.runScope).QueryRowContext(ctx, runID, ws).Scan(&stage, &sc.experiment, &sc.startTime)
	if err != nil {
		return "", sc, fmt.Errorf("run %s: %w", runID, notFoundIfNone(err))
	}
	return stage, sc, nil
}

// UpdateRun changes a run's status, end time or name.
func (s *Store) UpdateRun(ctx context.Context, ws, runID string, u tracking.RunUpdate) (tracking.RunInfo, error) {
	var info tracking.RunInfo
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.ws.updateRun).ExecContext(ctx, u.Status, u.EndTime, u.RunName, runID, ws)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if u.RunName != nil {
			_, sc, err := s.scopeOf(ctx, tx, ws, runID)
			if err != nil {
				return err
			}
			if err := s.putRunTags(ctx, tx, sc, runID, []tracking.Tag{{Key: tracking.TagRunName, Value: *u.RunName}}); err != nil {
				return err
			}
		}
		run, err := scanRunInfo(tx.StmtContext(ctx, s.ws.runByID).QueryRowContext(ctx, runID))
		info = run.Info
		return err
	})
	s.runs.forget(runID) // committed or not, what a reader cached may be old
	return info, opErr(fmt.Sprintf("update run %s in workspace %q", runID, ws), err)
}

// SetRunStage deletes or restores a run.
func (s *Store) SetRunStage(ctx context.Context, ws, runID, stage string) error {
	var deleted any
	if stage == tracking.StageDeleted {
		deleted = nowMillis()
	}
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_id = ? AND workspace = ?`,
			stage, deleted, runID, ws)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("set stage of run %s in workspace %q", runID, ws), err)
}

// LogBatch records metrics, params and tags on an active run.
func (s *Store) LogBatch(ctx context.Context, ws, runID string, b tracking.Batch) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		sc, err := s.activeRun(ctx, tx, ws, runID)
		if err != nil {
			return err
		}
		if err := putParams(ctx, tx, "run_params", "run_id", runID, b.Params, &sc); err != nil {
			return err
		}
		if err := s.putRunTags(ctx, tx, sc, runID, b.Tags); err != nil {
			return err
		}
		return s.putMetrics(ctx, tx, sc, runID, b.Metrics)
	})
	s.runs.forget(runID) // committed or not, what a reader cached may be old
	return opErr(fmt.Sprintf("log to run %s in workspace %q", runID, ws), err)
}

// putParams inserts params into table (keyed by idCol = id, with the run's
// scope when sc is set); a param already there with another value is
// MLflow's INVALID_PARAMETER_VALUE.
func putParams(ctx context.Context, tx *sql.Tx, table, idCol, id string, params []tracking.Param, sc *runScope) error {
	insert := `INSERT INTO ` + table + ` (` + idCol + `, key, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	if sc != nil {
		insert = `INSERT INTO ` + table + ` (` + idCol + `, key, value, workspace, experiment_id, start_time) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`
	}
	for _, p := range params {
		args := []any{id, p.Key, p.Value}
		if sc != nil {
			args = append(args, sc.ws, sc.experiment, sc.startTime)
		}
		res, err := tx.ExecContext(ctx, insert, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			continue
		}
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT value FROM `+table+` WHERE `+idCol+` = ? AND key = ?`, id, p.Key).Scan(&old); err != nil {
			return err
		}
		if old != p.Value {
			return tracking.Errorf(tracking.CodeInvalidParameterValue,
				"Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for run ID='%s'. "+
					"Attempted logging new value '%s'.", p.Key, old, id, p.Value)
		}
	}
	return nil
}

// DeleteRunTag removes a tag of an active run.
func (s *Store) DeleteRunTag(ctx context.Context, ws, runID, key string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, ws, runID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM run_tags WHERE run_id = ? AND key = ?`, runID, key)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	s.runs.forget(runID) // committed or not, what a reader cached may be old
	return opErr(fmt.Sprintf("delete tag %q of run %s in workspace %q", key, runID, ws), err)
}

// LogInputs records datasets and models a run used.
func (s *Store) LogInputs(ctx context.Context, ws, runID string, datasets []tracking.DatasetInput, models []tracking.ModelInput) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, ws, runID); err != nil {
			return err
		}
		for _, in := range datasets {
			var context string
			for _, t := range in.Tags {
				if t.Key == tracking.TagDataContext {
					context = t.Value
				}
			}
			tags, err := json.Marshal(in.Tags)
			if err != nil {
				return err
			}
			d := in.Dataset
			if _, err := tx.ExecContext(ctx, `INSERT INTO run_datasets (run_id, name, digest, source_type, source,
				schema, profile, tags, context, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,
				(SELECT COALESCE(MAX(seq), 0) + 1 FROM run_datasets WHERE run_id = ?)) ON CONFLICT DO NOTHING`,
				runID, d.Name, d.Digest, d.SourceType, d.Source, d.Schema, d.Profile, string(tags), context, runID); err != nil {
				return err
			}
		}
		return putRunModels(ctx, tx, runID, "input", modelInputs(models))
	})
	s.runs.forget(runID) // committed or not, what a reader cached may be old
	return opErr(fmt.Sprintf("log inputs of run %s in workspace %q", runID, ws), err)
}

func modelInputs(in []tracking.ModelInput) []tracking.ModelOutput {
	out := make([]tracking.ModelOutput, len(in))
	for i, m := range in {
		out[i] = tracking.ModelOutput{ModelID: m.ModelID}
	}
	return out
}

func putRunModels(ctx context.Context, tx *sql.Tx, runID, direction string, models []tracking.ModelOutput) error {
	for _, m := range models {
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_models (run_id, direction, model_id, step) VALUES (?, ?, ?, ?)
			ON CONFLICT (run_id, direction, model_id) DO UPDATE SET step = excluded.step`, runID, direction, m.ModelID, m.Step); err != nil {
			return err
		}
	}
	return nil
}

// LogOutputs records logged models a run produced.
func (s *Store) LogOutputs(ctx context.Context, ws, runID string, models []tracking.ModelOutput) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, ws, runID); err != nil {
			return err
		}
		return putRunModels(ctx, tx, runID, "output", models)
	})
	s.runs.forget(runID) // committed or not, what a reader cached may be old
	return opErr(fmt.Sprintf("log outputs of run %s in workspace %q", runID, ws), err)
}

const metricCols = `key, value, is_nan, timestamp, step, COALESCE(model_id, ''), COALESCE(dataset_name, ''), COALESCE(dataset_digest, '')`

func scanMetric(sc scanner, extra ...any) (tracking.Metric, error) {
	var (
		m   tracking.Metric
		nan bool
	)
	err := sc.Scan(append(extra, &m.Key, &m.Value, &nan, &m.Timestamp, &m.Step, &m.ModelID, &m.DatasetName, &m.DatasetDigest)...)
	if nan {
		m.Value = math.NaN()
	}
	return m, err
}

// MetricHistory returns every value of a run's metric, by step then time.
func (s *Store) MetricHistory(ctx context.Context, ws, runID, key string, offset, limit int) ([]tracking.Metric, error) {
	var one int
	err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE run_id = ? AND workspace = ?`, runID, ws).Scan(&one)
	if err != nil {
		return nil, fmt.Errorf("metric history of run %s: %w", runID, notFoundIfNone(err))
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+metricCols+` FROM metrics WHERE run_id = ? AND key = ?
		ORDER BY step, timestamp, value LIMIT ? OFFSET ?`, runID, key, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("metric history of run %s: %w", runID, err)
	}
	out, err := collect(rows, func(sc scanner) (tracking.Metric, error) { return scanMetric(sc) })
	if err != nil {
		return nil, fmt.Errorf("metric history of run %s: %w", runID, err)
	}
	return out, nil
}

// MetricHistoryBulk returns the values of key of several runs of ws.
func (s *Store) MetricHistoryBulk(ctx context.Context, ws string, runIDs []string, key string, startStep, endStep *int64, limit int) ([]tracking.Metric, error) {
	q := `SELECT m.run_id, ` + metricCols + ` FROM metrics m JOIN runs r ON r.run_id = m.run_id AND r.workspace = ?
		WHERE m.run_id IN (SELECT value FROM json_each(?)) AND m.key = ?
		AND (CAST(? AS BIGINT) IS NULL OR m.step >= ?) AND (CAST(? AS BIGINT) IS NULL OR m.step <= ?) ORDER BY m.run_id, m.step, m.timestamp`
	args := []any{ws, idList(runIDs), key, startStep, startStep, endStep, endStep}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("bulk metric history: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (tracking.Metric, error) {
		var id string
		m, err := scanMetric(sc, &id)
		m.RunID = id
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("bulk metric history: %w", err)
	}
	return out, nil
}
