package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/store"
)

// CreateJob stores j and its steps in one transaction. Each step's
// Workspace and Job are taken from j. store.ErrConflict if the job name (or
// a step name within it) is taken, store.ErrNotFound if the workspace does
// not exist. A zero CreatedAt is set to now.
func (s *Store) CreateJob(ctx context.Context, j store.Job, steps []store.Step) error {
	op := func() string { return fmt.Sprintf("create job %q in workspace %q", j.Name, j.Workspace) }
	insert, err := s.jobInsert(j, steps)
	if err != nil {
		return opErr(op(), err)
	}
	if err := s.w.do(ctx, insert); err != nil {
		return opErr(op(), err)
	}
	return nil
}

// jobInsert returns the write that inserts j and its steps, its arguments
// encoded beforehand, so that another write (a schedule's firing) can
// insert a job in its own transaction.
func (s *Store) jobInsert(j store.Job, steps []store.Step) (txFunc, error) {
	outputs, err := mapArg(j.Outputs)
	if err != nil {
		return nil, err
	}
	jobArgs := []any{j.Workspace, j.Name, j.Type, j.DisplayName, j.ExperimentName, j.Status, j.Error,
		string(j.Spec), string(j.Plan), outputs, j.Archived, j.CancelRequested,
		timeArg(nowIfZero(j.CreatedAt)), optTimeArg(j.StartedAt), optTimeArg(j.EndedAt), j.Owner, leaseArg(j.LeaseUntil)}
	stepArgs := make([][]any, len(steps))
	for i, st := range steps {
		st.Workspace, st.Job = j.Workspace, j.Name
		if stepArgs[i], err = insertStepArgs(st); err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, s.ws.insertJob).ExecContext(ctx, jobArgs...); err != nil {
			return err
		}
		ins := tx.StmtContext(ctx, s.ws.insertStep)
		for i, args := range stepArgs {
			if _, err := ins.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("step %q: %w", steps[i].Name, err)
			}
		}
		return nil
	}, nil
}

func insertStepArgs(st store.Step) ([]any, error) {
	outputs, err := mapArg(st.Outputs)
	if err != nil {
		return nil, fmt.Errorf("step %q: %w", st.Name, err)
	}
	return []any{st.Workspace, st.Job, st.Name, st.Status, st.Attempt, st.ReusedFrom, outputs, st.Error,
		optIntArg(st.ExitCode), st.PID, optTimeArg(st.StartedAt), optTimeArg(st.EndedAt), st.Log}, nil
}

// GetJob returns store.ErrNotFound when absent.
func (s *Store) GetJob(ctx context.Context, ws, name string) (store.Job, error) {
	j, err := scanJob(s.rs.getJob.QueryRowContext(ctx, ws, name))
	if err != nil {
		return store.Job{}, opErr(fmt.Sprintf("get job %q in workspace %q", name, ws), notFoundIfNone(err))
	}
	return j, nil
}

// ListJobs lists a workspace's jobs, newest (last created) first, leaving
// out archived ones unless includeArchived. store.ErrNotFound when the
// workspace does not exist.
func (s *Store) ListJobs(ctx context.Context, ws string, includeArchived bool) ([]store.Job, error) {
	rows, err := s.rs.listJobs.QueryContext(ctx, ws, includeArchived)
	if err == nil {
		var out []store.Job
		if out, err = collect(rows, scanJob); err == nil && len(out) == 0 {
			err = s.requireWorkspace(ctx, ws)
		}
		if err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list jobs in workspace %q: %w", ws, err)
}

// UpdateJob replaces the mutable fields of a job: Status, Error, Outputs,
// StartedAt, EndedAt, Archived and CancelRequested. store.ErrNotFound when
// the job does not exist. Concurrent callers may share one commit.
func (s *Store) UpdateJob(ctx context.Context, j store.Job) error {
	outputs, err := mapArg(j.Outputs)
	if err == nil {
		args := []any{j.Status, j.Error, outputs, optTimeArg(j.StartedAt), optTimeArg(j.EndedAt),
			j.Archived, j.CancelRequested, j.Workspace, j.Name}
		err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.StmtContext(ctx, s.ws.updateJob).ExecContext(ctx, args...)
			if err != nil {
				return err
			}
			return mustAffect(res)
		})
	}
	if err != nil {
		return opErr(fmt.Sprintf("update job %q in workspace %q", j.Name, j.Workspace), err)
	}
	return nil
}

// ListActiveJobs returns the jobs of every workspace whose status is not
// terminal (Completed, Failed or Canceled), oldest first, so a restarted
// server can resume them in submission order.
func (s *Store) ListActiveJobs(ctx context.Context) ([]store.Job, error) {
	rows, err := s.rs.listActiveJobs.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list active jobs: %w", err)
	}
	out, err := collect(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("list active jobs: %w", err)
	}
	return out, nil
}

