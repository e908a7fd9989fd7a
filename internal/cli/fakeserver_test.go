package cli

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/client"
)

// fakeServer is an httptest stand-in for the API, enough to test what the
// CLI sends and prints; it is not the real server (end-to-end tests use
// that).
type fakeServer struct {
	*httptest.Server

	mu       sync.Mutex
	requests []string          // "METHOD path"
	posted   map[string][]byte // path -> last body
	uploads  [][]string        // file names of each upload
	job      client.Job        // what GET job answers
	logLines string            // what stream answers
	outputs  map[string]*bytes.Buffer
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{posted: map[string][]byte{}, outputs: map[string]*bytes.Buffer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/health", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /api/v1/workspaces", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []client.Workspace{{Name: "ml", Location: "eastus"}})
	})
	mux.HandleFunc("POST /api/v1/workspaces/{ws}/uploads", f.upload)
	mux.HandleFunc("POST /api/v1/workspaces/{ws}/{kind}", f.createAsset)
	mux.HandleFunc("POST /api/v1/workspaces/{ws}/jobs", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		f.mu.Lock()
		defer f.mu.Unlock()
		j := f.job
		j.Status = "Queued"
		writeJSON(w, j)
	})
	mux.HandleFunc("GET /api/v1/workspaces/{ws}/jobs", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		var jobs []client.Job
		for i := range 5 {
			jobs = append(jobs, client.Job{Name: fmt.Sprintf("job_%d", i), Type: "command", Status: "Completed"})
		}
		writeJSON(w, jobs)
	})
	mux.HandleFunc("GET /api/v1/workspaces/{ws}/jobs/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.PathValue("name") != f.job.Name {
			writeError(w, http.StatusNotFound, "job "+r.PathValue("name")+" not found")
			return
		}
		writeJSON(w, f.job)
	})
	mux.HandleFunc("GET /api/v1/workspaces/{ws}/jobs/{name}/stream", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		io.WriteString(w, f.logLines)
	})
	mux.HandleFunc("GET /api/v1/workspaces/{ws}/jobs/{name}/outputs/{out}", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		f.mu.Lock()
		defer f.mu.Unlock()
		b, ok := f.outputs[r.PathValue("out")]
		if !ok {
			writeError(w, http.StatusNotFound, "no output "+r.PathValue("out"))
			return
		}
		w.Write(b.Bytes())
	})
	mux.HandleFunc("POST /ws/{ws}/api/2.0/mlflow/experiments/search", func(w http.ResponseWriter, r *http.Request) {
		body := f.record(r)
		var in struct {
			PageToken string `json:"page_token"`
			ViewType  string `json:"view_type"`
		}
		_ = json.Unmarshal(body, &in)
		// Two pages, so the client must follow the token.
		if in.PageToken == "" {
			writeJSON(w, map[string]any{"next_page_token": "p2", "experiments": []map[string]any{
				{"experiment_id": "2", "name": "iris", "lifecycle_stage": "active", "creation_time": 1740830400000, "last_update_time": 1740830460000},
			}})
			return
		}
		exps := []map[string]any{{"experiment_id": "0", "name": "Default", "lifecycle_stage": "active", "creation_time": 1740830300000}}
		if in.ViewType == "ALL" {
			exps = append(exps, map[string]any{"experiment_id": "1", "name": "old", "lifecycle_stage": "deleted"})
		}
		writeJSON(w, map[string]any{"experiments": exps})
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) record(r *http.Request) []byte {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	if r.Method == http.MethodPost {
		f.posted[r.URL.Path] = body
	}
	return body
}

func (f *fakeServer) upload(w http.ResponseWriter, r *http.Request) {
	body := f.record(r)
	var names []string
	tr := tar.NewReader(bytes.NewReader(body))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
	}
	f.mu.Lock()
	f.uploads = append(f.uploads, names)
	f.mu.Unlock()
	sum := sha256.Sum256(body)
	writeJSON(w, client.Upload{Digest: "sha256:" + hex.EncodeToString(sum[:]), Files: len(names)})
}

// createAsset echoes the spec back as an asset; a compute named "bad" is
// refused like the server refuses a bad spec.
func (f *fakeServer) createAsset(w http.ResponseWriter, r *http.Request) {
	body := f.record(r)
	var head struct{ Name, Version string }
	_ = json.Unmarshal(body, &head)
	if head.Name == "bad" {
		writeError(w, http.StatusBadRequest, "compute.yml:2:7: type: expected one of local, amlcompute")
		return
	}
	writeJSON(w, client.Asset{Kind: r.PathValue("kind"), Name: head.Name, Version: head.Version,
		CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Spec: body})
}

func (f *fakeServer) setJob(j client.Job, logs string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.job, f.logLines = j, logs
}

func (f *fakeServer) sawRequest(want string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if r == want {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	var eb client.ErrorBody
	eb.Error.Code, eb.Error.Message = http.StatusText(status), msg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(eb)
}

// setupServer is setup with CIEL_URL pointing at a fresh fake server.
func setupServer(t *testing.T) (*testBundle, *fakeServer) {
	t.Helper()
	tb := setup(t)
	f := newFakeServer(t)
	tb.env["CIEL_URL"] = f.URL
	return tb, f
}
