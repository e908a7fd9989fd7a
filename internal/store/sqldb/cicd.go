package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd"
)

// CI/CD pipelines and runs (0007_cicd.up.sql). Like the serving statements,
// these are compiled per call: a run changes a few times a step, not
// thousands of times a second.

var _ cicd.Store = (*CICDStore)(nil)

// CICDStore is the cicd.Store kept in a Store's database. It is a view, not
// a second handle: it shares the Store's writer and readers and is closed
// with it. It is a type of its own because *Store already has tracking's
// CreateRun, GetRun and UpdateRun.
type CICDStore struct {
	s *Store
}

// CICD returns the cicd.Store view of s.
func (s *Store) CICD() *CICDStore { return &CICDStore{s: s} }

// CreatePipeline stores p (a zero CreatedAt is set to now) and returns it
// with its ID; store.ErrConflict when ws has a pipeline of that name,
// store.ErrNotFound when the workspace does not exist.
func (c *CICDStore) CreatePipeline(ctx context.Context, p cicd.Pipeline) (cicd.Pipeline, error) {
	p.CreatedAt = nowIfZero(p.CreatedAt).UTC().Round(0)
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO cicd_pipelines (workspace, name, repository, yaml_path, created_at,
			repository_url, default_branch, webhook_secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.Workspace, p.Name, p.Repository, p.YAMLPath, timeArg(p.CreatedAt), p.RepositoryURL, p.DefaultBranch, p.WebhookSecret,
		).Scan(&p.ID)
	})
	if err != nil {
		return cicd.Pipeline{}, opErr(fmt.Sprintf("create pipeline %q in workspace %q", p.Name, p.Workspace), err)
	}
	return p, nil
}

const cicdPipelineCols = `id, workspace, name, repository, yaml_path, created_at, repository_url, default_branch, webhook_secret`

func scanPipeline(sc scanner) (cicd.Pipeline, error) {
	var (
		p       cicd.Pipeline
		created int64
	)
	if err := sc.Scan(&p.ID, &p.Workspace, &p.Name, &p.Repository, &p.YAMLPath, &created,
		&p.RepositoryURL, &p.DefaultBranch, &p.WebhookSecret); err != nil {
		return p, err
	}
	p.CreatedAt = timeCol(created)
	return p, nil
}

// GetPipeline returns the pipeline ws/name; store.ErrNotFound when absent.
func (c *CICDStore) GetPipeline(ctx context.Context, ws, name string) (cicd.Pipeline, error) {
	p, err := scanPipeline(c.s.rdb.QueryRowContext(ctx,
		`SELECT `+cicdPipelineCols+` FROM cicd_pipelines WHERE workspace = ? AND name = ?`, ws, name))
	if err != nil {
		return cicd.Pipeline{}, opErr(fmt.Sprintf("get pipeline %q in workspace %q", name, ws), notFoundIfNone(err))
	}
	return p, nil
}

// ListPipelines returns ws's pipelines by name; store.ErrNotFound when the
// workspace does not exist.
func (c *CICDStore) ListPipelines(ctx context.Context, ws string) ([]cicd.Pipeline, error) {
	rows, err := c.s.rdb.QueryContext(ctx,
		`SELECT `+cicdPipelineCols+` FROM cicd_pipelines WHERE workspace = ? ORDER BY name`, ws)
	if err != nil {
		return nil, fmt.Errorf("list pipelines of workspace %q: %w", ws, err)
	}
	out, err := collect(rows, scanPipeline)
	if err == nil && len(out) == 0 {
		err = c.s.requireWorkspace(ctx, ws)
	}
	if err != nil {
		return nil, fmt.Errorf("list pipelines of workspace %q: %w", ws, err)
	}
	return out, nil
}

