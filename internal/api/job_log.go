package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/store"
)

// jobLog answers a step's log as it is now (?step=, default main), from
// byte ?offset= (default 0), at most ?limit= bytes (default: all): from
// this server's disk, the blob store or the server running the step
// (engine.ReadStepLog), in pieces of engine.MaxLogChunk.
func (s *server) jobLog(w http.ResponseWriter, r *http.Request) (any, error) {
	guard.Streaming(w)
	j, err := s.job(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	step := q.Get("step")
	if step == "" {
		step = "main"
	}
	if err := checkStep(step); err != nil {
		return nil, err
	}
	offset, err := byteCount(q, "offset")
	if err != nil {
		return nil, err
	}
	limit, err := byteCount(q, "limit")
	if err != nil {
		return nil, err
	}
	noLog := &httpError{status: http.StatusNotFound, code: "NotFound", target: "step", msg: fmt.Sprintf("no log for step %q of job %s (yet)", step, j.Name)}
	steps, err := s.st.ListSteps(r.Context(), j.Workspace, j.Name)
	if err != nil {
		return nil, err
	}
	// A step the store does not know may still have a log file here.
	st := store.Step{Workspace: j.Workspace, Job: j.Name, Name: step}
	for _, x := range steps {
		if x.Name == step {
			st = x
		}
	}
	remote := s.replicas.remote(r)
	for written := int64(0); limit == 0 || written < limit; {
		n := int64(engine.MaxLogChunk)
		if limit > 0 {
			n = min(n, limit-written)
		}
		b, err := s.eng.ReadStepLog(r.Context(), j, st, offset+written, n, remote)
		if written == 0 {
			switch {
			case errors.Is(err, store.ErrNotFound):
				return nil, noLog
			case err != nil:
				return nil, readErr(fmt.Sprintf("log of step %q of job %s", step, j.Name), err)
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
		}
		if err != nil {
			s.log.Warn("read a step log", "job", j.Name, "step", step, "err", err)
			break
		}
		if _, err := w.Write(b); err != nil {
			break
		}
		written += int64(len(b))
		if int64(len(b)) < n {
			break
		}
	}
	return streamed{}, nil
}

// byteCount reads query parameter name as a count of bytes (0 when
// absent).
func byteCount(q map[string][]string, name string) (int64, error) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest(name, "%s %q: expected a number of bytes, 0 or more", name, v)
	}
	return n, nil
}
