package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// noRedirect is a client that shows redirects rather than following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// studioDo sends one request as the studio's browser would, with the
// cookie when given, and returns the answer with its body read.
func studioDo(t *testing.T, method, u, body string, cookie *http.Cookie, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The studio's sign-in over HTTP with the real server: a page asked for
// without a session is the sign-in page, a wrong token is refused there,
// the right one sets a cookie the API takes from the studio's own pages
// and refuses to another origin, and signing out ends it.
func TestStudioSignInOverHTTP(t *testing.T) {
	t.Parallel()
	fg := runServer(t, nil, "--addr", "127.0.0.1:0", "--token", "s3cret")
	page := map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"}
	resp, body := studioDo(t, "GET", fg.url+"/workspaces/ws/jobs/j1", "", nil, page)
	if resp.StatusCode != 401 || !strings.Contains(body, `action="/login"`) || !strings.Contains(body, `value="/workspaces/ws/jobs/j1"`) {
		t.Fatalf("page without a session: %d\n%s", resp.StatusCode, body)
	}
	form := func(token string) string {
		return url.Values{"token": {token}, "next": {"/workspaces/ws/jobs/j1"}}.Encode()
	}
	formHdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": fg.url, "Sec-Fetch-Site": "same-origin"}
	resp, body = studioDo(t, "POST", fg.url+"/login", form("wrong"), nil, formHdr)
	if resp.StatusCode != 401 || !strings.Contains(body, "Wrong token") || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %d %v\n%s", resp.StatusCode, resp.Cookies(), body)
	}
	resp, _ = studioDo(t, "POST", fg.url+"/login", form("s3cret"), nil, formHdr)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/workspaces/ws/jobs/j1" || len(resp.Cookies()) != 1 {
		t.Fatalf("right token: %d %v", resp.StatusCode, resp.Header)
	}
	cookie := resp.Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || strings.Contains(cookie.Value, "s3cret") {
		t.Errorf("cookie: %+v", cookie)
	}
	resp, body = studioDo(t, "GET", fg.url+"/workspaces/ws/jobs/j1", "", cookie, page)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<html") {
		t.Errorf("deep link with a session: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	same := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": fg.url, "Content-Type": "application/json"}
	create := `{"name": "ws"}`
	if resp, body = studioDo(t, "POST", fg.url+"/api/v1/workspaces", create, cookie, same); resp.StatusCode != 201 {
		t.Errorf("studio creates a workspace: %d %s", resp.StatusCode, body)
	}
	evil := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example", "Content-Type": "application/json"}
	if resp, body = studioDo(t, "POST", fg.url+"/api/v1/workspaces", `{"name": "evil"}`, cookie, evil); resp.StatusCode != 403 {
		t.Errorf("another origin's POST with the cookie: %d %s", resp.StatusCode, body)
	}
	mlflow := fg.url + "/ws/ws/api/2.0/mlflow/experiments/search?max_results=5"
	if resp, body = studioDo(t, "GET", mlflow, "", cookie, map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != 200 {
		t.Errorf("MLflow's API with the cookie: %d %s", resp.StatusCode, body)
	}
	resp, _ = studioDo(t, "POST", fg.url+"/logout", "", cookie, formHdr)
	if resp.StatusCode != 303 {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ = studioDo(t, "GET", fg.url+"/api/v1/workspaces", "", cookie, nil); resp.StatusCode != 401 {
		t.Errorf("signed-out cookie: %d", resp.StatusCode)
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	id, event, data string
}

// readEvents reads events from an event stream until stop says so or the
// stream ends, failing past the deadline.
func readEvents(t *testing.T, body io.Reader, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" || cur.data != "" {
				out = append(out, cur)
				if stop(cur) {
					return out
				}
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
	return out
}

// stepRank orders the states a step goes through.
var stepRank = map[string]int{"NotStarted": 0, "Queued": 1, "Preparing": 2, "Running": 3, "Completed": 4}

// A pipeline submitted from the CLI is followed over Server-Sent Events:
// its job and step changes arrive in order, each step's states move only
// forward, every step completes before the job does, and the job's
// Completed is the last; a job's own stream then starts from its state
// and ends. The Web View URL the CLI prints opens the studio.
func TestStudioEventsFollowAPipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base, _ := e.server()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/workspaces/ws/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	e.write("p.yml", `
type: pipeline
jobs:
  first:
    type: command
    outputs: {o: {type: uri_folder}}
    command: echo one > ${{outputs.o}}/x
  second:
    type: command
    inputs: {i: "${{parent.jobs.first.outputs.o}}"}
    command: cat ${{inputs.i}}/x
`)
	out := e.ok("job", "create", "--file", "p.yml", "-o", "json").out
	var created struct {
		Name     string `json:"name"`
		Services map[string]struct {
			Endpoint string `json:"endpoint"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	type change struct {
		Seq    uint64 `json:"seq"`
		Job    string `json:"job"`
		Step   string `json:"step"`
		Status string `json:"status"`
	}
	var changes []change
	readEvents(t, resp.Body, func(ev sseEvent) bool {
		var c change
		if ev.event != "job" && ev.event != "step" {
			return false
		}
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil || ev.id != fmt.Sprint(c.Seq) {
			t.Fatalf("event %+v: %v", ev, err)
		}
		changes = append(changes, c)
		return c.Job == created.Name && c.Step == "" && c.Status != "Running" && c.Status != "Queued"
	})
	last := changes[len(changes)-1]
	if last.Step != "" || last.Status != "Completed" {
		t.Fatalf("stream ended on %+v; changes %+v", last, changes)
	}
	rank := map[string]int{}
	for i, c := range changes {
		if i > 0 && c.Seq <= changes[i-1].Seq {
			t.Errorf("seq %d after %d", c.Seq, changes[i-1].Seq)
		}
		if c.Step == "" {
			continue
		}
		if r, ok := stepRank[c.Status]; !ok || r < rank[c.Step] {
			t.Errorf("step %s went to %s after rank %d", c.Step, c.Status, rank[c.Step])
		} else {
			rank[c.Step] = r
		}
	}
	if rank["first"] != 4 || rank["second"] != 4 {
		t.Errorf("steps did not both complete before the job: %+v", changes)
	}
	t.Logf("%d changes: %+v", len(changes), changes)

	// A finished job's stream: its state, then the end.
	resp2, err := http.Get(base + "/api/v1/workspaces/ws/events?job=" + created.Name)
	if err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, resp2.Body, func(ev sseEvent) bool { return ev.event == "end" })
	resp2.Body.Close()
	if len(evs) != 4 || evs[0].event != "job" || !strings.Contains(evs[0].data, `"Completed"`) || evs[3].event != "end" {
		t.Errorf("finished job's stream: %+v", evs)
	}
	if code, _ := e.httpJSON("GET", "/api/v1/workspaces/ws/events?job=nope", ""); code != 404 {
		t.Errorf("events of a missing job: %d", code)
	}

	// One step's log alone, as the studio's log panel follows it.
	if r, body := studioDo(t, "GET", base+"/api/v1/workspaces/ws/jobs/"+created.Name+"/stream?step=second", "", nil, nil); r.StatusCode != 200 || body != "one\n" {
		t.Errorf("step log stream: %d %q", r.StatusCode, body)
	}
	if r, _ := studioDo(t, "GET", base+"/api/v1/workspaces/ws/jobs/"+created.Name+"/stream?step=nope", "", nil, nil); r.StatusCode != 404 {
		t.Errorf("stream of a missing step: %d", r.StatusCode)
	}

	web := created.Services["Studio"].Endpoint
	if web != base+"/workspaces/ws/jobs/"+created.Name {
		t.Errorf("Web View %q", web)
	}
	if r, body := studioDo(t, "GET", web, "", nil, map[string]string{"Accept": "text/html"}); r.StatusCode != 200 || !strings.Contains(body, "<html") {
		t.Errorf("Web View answers %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := e.ok("studio", "--no-browser"); !strings.Contains(r.out, "Studio: "+base+"/workspaces/ws") {
		t.Errorf("ciel studio --no-browser: %q", r.out)
	}
}

// viewRun is the link the mlflow client prints when a run ends.
var viewRun = regexp.MustCompile(`View run \S+ at: (\S+)`)

// The link the real mlflow client prints for a run opens the studio, and
// the run's metric history comes back summarised for a chart: the buckets
// cover every point, with exact min and max.
func TestStudioOpensMLflowLinks(t *testing.T) {
	t.Parallel()
	py := venvPython()
	if py == "" {
		t.Skip("no .venv with mlflow and scikit-learn (scripts/pyenv.sh builds it)")
	}
	e := newEnv(t)
	base, _ := e.server()
	uri := base + "/ws/ws"
	script := e.write("log.py", `import mlflow, sys
from mlflow.entities import Metric
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("studio")
with mlflow.start_run() as run:
    c = mlflow.tracking.MlflowClient()
    for chunk in range(5):
        c.log_batch(run.info.run_id, metrics=[Metric("train/loss", float((i * 37) % 101), 1700000000000 + i, i)
                                             for i in range(chunk * 200, chunk * 200 + 200)])
print("RUN", run.info.run_id)
`)
	cmd := exec.Command(py, script, uri)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mlflow: %v\n%s", err, out)
	}
	m := viewRun.FindStringSubmatch(string(out))
	runID := regexp.MustCompile(`RUN (\w+)`).FindStringSubmatch(string(out))
	if m == nil || runID == nil {
		t.Fatalf("mlflow printed no run link:\n%s", out)
	}
	link := m[1]
	if !strings.HasPrefix(link, uri+"/#/experiments/") || !strings.HasSuffix(link, "/runs/"+runID[1]) {
		t.Errorf("link %q is not under the tracking URI %s", link, uri)
	}
	for _, u := range []string{link, uri} {
		r, body := studioDo(t, "GET", u, "", nil, map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "navigate"})
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<html") {
			t.Errorf("GET %s: %d %s", u, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}

	code, hist := e.httpJSON("GET", "/api/v1/workspaces/ws/runs/"+runID[1]+"/metrics/train%2Floss/history?max_points=10", "")
	if code != 200 {
		t.Fatalf("history: %d %v", code, hist)
	}
	buckets, _ := hist["buckets"].([]any)
	if len(buckets) != 10 || hist["points"] != float64(1000) {
		t.Fatalf("history: %d buckets, %v points: %v", len(buckets), hist["points"], hist)
	}
	for i, raw := range buckets {
		b := raw.(map[string]any)
		lo, hi := 1e9, -1e9
		for s := i * 100; s < i*100+100; s++ {
			v := float64((s * 37) % 101)
			lo, hi = min(lo, v), max(hi, v)
		}
		last := float64(((i*100 + 99) * 37) % 101)
		if b["count"] != float64(100) || b["min"] != lo || b["max"] != hi || b["value"] != last || b["step"] != float64(i*100+99) {
			t.Errorf("bucket %d: %v, want min %v max %v last %v", i, b, lo, hi, last)
		}
	}
	if code, _ := e.httpJSON("GET", "/api/v1/workspaces/ws/runs/"+runID[1]+"/metrics/loss/history?max_points=0", ""); code != 400 {
		t.Errorf("max_points=0: %d", code)
	}
}
