package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// The tracking.Store half of Store: experiments here, runs in
// tracking_runs.go, logged models and job runs in tracking_models.go, the
// SQL of searches in tracking_search.go. Writes go through the group-commit
// writer like every other write, so concurrent log calls share fsyncs.

var _ tracking.Store = (*Store)(nil)

const experimentCols = `e.workspace, e.id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time`

// parseExpID parses an experiment ID; one that is not an integer names no
// experiment.
func parseExpID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("experiment %q: %w", id, store.ErrNotFound)
	}
	return n, nil
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// CreateExperiment creates e with the next ID of the workspace; see
// tracking.ExperimentStore.
func (s *Store) CreateExperiment(ctx context.Context, ws string, e tracking.Experiment) (tracking.Experiment, error) {
	if e.CreationTime == 0 {
		e.CreationTime = nowMillis()
	}
	if e.LastUpdateTime == 0 {
		e.LastUpdateTime = e.CreationTime
	}
	e.LifecycleStage = tracking.StageActive
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var next int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), -1) + 1 FROM experiments WHERE workspace = ?`, ws).Scan(&next); err != nil {
			return err
		}
		e.ID = strconv.FormatInt(next, 10)
		loc := e.ArtifactLocation
		if loc == "" {
			loc = artifacts.Location(e.ID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO experiments (workspace, id, name, artifact_location, lifecycle_stage,
			creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ws, next, e.Name, loc, e.LifecycleStage, e.CreationTime, e.LastUpdateTime); err != nil {
			return err
		}
		e.ArtifactLocation = loc
		return putExperimentTags(ctx, tx, ws, next, e.Tags)
	})
	if err != nil {
		return tracking.Experiment{}, opErr(fmt.Sprintf("create experiment %q in workspace %q", e.Name, ws), err)
	}
	return e, nil
}

func putExperimentTags(ctx context.Context, tx *sql.Tx, ws string, id int64, tags []tracking.Tag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO experiment_tags (workspace, experiment_id, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (workspace, experiment_id, key) DO UPDATE SET value = excluded.value`, ws, id, t.Key, t.Value); err != nil {
			return err
		}
	}
	return nil
}

func scanExperiment(sc scanner) (tracking.Experiment, string, error) {
	var (
		e  tracking.Experiment
		ws string
		id int64
	)
	err := sc.Scan(&ws, &id, &e.Name, &e.ArtifactLocation, &e.LifecycleStage, &e.CreationTime, &e.LastUpdateTime)
	e.ID = strconv.FormatInt(id, 10)
	return e, ws, err
}

// getExperiment reads one experiment (with tags) matching cond.
func (s *Store) getExperiment(ctx context.Context, what, cond string, args ...any) (tracking.Experiment, error) {
	e, ws, err := scanExperiment(s.rdb.QueryRowContext(ctx, `SELECT `+experimentCols+` FROM experiments e WHERE `+cond, args...))
	if err == nil {
		var list []tracking.Experiment
		list, err = s.withExperimentTags(ctx, ws, []tracking.Experiment{e})
		if err == nil {
			return list[0], nil
		}
	}
	return tracking.Experiment{}, fmt.Errorf("get experiment %s: %w", what, notFoundIfNone(err))
}

// GetExperiment returns an experiment with its tags.
func (s *Store) GetExperiment(ctx context.Context, ws, id string) (tracking.Experiment, error) {
	n, err := parseExpID(id)
	if err != nil {
		return tracking.Experiment{}, err
	}
	return s.getExperiment(ctx, id, `e.workspace = ? AND e.id = ?`, ws, n)
}

// GetExperimentByName returns an experiment with its tags.
func (s *Store) GetExperimentByName(ctx context.Context, ws, name string) (tracking.Experiment, error) {
	return s.getExperiment(ctx, strconv.Quote(name), `e.workspace = ? AND e.name = ?`, ws, name)
}

