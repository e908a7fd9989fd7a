package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/activity"
)

// maxDepth bounds ExecutePipeline nesting, so a pipeline that runs
// itself ends.
const maxDepth = 16

// executePipeline starts the pipeline an ExecutePipeline activity names,
// as a child run invoked by this one, and with waitOnCompletion waits for
// it: the activity fails when the child does, and cancelling the activity
// cancels the child.
func (ex *execution) executePipeline(ctx context.Context, c *call) (any, error) {
	ref, _ := c.props["pipeline"].(map[string]any)
	name, _ := ref["referenceName"].(string)
	if name == "" {
		return nil, userError("InvalidPipelineReference", "ExecutePipeline %s names no pipeline (pipeline.referenceName)", c.act.Name)
	}
	params, _ := c.props["parameters"].(map[string]any)
	wait, _ := c.props["waitOnCompletion"].(bool)
	if ex.depth >= maxDepth {
		return nil, userError("ExecutePipelineTooDeep", "ExecutePipeline %s: pipelines nest more than %d deep", c.act.Name, maxDepth)
	}
	req := RunRequest{
		Workspace: ex.run.Workspace, Pipeline: name, Parameters: params, Trigger: ex.run.Trigger,
		InvokedBy: InvokedBy{Name: ex.run.PipelineName, ID: ex.run.RunID, InvokedByType: InvokedPipeline},
	}
	link := runLink{parent: ex, parentRunID: ex.run.RunID}
	if wait {
		link.parentCtx = ctx
	}
	child, err := ex.r.prepare(ctx, req, link)
	if err != nil {
		var inv *InvalidError
		if errors.As(err, &inv) {
			return nil, userError("InvalidPipelineParameters", "%s", inv.Msg)
		}
		return nil, userError("PipelineNotFound", "%v", err)
	}
	started, err := ex.r.launch(ctx, child)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"pipelineName": name, "pipelineRunId": started.RunID}
	if !wait {
		return out, nil
	}
	<-child.done
	final := child.snapshot()
	if final.ReturnValue != nil {
		out["pipelineReturnValue"] = final.ReturnValue
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if final.Status != StatusSucceeded {
		return out, userError("ExecutePipelineFailed", "pipeline %s run %s ended %s: %s", name, final.RunID, final.Status, final.Message)
	}
	return out, nil
}

// maxWebBody bounds a WebActivity's response, as ADF's 4 MB limit does.
const maxWebBody = 4 << 20

