package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ciel-mlops/ciel/internal/changefeed"
	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
)

// The live state of CI/CD runs and Data Factory runs, for the studio: each
// run, and each list of a workspace's latest runs, has an event stream that
// sends its whole state again whenever a run's record changes (the stores
// below tell the feed), so a page never polls. Job and step events of
// Azure ML jobs are events.go's.

// cicdFeedStore is the CI/CD store that tells feed of every run it writes.
type cicdFeedStore struct {
	cicd.Store
	feed *changefeed.Feed
}

func (s cicdFeedStore) CreateRun(ctx context.Context, r cicd.Run) (cicd.Run, error) {
	r, err := s.Store.CreateRun(ctx, r)
	if err == nil {
		s.feed.Changed(r.Workspace, "ci/"+strconv.FormatInt(r.ID, 10))
	}
	return r, err
}

func (s cicdFeedStore) UpdateRun(ctx context.Context, r cicd.Run) error {
	err := s.Store.UpdateRun(ctx, r)
	if err == nil {
		s.feed.Changed(r.Workspace, "ci/"+strconv.FormatInt(r.ID, 10))
	}
	return err
}

// factoryFeedStore is the Data Factory run store that tells feed of every
// pipeline run and activity run it writes.
type factoryFeedStore struct {
	run.Store
	feed *changefeed.Feed
}

func (s factoryFeedStore) CreatePipelineRun(ctx context.Context, r run.PipelineRun) error {
	err := s.Store.CreatePipelineRun(ctx, r)
	if err == nil {
		s.feed.Changed(r.Workspace, "df/"+r.RunID)
	}
	return err
}

func (s factoryFeedStore) UpdatePipelineRun(ctx context.Context, r run.PipelineRun) error {
	err := s.Store.UpdatePipelineRun(ctx, r)
	if err == nil {
		s.feed.Changed(r.Workspace, "df/"+r.RunID)
	}
	return err
}

func (s factoryFeedStore) PutActivityRun(ctx context.Context, a run.ActivityRun) error {
	err := s.Store.PutActivityRun(ctx, a)
	if err == nil {
		s.feed.Changed(a.Workspace, "df/"+a.PipelineRunID)
	}
	return err
}

// FactoryRunState is what a Data Factory run's event stream sends: the run
// and its activity runs, as queryActivityruns answers them.
type FactoryRunState struct {
	Run          run.PipelineRun   `json:"run"`
	ActivityRuns []run.ActivityRun `json:"activityRuns"`
}

// pipelineRunEvents streams CI/CD run id's state: "event: run" with the
// run as GET pipeline-runs/{id} answers it, first at once and again after
// each change, then "event: end" once it completed.
func (s *server) pipelineRunEvents(w http.ResponseWriter, r *http.Request) (any, error) {
	svc, run, err := s.run(r)
	if err != nil {
		return nil, err
	}
	key := "ci/" + strconv.FormatInt(run.ID, 10)
	return s.streamState(w, r, run.Workspace, key, "run", func(ctx context.Context) (any, bool, error) {
		cur, err := svc.Store().GetRun(ctx, run.Workspace, run.ID)
		if err != nil {
			return nil, false, err
		}
		p, _ := svc.Store().GetPipeline(ctx, cur.Workspace, cur.Pipeline)
		v := s.runView(cur, p.ID)
		done := cur.Status == cicd.StatusCompleted
		if done {
			v.Created = s.runCreated(ctx, cur)
		}
		return v, done, nil
	})
}

// factoryRunEvents streams Data Factory run runId's state: "event: run"
// with a FactoryRunState, first at once and again after each change, then
// "event: end" once the run is done.
func (s *server) factoryRunEvents(w http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	id := r.PathValue("runId")
	read := func(ctx context.Context) (any, bool, error) {
		pr, err := svc.Run(ctx, ws, id)
		if err != nil {
			return nil, false, err
		}
		acts, err := svc.ActivityRuns(ctx, ws, id, dataflow.RunQuery{})
		if err != nil {
			return nil, false, err
		}
		if acts == nil {
			acts = []run.ActivityRun{}
		}
		return FactoryRunState{Run: pr, ActivityRuns: acts}, pr.Status.Done(), nil
	}
	// A run that is not there is a 404 before the stream starts.
	if _, _, err := read(r.Context()); err != nil {
		return nil, err
	}
	return s.streamState(w, r, ws, "df/"+id, "run", read)
}

// listedRuns is how many runs a list's event stream sends: the newest.
const listedRuns = 50

// pipelineRunsEvents streams the workspace's latest CI/CD runs (of one
// pipeline with ?pipeline=): "event: runs" with the list as GET
// pipeline-runs?top=50 answers it, at once and after each change of a run.
func (s *server) pipelineRunsEvents(w http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	ws, pipeline := r.PathValue("ws"), r.URL.Query().Get("pipeline")
	if pipeline != "" {
		if _, err := svc.Store().GetPipeline(r.Context(), ws, pipeline); err != nil {
			return nil, cicdError(err, fmt.Sprintf("pipeline %q", pipeline))
		}
	}
	return s.streamState(w, r, ws, "ci/", "runs", func(ctx context.Context) (any, bool, error) {
		list, err := s.runList(ctx, svc, ws, pipeline, listedRuns)
		return list, false, err
	})
}

// factoryRunsEvents streams the workspace's latest Data Factory runs (of
// one pipeline with ?pipeline=): "event: runs" with the list as
// queryPipelineRuns answers it ({"value": [...]}), at once and after each
// change of a run or an activity run.
func (s *server) factoryRunsEvents(w http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	q := dataflow.RunQuery{PipelineName: r.URL.Query().Get("pipeline"), Limit: listedRuns}
	return s.streamState(w, r, ws, "df/", "runs", func(ctx context.Context) (any, bool, error) {
		list, err := svc.QueryRuns(ctx, ws, q)
		return listAnswer(list), false, err
	})
}

// streamState sends what read answers as "event: <event>" now and after each
// change the feed tells of key in ws (one read for a burst of changes,
// nothing when it is unchanged), until read says done ("event: end"), the
// client goes or the stream breaks. It shares the event streams' bound.
func (s *server) streamState(w http.ResponseWriter, r *http.Request, ws, key, event string,
	read func(ctx context.Context) (any, bool, error)) (any, error) {
	if s.flows == nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, code: "ServiceUnavailable", msg: "this server keeps no live run state"}
	}
	release, err := s.eventSlot()
	if err != nil {
		return nil, err
	}
	defer release()
	// Subscribed before the first read, so no change falls between.
	sub := s.flows.Subscribe(ws, key)
	defer sub.Close()
	startEventStream(w)
	es := &eventWriter{w: w}
	es.raw("retry: 2000\n\n")
	tick := time.NewTicker(eventHeartbeat)
	defer tick.Stop()
	last := ""
	for es.err == nil {
		v, done, err := read(r.Context())
		if err != nil {
			s.log.Debug("run event stream ended", "key", key, "err", err)
			es.raw("event: resync\ndata: {}\n\n")
			return streamed{}, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return streamed{}, err
		}
		if string(b) != last {
			last = string(b)
			es.raw("event: " + event + "\ndata: " + last + "\n\n")
		}
		if done {
			es.raw("event: end\ndata: {}\n\n")
			return streamed{}, es.err
		}
		es.flush()
		select {
		case <-r.Context().Done():
			return streamed{}, nil
		case <-sub.C():
		case <-tick.C:
			es.raw(": keep-alive\n\n")
			es.flush()
		}
	}
	return streamed{}, nil
}