// withExperimentTags fills in the tags of experiments of workspace ws.
func (s *Store) withExperimentTags(ctx context.Context, ws string, exps []tracking.Experiment) ([]tracking.Experiment, error) {
	if len(exps) == 0 {
		return exps, nil
	}
	ids := make([]string, len(exps))
	at := make(map[string]int, len(exps))
	for i, e := range exps {
		ids[i], at[e.ID] = e.ID, i
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT experiment_id, key, value FROM experiment_tags
		WHERE workspace = ? AND experiment_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) ORDER BY experiment_id, key`, ws, idList(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			t  tracking.Tag
		)
		if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
			return nil, err
		}
		i := at[strconv.FormatInt(id, 10)]
		exps[i].Tags = append(exps[i].Tags, t)
	}
	return exps, rows.Err()
}

// SearchExperiments returns the experiments of ws matching q.
func (s *Store) SearchExperiments(ctx context.Context, ws string, q tracking.ExperimentQuery) ([]tracking.Experiment, error) {
	sq := s.query()
	sq.add(`SELECT `+experimentCols+` FROM experiments e WHERE e.workspace = ? AND `+stageCond("e.lifecycle_stage", q.ViewType), ws)
	if err := experimentSchema.where(sq, q.Filter); err != nil {
		return nil, err
	}
	order := q.OrderBy
	if len(order) == 0 {
		order = []tracking.OrderBy{{Kind: tracking.KindAttribute, Key: "creation_time"}, {Kind: tracking.KindAttribute, Key: "experiment_id", Asc: true}}
	} else if !hasOrder(order, "experiment_id") {
		order = append(order, tracking.OrderBy{Kind: tracking.KindAttribute, Key: "experiment_id"})
	}
	sq.add(" ORDER BY ")
	if err := experimentSchema.orderBy(sq, order); err != nil {
		return nil, err
	}
	sq.add(" LIMIT ? OFFSET ?", q.Limit, q.Offset)
	rows, err := s.rdb.QueryContext(ctx, sq.String(), sq.args...)
	if err != nil {
		return nil, fmt.Errorf("search experiments: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (tracking.Experiment, error) {
		e, _, err := scanExperiment(sc)
		return e, err
	})
	if err == nil {
		out, err = s.withExperimentTags(ctx, ws, out)
	}
	if err != nil {
		return nil, fmt.Errorf("search experiments: %w", err)
	}
	return out, nil
}

// updateExperiment parses id and runs fn on it in one write; fn reports
// store.ErrNotFound when the experiment is not there.
func (s *Store) updateExperiment(ctx context.Context, op, ws, id string, fn func(ctx context.Context, tx *sql.Tx, n int64) error) error {
	n, err := parseExpID(id)
	if err == nil {
		err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error { return fn(ctx, tx, n) })
	}
	return opErr(fmt.Sprintf("%s experiment %s in workspace %q", op, id, ws), err)
}

// RenameExperiment renames an experiment; store.ErrConflict if the name is
// taken.
func (s *Store) RenameExperiment(ctx context.Context, ws, id, name string) error {
	return s.updateExperiment(ctx, "rename", ws, id, func(ctx context.Context, tx *sql.Tx, n int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE experiments SET name = ?, last_update_time = ? WHERE workspace = ? AND id = ?`,
			name, nowMillis(), ws, n)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// SetExperimentStage deletes or restores an experiment and its runs.
func (s *Store) SetExperimentStage(ctx context.Context, ws, id, stage string) error {
	return s.updateExperiment(ctx, "set stage of", ws, id, func(ctx context.Context, tx *sql.Tx, n int64) error {
		now := nowMillis()
		res, err := tx.ExecContext(ctx, `UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE workspace = ? AND id = ?`,
			stage, now, ws, n)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		var deleted any
		if stage == tracking.StageDeleted {
			deleted = now
		}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE workspace = ? AND experiment_id = ?`,
			stage, deleted, ws, n)
		return err
	})
}

// SetExperimentTag sets one tag of an experiment.
func (s *Store) SetExperimentTag(ctx context.Context, ws, id string, t tracking.Tag) error {
	return s.updateExperiment(ctx, "tag", ws, id, func(ctx context.Context, tx *sql.Tx, n int64) error {
		return putExperimentTags(ctx, tx, ws, n, []tracking.Tag{t})
	})
}

// DeleteExperimentTag removes a tag; store.ErrNotFound if absent.
func (s *Store) DeleteExperimentTag(ctx context.Context, ws, id, key string) error {
	return s.updateExperiment(ctx, "untag", ws, id, func(ctx context.Context, tx *sql.Tx, n int64) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM experiment_tags WHERE workspace = ? AND experiment_id = ? AND key = ?`, ws, n, key)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}