// runWeb calls the URL of a WebActivity with its method, headers and
// body, through the workspace's HTTP client, and returns the response
// body: a JSON object as it is, anything else as {"Response": text}, with
// the status code and headers beside it.
func runWeb(ctx context.Context, c *call) (any, error) {
	timeout := time.Minute
	if s, ok := c.props["httpRequestTimeout"].(string); ok {
		d, err := ParseTimeSpan(s)
		if err != nil {
			return nil, userError("InvalidTimeout", "httpRequestTimeout: %v", err)
		}
		timeout = d
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := webRequest(rctx, c.props)
	if err != nil {
		return nil, err
	}
	url := req.URL.String()
	client := http.DefaultClient
	if env := c.ex.env(); env.HTTP != nil {
		client = env.HTTP
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, userError("2108", "Error calling the endpoint '%s': %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxWebBody+1))
	if err != nil {
		return nil, userError("2108", "Error reading the response of '%s': %v", url, err)
	}
	if len(raw) > maxWebBody {
		return nil, userError("2108", "The response of '%s' is over the limit of %d bytes", url, maxWebBody)
	}
	out := webOutput(resp, raw)
	if resp.StatusCode >= 400 {
		return out, userError("2108", "Error calling the endpoint '%s'. Response status code: %d. Response: %s", url, resp.StatusCode, truncate(string(raw), 512))
	}
	return out, nil
}

// webRequest builds a WebActivity's request from its typeProperties.
func webRequest(ctx context.Context, props map[string]any) (*http.Request, error) {
	url, _ := props["url"].(string)
	method := http.MethodGet
	if m, ok := props["method"].(string); ok {
		method = strings.ToUpper(m)
	}
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead:
	default:
		return nil, userError("InvalidMethod", "WebActivity method %q: want GET, POST, PUT, DELETE, PATCH or HEAD", method)
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, userError("InvalidUrl", "WebActivity url %q: want an http or https URL", url)
	}
	var body io.Reader
	if b, ok := props["body"]; ok && b != nil && method != http.MethodGet {
		if s, ok := b.(string); ok {
			body = strings.NewReader(s)
		} else {
			j, err := json.Marshal(b)
			if err != nil {
				return nil, err
			}
			body = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, userError("InvalidUrl", "WebActivity url %q: %v", url, err)
	}
	if h, ok := props["headers"].(map[string]any); ok {
		for k, v := range h {
			req.Header.Set(k, fmt.Sprint(v))
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// webOutput is a WebActivity's output: a JSON object answer as it is,
// anything else under "Response", with the status code and headers.
func webOutput(resp *http.Response, raw []byte) map[string]any {
	out := map[string]any{}
	if v, err := decodeJSON(raw); err == nil {
		if m, ok := v.(map[string]any); ok {
			out = m
		} else if v != nil {
			out["Response"] = v
		}
	} else {
		out["Response"] = string(raw)
	}
	headers := map[string]any{}
	for k := range resp.Header {
		headers[k] = resp.Header.Get(k)
	}
	out["ADFWebActivityResponseHeaders"] = headers
	out["statusCode"] = int64(resp.StatusCode)
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// env is the activity environment of the run's workspace.
func (ex *execution) env() *activity.Env {
	if ex.r.cfg.Env != nil {
		if e := ex.r.cfg.Env(ex.run.Workspace); e != nil {
			return e
		}
	}
	return &activity.Env{Workspace: ex.run.Workspace, Log: ex.r.cfg.Logger}
}

// runJob runs a `ciel` activity (or Azure's AzureMLExecutePipeline): it
// submits an Azure ML job file (jobFile) or inline job (job) with its
// inputs set from parameters (mlPipelineParameters), waits for it, and
// returns the job's name, status and outputs. Cancelling the activity
// cancels the job.
func runJob(ctx context.Context, c *call) (any, error) {
	jobs := c.ex.r.cfg.Jobs
	if jobs == nil {
		return nil, userError("JobsUnavailable", "activity %s: this server runs no Azure ML jobs", c.act.Name)
	}
	req := JobRequest{FactoryRunID: c.ex.run.RunID, ActivityName: c.act.Name, ActivityRunID: c.runID}
	req.JobFile, _ = c.props["jobFile"].(string)
	req.Job, _ = c.props["job"].(map[string]any)
	req.PipelineID, _ = c.props["mlPipelineId"].(string)
	if req.PipelineID == "" {
		req.PipelineID, _ = c.props["mlPipelineEndpointId"].(string)
	}
	req.ExperimentName, _ = c.props["experimentName"].(string)
	req.Parameters, _ = c.props["parameters"].(map[string]any)
	if req.Parameters == nil {
		req.Parameters, _ = c.props["mlPipelineParameters"].(map[string]any)
	}
	if req.JobFile == "" && req.Job == nil && req.PipelineID == "" {
		return nil, userError("InvalidJob", "activity %s names no job: set jobFile (a job YAML), job, or mlPipelineId", c.act.Name)
	}
	ws := c.ex.run.Workspace
	name, err := jobs.Submit(ctx, ws, req)
	if err != nil {
		return nil, userError("JobSubmitFailed", "submit the job of %s: %v", c.act.Name, err)
	}
	res, err := jobs.Wait(ctx, ws, name)
	if ctx.Err() != nil {
		if cerr := jobs.Cancel(context.WithoutCancel(ctx), ws, name); cerr != nil {
			c.ex.r.cfg.Logger.Warn("cancel job", "job", name, "err", cerr)
		}
		return map[string]any{"jobName": name}, ctx.Err()
	}
	if err != nil {
		return map[string]any{"jobName": name}, userError("JobFailed", "job %s: %v", name, err)
	}
	out := map[string]any{"jobName": name, "status": res.Status, "outputs": res.Outputs}
	if res.Status != "Completed" {
		return out, userError("JobFailed", "job %s ended %s: %s", name, res.Status, res.Error)
	}
	return out, nil
}
