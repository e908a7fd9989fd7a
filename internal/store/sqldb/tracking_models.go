package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

const loggedModelCols = `lm.model_id, lm.experiment_id, lm.name, lm.artifact_uri, lm.status, lm.status_message, lm.model_type,
	lm.source_run_id, lm.creation_time, lm.last_updated_time, lm.lifecycle_stage`

func scanLoggedModel(sc scanner) (tracking.LoggedModel, error) {
	var (
		m   tracking.LoggedModel
		exp int64
	)
	err := sc.Scan(&m.ModelID, &exp, &m.Name, &m.ArtifactURI, &m.Status, &m.StatusMessage, &m.ModelType,
		&m.SourceRunID, &m.CreationTime, &m.LastUpdatedTime, &m.LifecycleStage)
	m.ExperimentID = strconv.FormatInt(exp, 10)
	return m, err
}

// CreateLoggedModel creates a logged model; see tracking.LoggedModelStore.
func (s *Store) CreateLoggedModel(ctx context.Context, ws string, m tracking.LoggedModel) (tracking.LoggedModel, error) {
	if m.Status == "" {
		m.Status = tracking.ModelPending
	}
	if m.CreationTime == 0 {
		m.CreationTime = nowMillis()
	}
	if m.LastUpdatedTime == 0 {
		m.LastUpdatedTime = m.CreationTime
	}
	m.LifecycleStage = tracking.StageActive
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		exp, err := parseExpID(m.ExperimentID)
		if err != nil {
			return err
		}
		var loc string
		if err := tx.QueryRowContext(ctx, `SELECT artifact_location FROM experiments WHERE workspace = ? AND id = ?`,
			ws, exp).Scan(&loc); err != nil {
			return fmt.Errorf("experiment %s: %w", m.ExperimentID, notFoundIfNone(err))
		}
		m.ArtifactURI = loc + "/models/" + m.ModelID + "/artifacts"
		if _, err := tx.ExecContext(ctx, `INSERT INTO logged_models (model_id, workspace, experiment_id, name, artifact_uri,
			status, status_message, model_type, source_run_id, creation_time, last_updated_time, lifecycle_stage)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ModelID, ws, exp, m.Name, m.ArtifactURI, m.Status, m.StatusMessage,
			m.ModelType, m.SourceRunID, m.CreationTime, m.LastUpdatedTime, m.LifecycleStage); err != nil {
			return err
		}
		if err := putParams(ctx, tx, "logged_model_params", "model_id", m.ModelID, m.Params, nil); err != nil {
			return err
		}
		return putModelTags(ctx, tx, m.ModelID, m.Tags)
	})
	if err != nil {
		return tracking.LoggedModel{}, opErr(fmt.Sprintf("create logged model in workspace %q", ws), err)
	}
	return m, nil
}

func putModelTags(ctx context.Context, tx *sql.Tx, id string, tags []tracking.Tag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO logged_model_tags (model_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`, id, t.Key, t.Value); err != nil {
			return err
		}
	}
	return nil
}

// GetLoggedModel returns an active logged model with its data.
func (s *Store) GetLoggedModel(ctx context.Context, ws, id string) (tracking.LoggedModel, error) {
	m, err := scanLoggedModel(s.rdb.QueryRowContext(ctx, `SELECT `+loggedModelCols+` FROM logged_models lm
		WHERE lm.model_id = ? AND lm.workspace = ? AND lm.lifecycle_stage = 'active'`, id, ws))
	if err == nil {
		models := []tracking.LoggedModel{m}
		if err = s.loadModelData(ctx, models); err == nil {
			return models[0], nil
		}
	}
	return tracking.LoggedModel{}, fmt.Errorf("get logged model %s in workspace %q: %w", id, ws, notFoundIfNone(err))
}

// changeModel applies fn to an active logged model of ws in one write.
func (s *Store) changeModel(ctx context.Context, op, ws, id string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE logged_models SET last_updated_time = ?
			WHERE model_id = ? AND workspace = ? AND lifecycle_stage = 'active'`, nowMillis(), id, ws)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return fn(ctx, tx)
	})
	return opErr(fmt.Sprintf("%s logged model %s in workspace %q", op, id, ws), err)
}

// FinalizeLoggedModel sets a model's status and returns the model.
func (s *Store) FinalizeLoggedModel(ctx context.Context, ws, id, status string) (tracking.LoggedModel, error) {
	err := s.changeModel(ctx, "finalize", ws, id, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE logged_models SET status = ? WHERE model_id = ?`, status, id)
		return err
	})
	if err != nil {
		return tracking.LoggedModel{}, err
	}
	return s.GetLoggedModel(ctx, ws, id)
}

