package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The studio's live endpoint panels read two streams of the real server: a
// deployment's log followed as its worker writes it, and the endpoint's
// metrics, one sample a second computed from the counters /metrics
// exports. Both see requests scored after they opened.
func TestStudioEndpointStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("ep.yml", "name: live-svc\nauth_mode: key\n")
	e.write("model.pkl", "not really a model")
	e.write("src/score.py", "import json\ndef init():\n    print('worker up', flush=True)\ndef run(raw):\n    print('scoring', json.loads(raw)['n'], flush=True)\n    return {'ok': True}\n")
	e.write("blue.yml", "name: blue\nendpoint_name: live-svc\nmodel: ./model.pkl\ncode_configuration:\n  code: ./src\n  scoring_script: score.py\n")
	e.ok("online-endpoint", "create", "--file", "ep.yml")
	e.ok("online-deployment", "create", "--file", "blue.yml", "--all-traffic")
	base, _ := e.server()
	api := base + "/api/v1/workspaces/ws/online-endpoints/live-svc"
	score := func(n int) {
		t.Helper()
		resp, err := http.Post(api+"/score", "application/json", strings.NewReader(`{"n": `+jsonInt(n)+`}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("score: %d %s", resp.StatusCode, b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := func(path string) *bufio.Scanner {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", api+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return bufio.NewScanner(resp.Body)
	}
	until := func(sc *bufio.Scanner, what string, match func(string) bool) {
		t.Helper()
		for sc.Scan() {
			if match(sc.Text()) {
				return
			}
		}
		t.Fatalf("stream ended before %s: %v", what, sc.Err())
	}

	// The log, followed.
	{
		sc := open("/deployments/blue/logs?follow=true")
		// The lines already written come first: the worker started.
		until(sc, "the worker's start", func(l string) bool { return strings.Contains(l, "worker up") })
		score(41)
		until(sc, "the line of a request scored after the stream opened", func(l string) bool { return strings.HasSuffix(l, "scoring 41") })
	}

	// The metrics, a sample a second.
	{
		sc := open("/metrics/stream")
		for i := range 5 {
			score(i)
		}
		until(sc, "a sample with blue's requests", func(l string) bool {
			data, ok := strings.CutPrefix(l, "data: ")
			if !ok {
				return false
			}
			var s struct {
				Deployments []struct {
					Deployment string   `json:"deployment"`
					RPS        float64  `json:"requests_per_second"`
					P50        *float64 `json:"p50_ms"`
					Errors     float64  `json:"error_rate"`
				} `json:"deployments"`
			}
			if err := json.Unmarshal([]byte(data), &s); err != nil {
				t.Fatalf("sample %q: %v", data, err)
			}
			for _, d := range s.Deployments {
				if d.Deployment == "blue" && d.RPS > 0 {
					if d.P50 == nil || *d.P50 <= 0 || d.Errors != 0 {
						t.Fatalf("sample %s: want a latency and no errors", data)
					}
					return true
				}
			}
			return false
		})
		// The snapshot counts every request the deployment answered.
		code, m := e.httpJSON("GET", "/api/v1/workspaces/ws/online-endpoints/live-svc/metrics", "")
		if code != 200 {
			t.Fatalf("metrics: %d %v", code, m)
		}
		var total float64
		for _, d := range m["deployments"].([]any) {
			if d := d.(map[string]any); d["deployment"] == "blue" {
				total = d["requests_total"].(float64)
			}
		}
		if total != 6 {
			t.Errorf("blue answered %v requests, want 6: %v", total, m)
		}
	}
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
