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
	e := &activity.Env{Workspace: ex.run.Workspace, Log: ex.r.cfg.Logger}
	if ex.r.cfg.Env != nil {
		if got := ex.r.cfg.Env(ex.run.Workspace); got != nil {
			c := *got
			e = &c
		}
	}
	if e.LinkedServices == nil {
		e.LinkedServices = ex.resolveLinkedService
	}
	return e
}

// runJob runs a `ciel` activity (or Azure's AzureMLExecutePipeline): it
// submits an Azure ML job (jobFile, job, or a copy of jobName /
// mlPipelineId) with its inputs set from parameters
// (mlPipelineParameters), waits for it, and returns the job's name,
// status, outputs and studio URL; cancelling the activity cancels the job.
// With registerData it then registers a data asset version (alone, it only
// registers). See package mljobs for what each property holds.
func runJob(ctx context.Context, c *call) (any, error) {
	jobs := c.ex.r.cfg.Jobs
	if jobs == nil {
		return nil, userError("JobsUnavailable", "activity %s: this server runs no Azure ML jobs", c.act.Name)
	}
	origin := Origin{Factory: c.ex.r.cfg.Factory, PipelineName: c.ex.run.PipelineName, FactoryRunID: c.ex.run.RunID,
		ActivityName: c.act.Name, ActivityRunID: c.runID}
	req := jobRequest(c.props, origin)
	reg, hasReg := c.props["registerData"]
	hasJob := req.JobFile != "" || req.Job != nil || req.JobName != "" || req.PipelineID != ""
	if !hasJob && !hasReg {
		return nil, userError("InvalidJob", "activity %s names no job: set jobFile (azureml://datastores/<ds>/paths/<job>.yml), job (an inline job), jobName / mlPipelineId (an existing job to copy), or registerData", c.act.Name)
	}
	out := map[string]any{}
	ws := c.ex.run.Workspace
	if hasJob {
		if err := submitAndWait(ctx, c, req, out); err != nil {
			return out, err
		}
	}
	if hasReg {
		dr, err := dataRequest(reg, origin)
		if err != nil {
			return out, userError("InvalidRegisterData", "activity %s: registerData: %v", c.act.Name, err)
		}
		res, err := jobs.RegisterData(ctx, ws, dr)
		if err != nil {
			return out, userError("RegisterDataFailed", "activity %s: register data %s: %v", c.act.Name, dr.Name, err)
		}
		out["registeredData"] = res
	}
	return out, nil
}

// jobRequest reads the job a `ciel` activity's typeProperties name, with
// Azure's AzureMLExecutePipeline names taken too.
func jobRequest(props map[string]any, origin Origin) JobRequest {
	req := JobRequest{Origin: origin}
	req.JobFile, _ = props["jobFile"].(string)
	req.Job, _ = props["job"].(map[string]any)
	req.JobName, _ = props["jobName"].(string)
	req.PipelineID, _ = props["mlPipelineId"].(string)
	if req.PipelineID == "" {
		req.PipelineID, _ = props["mlPipelineEndpointId"].(string)
	}
	req.ExperimentName, _ = props["experimentName"].(string)
	req.Parameters, _ = props["parameters"].(map[string]any)
	if req.Parameters == nil {
		req.Parameters, _ = props["mlPipelineParameters"].(map[string]any)
	}
	return req
}

// dataRequest reads registerData: {"name", "version"?, "type"?, "path",
// "description"?, "tags"?}.
func dataRequest(v any, origin Origin) (DataRequest, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return DataRequest{}, fmt.Errorf("expected an object {\"name\", \"version\", \"type\", \"path\"}, got %T", v)
	}
	dr := DataRequest{Origin: origin}
	for k, dst := range map[string]*string{"name": &dr.Name, "type": &dr.Type, "path": &dr.Path, "description": &dr.Description} {
		if x, ok := m[k]; ok && x != nil {
			s, ok := x.(string)
			if !ok {
				return dr, fmt.Errorf("%s: expected a string, got %T", k, x)
			}
			*dst = s
		}
	}
	switch x := m["version"].(type) {
	case nil:
	case string:
		dr.Version = x
	case int64, float64, json.Number:
		dr.Version = fmt.Sprint(x)
	default:
		return dr, fmt.Errorf("version: expected a string, got %T", x)
	}
	if tags, ok := m["tags"].(map[string]any); ok {
		dr.Tags = map[string]string{}
		for k, x := range tags {
			dr.Tags[k] = fmt.Sprint(x)
		}
	}
	if dr.Name == "" || dr.Path == "" {
		return dr, fmt.Errorf("name and path are required")
	}
	return dr, nil
}

// submitAndWait submits req, waits for the job and fills out with its
// name, status, outputs and studio URL.
func submitAndWait(ctx context.Context, c *call, req JobRequest, out map[string]any) error {
	jobs, ws := c.ex.r.cfg.Jobs, c.ex.run.Workspace
	name, err := jobs.Submit(ctx, ws, req)
	if err != nil {
		return userError("JobSubmitFailed", "submit the job of %s: %v", c.act.Name, err)
	}
	out["jobName"] = name
	res, err := jobs.Wait(ctx, ws, name)
	if ctx.Err() != nil {
		if cerr := jobs.Cancel(context.WithoutCancel(ctx), ws, name); cerr != nil {
			c.ex.r.cfg.Logger.Warn("cancel job", "job", name, "err", cerr)
		}
		return ctx.Err()
	}
	if err != nil {
		return userError("JobFailed", "job %s: %v", name, err)
	}
	out["status"], out["outputs"] = res.Status, res.Outputs
	if res.StudioURL != "" {
		out["studioUrl"] = res.StudioURL
	}
	if res.Status != "Completed" {
		return userError("JobFailed", "job %s ended %s: %s", name, res.Status, res.Error)
	}
	return nil
}