// ListSteps returns a job's steps ordered by name (bytewise).
// store.ErrNotFound when the job does not exist.
func (s *Store) ListSteps(ctx context.Context, ws, job string) ([]store.Step, error) {
	rows, err := s.rs.listSteps.QueryContext(ctx, ws, job)
	if err == nil {
		var out []store.Step
		if out, err = collect(rows, scanStep); err == nil && len(out) == 0 {
			var one int
			err = notFoundIfNone(s.rs.jobExists.QueryRowContext(ctx, ws, job).Scan(&one))
		}
		if err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list steps of job %q in workspace %q: %w", job, ws, err)
}

// UpdateSteps replaces the mutable fields of steps (Status, Attempt,
// ReusedFrom, Outputs, Error, ExitCode, PID, StartedAt, EndedAt, Log), all or
// none: store.ErrNotFound, and no change, if any step does not exist.
// Concurrent callers share one commit (see the package doc); each returns
// once that commit is durable.
func (s *Store) UpdateSteps(ctx context.Context, steps ...store.Step) error {
	if len(steps) == 0 {
		return nil
	}
	args := make([][]any, len(steps))
	for i, st := range steps {
		outputs, err := mapArg(st.Outputs)
		if err != nil {
			return fmt.Errorf("update step %q of job %q in workspace %q: %w", st.Name, st.Job, st.Workspace, err)
		}
		args[i] = []any{st.Status, st.Attempt, st.ReusedFrom, outputs, st.Error, optIntArg(st.ExitCode),
			st.PID, optTimeArg(st.StartedAt), optTimeArg(st.EndedAt), st.Log, st.Workspace, st.Job, st.Name}
	}
	failed := -1 // index of the step that failed, if one did
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		upd := tx.StmtContext(ctx, s.ws.updateStep)
		for i, a := range args {
			res, err := upd.ExecContext(ctx, a...)
			if err == nil {
				err = mustAffect(res)
			}
			if err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	switch {
	case err == nil:
		return nil
	case failed >= 0:
		st := steps[failed]
		return opErr(fmt.Sprintf("update step %q of job %q in workspace %q", st.Name, st.Job, st.Workspace), err)
	default:
		return opErr(fmt.Sprintf("update %d steps", len(steps)), err)
	}
}

// AddSteps adds steps to existing jobs in one transaction.
// store.ErrNotFound when a step's job is absent, store.ErrConflict when a
// step name is taken; nothing is added then.
func (s *Store) AddSteps(ctx context.Context, steps ...store.Step) error {
	if len(steps) == 0 {
		return nil
	}
	args := make([][]any, len(steps))
	for i, st := range steps {
		a, err := insertStepArgs(st)
		if err != nil {
			return fmt.Errorf("add steps: %w", err)
		}
		args[i] = a
	}
	failed := 0
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ins := tx.StmtContext(ctx, s.ws.insertStep)
		for i, a := range args {
			if _, err := ins.ExecContext(ctx, a...); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	if err != nil {
		st := steps[failed]
		err = opErr(fmt.Sprintf("add step %q to job %q in workspace %q", st.Name, st.Job, st.Workspace), err)
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			// A missing job breaks the foreign key.
			if _, gerr := s.GetJob(ctx, st.Workspace, st.Job); errors.Is(gerr, store.ErrNotFound) {
				return fmt.Errorf("add steps: %w", gerr)
			}
		}
		return err
	}
	return nil
}

// PutReuse records r, replacing any earlier entry for its key in its
// workspace. store.ErrNotFound if the workspace does not exist. Concurrent
// callers may share one commit. A zero CreatedAt is set to now.
func (s *Store) PutReuse(ctx context.Context, r store.Reuse) error {
	outputs, err := mapArg(r.Outputs)
	if err == nil {
		args := []any{r.Key, r.Workspace, r.Job, r.Step, outputs, timeArg(nowIfZero(r.CreatedAt))}
		err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.StmtContext(ctx, s.ws.putReuse).ExecContext(ctx, args...)
			return err
		})
	}
	if err != nil {
		return opErr(fmt.Sprintf("put reuse %q in workspace %q", r.Key, r.Workspace), err)
	}
	return nil
}

// GetReuse returns store.ErrNotFound when no step with the key has
// completed in the workspace.
func (s *Store) GetReuse(ctx context.Context, ws, key string) (store.Reuse, error) {
	r, err := scanReuse(s.rs.getReuse.QueryRowContext(ctx, ws, key))
	if err != nil {
		return store.Reuse{}, opErr(fmt.Sprintf("get reuse %q in workspace %q", key, ws), notFoundIfNone(err))
	}
	return r, nil
}