// ListExternalPipelines returns the pipelines of every workspace whose
// repository is mirrored from outside (RepositoryURL set), by workspace
// and name.
func (c *CICDStore) ListExternalPipelines(ctx context.Context) ([]cicd.Pipeline, error) {
	rows, err := c.s.rdb.QueryContext(ctx,
		`SELECT `+cicdPipelineCols+` FROM cicd_pipelines WHERE repository_url != '' ORDER BY workspace, name`)
	if err != nil {
		return nil, fmt.Errorf("list external pipelines: %w", err)
	}
	out, err := collect(rows, scanPipeline)
	if err != nil {
		return nil, fmt.Errorf("list external pipelines: %w", err)
	}
	return out, nil
}

// DeletePipeline deletes the pipeline and, in the same transaction (the
// foreign key cascades), its runs; store.ErrNotFound when absent.
func (c *CICDStore) DeletePipeline(ctx context.Context, ws, name string) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM cicd_pipelines WHERE workspace = ? AND name = ?`, ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete pipeline %q in workspace %q", name, ws), err)
}

// CreateRun stores r (a zero QueueTime is set to now) and returns it with
// its ID, unique on the server and increasing; r.ID is ignored. The run is
// durable when CreateRun returns. store.ErrNotFound when the pipeline does
// not exist.
func (c *CICDStore) CreateRun(ctx context.Context, r cicd.Run) (cicd.Run, error) {
	r = utcRun(r)
	r.ID = 0
	r.QueueTime = nowIfZero(r.QueueTime).UTC().Round(0)
	rec, err := json.Marshal(r)
	if err == nil {
		err = c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			r.ID, err = insertRun(ctx, tx, r, rec, c.s.replica)
			return err
		})
	}
	if err != nil {
		return cicd.Run{}, opErr(fmt.Sprintf("create run of pipeline %q in workspace %q", r.Pipeline, r.Workspace), err)
	}
	return r, nil
}

// UpdateRun replaces the stored run r.ID with r, Jobs, Artifacts and all. A
// run stays in its workspace and pipeline: store.ErrNotFound unless run
// r.ID exists in r.Workspace under r.Pipeline.
func (c *CICDStore) UpdateRun(ctx context.Context, r cicd.Run) error {
	r = utcRun(r)
	rec, err := json.Marshal(r)
	if err == nil {
		err = c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE cicd_runs SET status = ?, record = ?
				WHERE id = ? AND workspace = ? AND pipeline = ?`, r.Status, string(rec), r.ID, r.Workspace, r.Pipeline)
			if err != nil {
				return err
			}
			return mustAffect(res)
		})
	}
	return opErr(fmt.Sprintf("update run %d of pipeline %q in workspace %q", r.ID, r.Pipeline, r.Workspace), err)
}

const cicdRunCols = `id, workspace, pipeline, record`

// scanRun reads a run's record; its ID, workspace and pipeline come from
// the columns, which are what lookups match on.
func scanRun(sc scanner) (cicd.Run, error) {
	var (
		r                       cicd.Run
		id                      int64
		ws, pipeline, recordStr string
	)
	if err := sc.Scan(&id, &ws, &pipeline, &recordStr); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(recordStr), &r); err != nil {
		return r, fmt.Errorf("decode stored run %d: %w", id, err)
	}
	r.ID, r.Workspace, r.Pipeline = id, ws, pipeline
	return r, nil
}

// GetRun returns run id of workspace ws; store.ErrNotFound when absent or
// in another workspace.
func (c *CICDStore) GetRun(ctx context.Context, ws string, id int64) (cicd.Run, error) {
	r, err := scanRun(c.s.rdb.QueryRowContext(ctx, `SELECT `+cicdRunCols+` FROM cicd_runs WHERE id = ? AND workspace = ?`, id, ws))
	if err != nil {
		return cicd.Run{}, opErr(fmt.Sprintf("get run %d in workspace %q", id, ws), notFoundIfNone(err))
	}
	return r, nil
}

