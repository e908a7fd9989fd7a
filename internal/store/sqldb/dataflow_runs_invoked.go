package sqldb

import (
	"context"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/dataflow/run"
)

// PipelineRunInvokedBy returns the earliest run of pipeline in ws whose
// invokedBy.id is invokerID (a trigger run's id): how a trigger firing
// that a stopped server left half done learns the run it already
// started. store.ErrNotFound when there is none. Pipeline names match
// without regard to case, as Data Factory's do.
func (s *Store) PipelineRunInvokedBy(ctx context.Context, ws, pipeline, invokerID string) (run.PipelineRun, error) {
	var r run.PipelineRun
	err := scanRecord(s.rdb.QueryRowContext(ctx, `SELECT record FROM dataflow_pipeline_runs
		WHERE workspace = ? AND pipeline = ? COLLATE NOCASE AND `+s.d.jsonText("record", "invokedBy", "id")+` = ?
		ORDER BY created_at LIMIT 1`, ws, pipeline, invokerID), &r)
	return r, opErr(fmt.Sprintf("find the run of %q invoked by %q in workspace %q", pipeline, invokerID, ws), err)
}
