package api

import (
	"context"
	"net/http"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/activity"
	"github.com/ciel-mlops/ciel/internal/dataflow/mljobs"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// openDataflow builds the Data Factory service with its pipeline runner
// and trigger scheduler. Runs an earlier server left open are closed
// (recorded Failed, so they can be rerun from failure) before the
// triggers start, so that a firing half done is finished against the
// runs as they stand. The returned func stops the triggers, then the runs.
//
// `ciel` activities run Azure ML jobs on eng, which must be built first.
func (s *server) openDataflow(ctx context.Context, st *sqldb.Store, eng *engine.Engine, blobs blob.Store) (func(), error) {
	svc := dataflow.New(dataflow.Config{Store: st.Dataflow(), Logger: s.log})
	jobs, err := mljobs.New(mljobs.Config{Engine: eng, Store: st, Data: s.data, Blobs: blobs, BaseURL: s.base})
	if err != nil {
		return nil, err
	}
	httpClient := &http.Client{Timeout: 5 * time.Minute}
	runner, err := run.New(run.Config{Store: factoryFeedStore{Store: st, feed: s.flows}, Resources: svc, Secrets: svc.Secrets(), Jobs: jobs, Logger: s.log,
		Env: func(ws string) *activity.Env {
			return &activity.Env{Workspace: ws, Datastores: s.data, HTTP: httpClient, Log: s.log.With("workspace", ws)}
		}})
	if err != nil {
		return nil, err
	}
	if ids, err := runner.Recover(ctx); err != nil {
		runner.Close()
		return nil, err
	} else if len(ids) > 0 {
		s.log.Warn("data factory runs left open by the last server recorded Failed", "runs", len(ids))
	}
	trig := triggers.New(triggers.Config{Store: st.DataflowTriggers(), Logger: s.log,
		Starter: &dataflow.TriggerStarter{Runs: runner, Find: st},
		// Local stays nil until the files package's local folder backend
		// is on main: storage event triggers are refused until then.
		Datastores: &dataflow.DatastoreFiles{Datastores: s.data}})
	svc.SetRuns(runner)
	svc.SetTriggers(trig)
	trig.Start()
	s.dataflow = svc
	return func() {
		trig.Stop()
		runner.Close()
	}, nil
}