// ListRuns returns ws's runs, newest first, of one pipeline or all
// (pipeline ""), at most limit (0: all). store.ErrNotFound when the
// workspace, or the pipeline named, does not exist.
func (c *CICDStore) ListRuns(ctx context.Context, ws, pipeline string, limit int) ([]cicd.Run, error) {
	op := fmt.Sprintf("list runs of workspace %q", ws)
	if pipeline != "" {
		op = fmt.Sprintf("list runs of pipeline %q in workspace %q", pipeline, ws)
	}
	if limit <= 0 {
		limit = math.MaxInt64 // no limit
	}
	var (
		rows *sql.Rows
		err  error
	)
	if pipeline == "" {
		rows, err = c.s.rdb.QueryContext(ctx, `SELECT `+cicdRunCols+` FROM cicd_runs WHERE workspace = ?
			ORDER BY id DESC LIMIT ?`, ws, limit)
	} else {
		rows, err = c.s.rdb.QueryContext(ctx, `SELECT `+cicdRunCols+` FROM cicd_runs WHERE workspace = ? AND pipeline = ?
			ORDER BY id DESC LIMIT ?`, ws, pipeline, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out, err := collect(rows, scanRun)
	if err == nil && len(out) == 0 {
		if pipeline == "" {
			err = c.s.requireWorkspace(ctx, ws)
		} else if _, err = c.GetPipeline(ctx, ws, pipeline); err != nil {
			return nil, err // already says which pipeline
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// ListUnfinishedRuns returns the runs of every workspace whose status is
// not completed, oldest first.
func (c *CICDStore) ListUnfinishedRuns(ctx context.Context) ([]cicd.Run, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT `+cicdRunCols+` FROM cicd_runs
		WHERE status <> '`+cicd.StatusCompleted+`' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list unfinished runs: %w", err)
	}
	out, err := collect(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("list unfinished runs: %w", err)
	}
	return out, nil
}

// ClaimStrandedRuns makes this server the owner of every unfinished run no
// live server runs (all of them, for a server alone; with mine, its own
// too: see replicas.go) and returns them, oldest first, for the service to
// close or start: servers recovering at once each get different runs.
func (c *CICDStore) ClaimStrandedRuns(ctx context.Context, mine bool) ([]cicd.Run, error) {
	var out []cicd.Run
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cond, args := c.s.stranded("owner", time.Now(), mine)
		rows, err := tx.QueryContext(ctx, c.s.claimSQL("cicd_runs", "id", `owner = ?`,
			`status <> '`+cicd.StatusCompleted+`' AND `+cond, ``, cicdRunCols),
			append(append([]any{c.s.replica}, args...), args...)...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanRun)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim stranded runs: %w", err)
	}
	slices.SortFunc(out, func(a, b cicd.Run) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// utcRun returns r with every time in UTC and without a monotonic reading,
// as it reads back, copying Jobs and their Steps so the caller's slices are
// not written to.
func utcRun(r cicd.Run) cicd.Run {
	r.QueueTime, r.StartTime, r.FinishTime = utc(r.QueueTime), utc(r.StartTime), utc(r.FinishTime)
	if r.Jobs == nil {
		return r
	}
	jobs := make([]cicd.RunJob, len(r.Jobs))
	for i, j := range r.Jobs {
		j.StartTime, j.FinishTime = utc(j.StartTime), utc(j.FinishTime)
		if j.Steps != nil {
			steps := make([]cicd.RunStep, len(j.Steps))
			for k, st := range j.Steps {
				st.StartTime, st.FinishTime = utc(st.StartTime), utc(st.FinishTime)
				steps[k] = st
			}
			j.Steps = steps
		}
		jobs[i] = j
	}
	r.Jobs = jobs
	return r
}

func utc(t time.Time) time.Time { return t.UTC().Round(0) }

// insertRun stores run r (its record rec, r as JSON), run by server owner,
// and returns its new ID.
func insertRun(ctx context.Context, tx *sql.Tx, r cicd.Run, rec []byte, owner string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO cicd_runs (workspace, pipeline, status, record, owner) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		r.Workspace, r.Pipeline, r.Status, string(rec), owner).Scan(&id)
	return id, err
}
