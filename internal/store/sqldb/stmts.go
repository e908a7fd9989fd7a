package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Column lists shared by the statements and the scan functions in rows.go;
// the two must agree in order.
const (
	workspaceCols = `name, resource_group, location, display_name, description, tags, created_at`
	assetCols     = `workspace, kind, name, version, spec, archived, created_at`
	jobCols       = `workspace, name, type, display_name, experiment_name, status, error, spec, plan,
		outputs, archived, cancel_requested, created_at, started_at, ended_at, owner, lease_until`
	stepCols  = `workspace, job, name, status, attempt, reused_from, outputs, error, exit_code, pid, started_at, ended_at, log`
	reuseCols = `key, workspace, job, step, outputs, created_at`

	// terminalStatuses are the job statuses ListActiveJobs leaves out (Azure
	// ML's). The jobs_active index in 0001_init.up.sql repeats this list.
	terminalStatuses = `('Completed', 'Failed', 'Canceled')`
)

// writeStmts are prepared once on the writer's single connection, so every
// transaction reuses them without compiling SQL again.
type writeStmts struct {
	all []*sql.Stmt

	insertWorkspace, deleteWorkspace                       *sql.Stmt
	assetSpec, insertAsset, replaceAssetSpec               *sql.Stmt
	archiveAsset, deleteAsset                              *sql.Stmt
	insertJob, insertStep, updateJob, updateStep, putReuse *sql.Stmt
	savepoint, rollbackTo, release                         *sql.Stmt

	// Tracking's hot path: every pipeline step's run is created, tagged,
	// linked to its step and ended with these.
	runExperiment, insertRun, putRunTag, setRunName *sql.Stmt
	jobRun, insertJobRun, updateRun, runByID        *sql.Stmt
	// And every log_metric call.
	runStage, runScope *sql.Stmt
	// And log_metric and log_batch: one statement per metricRowSizes, or,
	// where the dialect takes metricArrays, one for any batch.
	insertMetrics, upsertLatest      rowLadder
	insertMetricArr, upsertLatestArr *sql.Stmt
}

