package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/store"
)

// maxEventStreams bounds the event streams open at once: each holds a
// connection and a goroutine for as long as a studio tab is open.
const maxEventStreams = 256

// eventHeartbeat is how often an idle stream sends a comment, so that
// proxies keep it open and a dead client is noticed.
const eventHeartbeat = 15 * time.Second

// eventRoutes serves the live state changes of jobs and steps as
// Server-Sent Events.
func (s *server) eventRoutes(h func(string, handlerFunc)) {
	s.eventSlots = make(chan struct{}, maxEventStreams)
	h("GET /api/v1/workspaces/{ws}/events", s.events)
}

// events streams the state changes of the workspace's jobs and steps (of
// one job with ?job=<name>) as they are recorded: "event: job" and
// "event: step" with an engine.Change as data and its seq as id. With
// ?job= it first sends the job's and its steps' current states, and ends
// with "event: end" once the job is terminal. "event: resync" ends a
// stream that fell behind: the client reads the state again and
// reconnects (EventSource does by itself).
func (s *server) events(w http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	ws, name := r.PathValue("ws"), r.URL.Query().Get("job")
	if s.eng == nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, code: "ServiceUnavailable", msg: "this server runs no jobs"}
	}
	release, err := s.eventSlot()
	if err != nil {
		return nil, err
	}
	defer release()
	sub := s.eng.Subscribe(ws, name)
	defer sub.Close()
	var snapshot []engine.Change
	if name != "" {
		var err error
		if snapshot, err = s.jobState(r, ws, name); err != nil {
			return nil, err
		}
	}
	startEventStream(w)
	es := &eventWriter{w: w}
	es.raw("retry: 2000\n\n")
	for _, c := range snapshot {
		es.send(c, false)
	}
	if len(snapshot) > 0 && engine.Terminal(snapshot[0].Status) {
		es.raw("event: end\ndata: {}\n\n")
		return streamed{}, es.err
	}
	es.flush()
	tick := time.NewTicker(eventHeartbeat)
	defer tick.Stop()
	for es.err == nil {
		select {
		case <-r.Context().Done():
			return streamed{}, nil
		case <-tick.C:
			es.raw(": keep-alive\n\n")
		case c, ok := <-sub.C():
			if !ok {
				if sub.Lagged() {
					es.raw("event: resync\ndata: {}\n\n")
				}
				return streamed{}, nil
			}
			es.send(c, true)
			if name != "" && c.Step == "" && engine.Terminal(c.Status) {
				es.raw("event: end\ndata: {}\n\n")
				return streamed{}, nil
			}
		}
		es.flush()
	}
	return streamed{}, nil
}

// jobState is a job's current state and its steps', job first.
func (s *server) jobState(r *http.Request, ws, name string) ([]engine.Change, error) {
	j, err := s.st.GetJob(r.Context(), ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "job",
			msg: fmt.Sprintf("job %q not found in workspace %s", name, ws)}
	}
	if err != nil {
		return nil, err
	}
	steps, err := s.st.ListSteps(r.Context(), ws, name)
	if err != nil {
		return nil, err
	}
	out := []engine.Change{engine.JobChange(j)}
	for _, st := range steps {
		out = append(out, engine.StepChange(st))
	}
	return out, nil
}

// eventWriter writes Server-Sent Events, keeping the first write error.
type eventWriter struct {
	w   http.ResponseWriter
	err error
}

func (e *eventWriter) raw(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

// send writes c as a "job" or "step" event, with its seq as the id when
// it is a recorded change rather than a snapshot.
func (e *eventWriter) send(c engine.Change, withID bool) {
	b, err := json.Marshal(c)
	if err != nil {
		e.err = err
		return
	}
	kind := "job"
	if c.Step != "" {
		kind = "step"
	}
	if withID {
		e.raw(fmt.Sprintf("id: %d\n", c.Seq))
	}
	e.raw("event: " + kind + "\ndata: " + string(b) + "\n\n")
}

func (e *eventWriter) flush() {
	if e.err == nil {
		e.err = http.NewResponseController(e.w).Flush()
	}
}

// eventSlot takes one of the server's event stream slots; release gives
// it back.
func (s *server) eventSlot() (release func(), err error) {
	select {
	case s.eventSlots <- struct{}{}:
		return func() { <-s.eventSlots }, nil
	default:
		return nil, &httpError{status: http.StatusServiceUnavailable, code: "ServiceUnavailable",
			msg: fmt.Sprintf("%d event streams are open, the most this server keeps; close a studio tab or try again", maxEventStreams)}
	}
}

// startEventStream writes the headers of a Server-Sent Events answer.
func startEventStream(w http.ResponseWriter) {
	guard.Streaming(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
}