// DeleteLoggedModel marks a model deleted.
func (s *Store) DeleteLoggedModel(ctx context.Context, ws, id string) error {
	return s.changeModel(ctx, "delete", ws, id, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE logged_models SET lifecycle_stage = 'deleted' WHERE model_id = ?`, id)
		return err
	})
}

// SetLoggedModelTags sets tags of a model.
func (s *Store) SetLoggedModelTags(ctx context.Context, ws, id string, tags []tracking.Tag) error {
	return s.changeModel(ctx, "tag", ws, id, func(ctx context.Context, tx *sql.Tx) error {
		return putModelTags(ctx, tx, id, tags)
	})
}

// DeleteLoggedModelTag removes a tag; store.ErrNotFound if absent.
func (s *Store) DeleteLoggedModelTag(ctx context.Context, ws, id, key string) error {
	return s.changeModel(ctx, "untag", ws, id, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?`, id, key)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// LogLoggedModelParams records params of a model.
func (s *Store) LogLoggedModelParams(ctx context.Context, ws, id string, params []tracking.Param) error {
	return s.changeModel(ctx, "log params of", ws, id, func(ctx context.Context, tx *sql.Tx) error {
		return putParams(ctx, tx, "logged_model_params", "model_id", id, params, nil)
	})
}

// SearchLoggedModels returns the active logged models of ws matching q.
func (s *Store) SearchLoggedModels(ctx context.Context, ws string, q tracking.ModelQuery) ([]tracking.LoggedModel, error) {
	sq := s.query()
	sq.add(`SELECT `+loggedModelCols+` FROM logged_models lm WHERE lm.workspace = ? AND lm.lifecycle_stage = 'active'`, ws)
	if len(q.ExperimentIDs) > 0 {
		ids, _ := json.Marshal(experimentIDs(q.ExperimentIDs))
		sq.add(` AND lm.experiment_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))`, string(ids))
	}
	if err := modelSchema.where(sq, q.Filter); err != nil {
		return nil, err
	}
	order := q.OrderBy
	if len(order) == 0 {
		order = []tracking.OrderBy{{Kind: tracking.KindAttribute, Key: "creation_timestamp"}}
	}
	order = append(order, tracking.OrderBy{Kind: tracking.KindAttribute, Key: "model_id", Asc: true})
	sq.add(" ORDER BY ")
	if err := modelSchema.orderBy(sq, order); err != nil {
		return nil, err
	}
	sq.add(" LIMIT ? OFFSET ?", q.Limit, q.Offset)
	models, err := queryLoaded(ctx, s.rdb, sq, scanLoggedModel,
		func(models []tracking.LoggedModel) error { return s.loadModelData(ctx, models) })
	if err != nil {
		return nil, fmt.Errorf("search logged models: %w", err)
	}
	return models, nil
}

// loadModelData fills in the tags, params and metrics of models.
func (s *Store) loadModelData(ctx context.Context, models []tracking.LoggedModel) error {
	if len(models) == 0 {
		return nil
	}
	at := make(map[string]*tracking.LoggedModel, len(models))
	ids := make([]string, len(models))
	for i := range models {
		ids[i] = models[i].ModelID
		at[ids[i]] = &models[i]
	}
	list := idList(ids)
	err := s.eachRow(ctx, `SELECT model_id, key, value FROM logged_model_tags WHERE model_id IN (SELECT value FROM json_each(?))
		ORDER BY model_id, key`, list, func(rows *sql.Rows) error {
		var id string
		var t tracking.Tag
		err := rows.Scan(&id, &t.Key, &t.Value)
		at[id].Tags = append(at[id].Tags, t)
		return err
	})
	if err == nil {
		err = s.eachRow(ctx, `SELECT model_id, key, value FROM logged_model_params WHERE model_id IN (SELECT value FROM json_each(?))
			ORDER BY model_id, key`, list, func(rows *sql.Rows) error {
			var id string
			var p tracking.Param
			err := rows.Scan(&id, &p.Key, &p.Value)
			at[id].Params = append(at[id].Params, p)
			return err
		})
	}
	if err == nil {
		err = s.eachRow(ctx, `SELECT run_id, `+metricCols+` FROM metrics WHERE model_id IN (SELECT value FROM json_each(?))
			ORDER BY model_id, key, step, timestamp`, list, func(rows *sql.Rows) error {
			var run string
			m, err := scanMetric(rows, &run)
			m.RunID = run
			if p := at[m.ModelID]; p != nil {
				p.Metrics = append(p.Metrics, m)
			}
			return err
		})
	}
	return err
}

// EnsureJobRun returns the run linked to (job, step), creating and linking
// it first when there is none; see tracking.JobRunStore.
func (s *Store) EnsureJobRun(ctx context.Context, ws, job, step string, info tracking.RunInfo, tags []tracking.Tag) (tracking.RunInfo, bool, error) {
	created := false
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		run, err := scanRunInfo(tx.StmtContext(ctx, s.ws.jobRun).QueryRowContext(ctx, ws, job, step))
		if err == nil {
			info = run.Info
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if info, err = s.insertRun(ctx, tx, ws, info, tags); err != nil {
			return err
		}
		created = true
		_, err = tx.StmtContext(ctx, s.ws.insertJobRun).ExecContext(ctx, ws, job, step, info.RunID)
		return err
	})
	if err != nil {
		return tracking.RunInfo{}, false, opErr(fmt.Sprintf("run of job %q step %q in workspace %q", job, step, ws), err)
	}
	return info, created, nil
}

// JobRuns lists the runs linked to a job, ordered by step.
func (s *Store) JobRuns(ctx context.Context, ws, job string) ([]tracking.JobRun, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT job, step, run_id FROM job_runs WHERE workspace = ? AND job = ? ORDER BY step`, ws, job)
	if err != nil {
		return nil, fmt.Errorf("runs of job %q in workspace %q: %w", job, ws, err)
	}
	out, err := collect(rows, func(sc scanner) (tracking.JobRun, error) {
		var j tracking.JobRun
		err := sc.Scan(&j.Job, &j.Step, &j.RunID)
		return j, err
	})
	if err != nil {
		return nil, fmt.Errorf("runs of job %q in workspace %q: %w", job, ws, err)
	}
	return out, nil
}