func prepareWriteStmts(ctx context.Context, db *sql.DB, d *dialect) (*writeStmts, error) {
	s := &writeStmts{}
	defs := []stmtDef{
		{&s.insertWorkspace, `INSERT INTO workspaces (` + workspaceCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&s.deleteWorkspace, `DELETE FROM workspaces WHERE name = ?`},
		{&s.assetSpec, `SELECT spec FROM assets WHERE workspace = ? AND kind = ? AND name = ? AND version = ?`},
		{&s.insertAsset, `INSERT INTO assets (` + assetCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&s.replaceAssetSpec, `UPDATE assets SET spec = ? WHERE workspace = ? AND kind = ? AND name = ? AND version = ?`},
		{&s.archiveAsset, `UPDATE assets SET archived = ?1
			WHERE workspace = ?2 AND kind = ?3 AND name = ?4 AND (?5 = '' OR version = ?5)`},
		{&s.deleteAsset, `DELETE FROM assets
			WHERE workspace = ?1 AND kind = ?2 AND name = ?3 AND (?4 = '' OR version = ?4)`},
		{&s.insertJob, `INSERT INTO jobs (` + jobCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.insertStep, `INSERT INTO steps (` + stepCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.updateJob, `UPDATE jobs SET status = ?, error = ?, outputs = ?, started_at = ?, ended_at = ?,
			archived = ?, cancel_requested = ? WHERE workspace = ? AND name = ?`},
		{&s.updateStep, `UPDATE steps SET status = ?, attempt = ?, reused_from = ?, outputs = ?, error = ?,
			exit_code = ?, pid = ?, started_at = ?, ended_at = ?, log = ? WHERE workspace = ? AND job = ? AND name = ?`},
		{&s.putReuse, `INSERT INTO reuse (` + reuseCols + `) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace, key) DO UPDATE SET job = excluded.job, step = excluded.step,
			outputs = excluded.outputs, created_at = excluded.created_at`},
		{&s.savepoint, `SAVEPOINT batch_item`},
		{&s.rollbackTo, `ROLLBACK TO batch_item`},
		{&s.release, `RELEASE batch_item`},
		{&s.runExperiment, `SELECT artifact_location, lifecycle_stage FROM experiments WHERE workspace = ? AND id = ?`},
		{&s.insertRun, `INSERT INTO runs (run_id, workspace, experiment_id, name, user_id, status, start_time,
		end_time, lifecycle_stage, artifact_uri) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.putRunTag, `INSERT INTO run_tags (run_id, key, value, workspace, experiment_id, start_time) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`},
		{&s.setRunName, `UPDATE runs SET name = ? WHERE run_id = ?`},
		{&s.jobRun, `SELECT ` + runCols + ` FROM job_runs j JOIN runs r ON r.run_id = j.run_id
			WHERE j.workspace = ? AND j.job = ? AND j.step = ?`},
		{&s.insertJobRun, `INSERT INTO job_runs (workspace, job, step, run_id) VALUES (?, ?, ?, ?)`},
		{&s.updateRun, `UPDATE runs SET status = COALESCE(?, status), end_time = COALESCE(?, end_time),
			name = COALESCE(?, name) WHERE run_id = ? AND workspace = ?`},
		{&s.runByID, `SELECT ` + runCols + ` FROM runs r WHERE r.run_id = ?`},
		{&s.runStage, `SELECT lifecycle_stage FROM runs WHERE run_id = ? AND workspace = ?`},
		{&s.runScope, `SELECT lifecycle_stage, experiment_id, start_time FROM runs WHERE run_id = ? AND workspace = ?` + d.keyShare},
	}
	if d.metricArrays {
		defs = append(defs, stmtDef{&s.insertMetricArr, metricArraysInsert}, stmtDef{&s.upsertLatestArr, latestArraysUpsert})
	} else {
		for i, rows := range metricRowSizes {
			defs = append(defs,
				stmtDef{&s.insertMetrics[i], metricRowsSQL(metricInsert, metricRowCols, metricRow, metricIgnore, rows)},
				stmtDef{&s.upsertLatest[i], metricRowsSQL(latestInsert, latestRowCols, latestRow, latestUpsert, rows)})
		}
	}
	return s, prepare(ctx, db, &s.all, defs)
}

func (s *writeStmts) close() error { return closeStmts(s.all) }

// readStmts are prepared on the read pool; database/sql prepares each lazily
// on every pooled connection and keeps it there.
type readStmts struct {
	all []*sql.Stmt

	getWorkspace, listWorkspaces, workspaceExists                    *sql.Stmt
	getAsset, latestAsset, listAssetVersions, listLatestAssets       *sql.Stmt
	getJob, listJobs, listActiveJobs, jobExists, listSteps, getReuse *sql.Stmt
}

func prepareReadStmts(ctx context.Context, db *sql.DB) (*readStmts, error) {
	s := &readStmts{}
	err := prepare(ctx, db, &s.all, []stmtDef{
		{&s.getWorkspace, `SELECT ` + workspaceCols + ` FROM workspaces WHERE name = ?`},
		{&s.listWorkspaces, `SELECT ` + workspaceCols + ` FROM workspaces ORDER BY name`},
		{&s.workspaceExists, `SELECT 1 FROM workspaces WHERE name = ?`},
		{&s.getAsset, `SELECT ` + assetCols + ` FROM assets
			WHERE workspace = ? AND kind = ? AND name = ? AND version = ?`},
		{&s.latestAsset, `SELECT ` + assetCols + ` FROM assets
			WHERE workspace = ? AND kind = ? AND name = ? AND archived = FALSE ORDER BY seq DESC LIMIT 1`},
		{&s.listAssetVersions, `SELECT ` + assetCols + ` FROM assets
			WHERE workspace = ? AND kind = ? AND name = ? ORDER BY seq DESC`},
		{&s.listLatestAssets, `SELECT ` + assetCols + ` FROM assets WHERE seq IN (
			SELECT MAX(seq) FROM assets WHERE workspace = ? AND kind = ? AND archived = FALSE GROUP BY name
			) ORDER BY seq DESC`},
		{&s.getJob, `SELECT ` + jobCols + ` FROM jobs WHERE workspace = ? AND name = ?`},
		{&s.listJobs, `SELECT ` + jobCols + ` FROM jobs
			WHERE workspace = ?1 AND (?2 OR archived = FALSE) ORDER BY seq DESC`},
		{&s.listActiveJobs, `SELECT ` + jobCols + ` FROM jobs
			WHERE status NOT IN ` + terminalStatuses + ` ORDER BY seq`},
		{&s.jobExists, `SELECT 1 FROM jobs WHERE workspace = ? AND name = ?`},
		{&s.listSteps, `SELECT ` + stepCols + ` FROM steps WHERE workspace = ? AND job = ? ORDER BY name`},
		{&s.getReuse, `SELECT ` + reuseCols + ` FROM reuse WHERE workspace = ? AND key = ?`},
	})
	return s, err
}

func (s *readStmts) close() error { return closeStmts(s.all) }

// stmtDef names where a prepared statement goes and its SQL.
type stmtDef struct {
	dst   **sql.Stmt
	query string
}

// prepare prepares every def, recording each statement in all so it can be
// closed; on error it closes what it prepared.
func prepare(ctx context.Context, db *sql.DB, all *[]*sql.Stmt, defs []stmtDef) error {
	for _, d := range defs {
		st, err := db.PrepareContext(ctx, d.query)
		if err != nil {
			_ = closeStmts(*all)
			*all = nil
			return fmt.Errorf("prepare %q: %w", d.query, err)
		}
		*d.dst = st
		*all = append(*all, st)
	}
	return nil
}

func closeStmts(stmts []*sql.Stmt) error {
	var errs []error
	for _, st := range stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}
