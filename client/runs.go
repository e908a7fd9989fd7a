package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Experiment tracking, read through the workspace's MLflow REST API
// (/ws/{ws}/api/2.0/mlflow/...), the same API the mlflow client speaks.

// Run is an MLflow run with its latest metrics, params and tags.
type Run struct {
	RunID          string             `json:"run_id"`
	RunName        string             `json:"run_name,omitempty"`
	ExperimentID   string             `json:"experiment_id"`
	Status         string             `json:"status"`
	LifecycleStage string             `json:"lifecycle_stage,omitempty"`
	StartTime      *time.Time         `json:"start_time,omitempty"`
	EndTime        *time.Time         `json:"end_time,omitempty"`
	ArtifactURI    string             `json:"artifact_uri,omitempty"`
	Metrics        map[string]float64 `json:"metrics,omitempty"`
	Params         map[string]string  `json:"params,omitempty"`
	Tags           map[string]string  `json:"tags,omitempty"`
}

// Experiment is an MLflow experiment.
type Experiment struct {
	ExperimentID     string     `json:"experiment_id"`
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location,omitempty"`
	LifecycleStage   string     `json:"lifecycle_stage,omitempty"`
	CreationTime     *time.Time `json:"creation_time,omitempty"`
	LastUpdateTime   *time.Time `json:"last_update_time,omitempty"`
}

// RunSearch selects runs for SearchRuns.
type RunSearch struct {
	// ExperimentIDs are the experiments searched.
	ExperimentIDs []string
	// Filter is an MLflow search filter, e.g. "metrics.rmse < 0.8".
	Filter string
	// OrderBy are MLflow order_by items, e.g. "metrics.rmse ASC".
	OrderBy []string
	// MaxResults bounds the answer; 0 means every run.
	MaxResults int
}

// TrackingURI returns the MLflow tracking URI of workspace ws.
func (c *Client) TrackingURI(ws string) string {
	return c.base + "/ws/" + url.PathEscape(ws)
}

// GetExperimentByName returns the experiment called name in ws.
func (c *Client) GetExperimentByName(ctx context.Context, ws, name string) (Experiment, error) {
	var out struct {
		Experiment wireExperiment `json:"experiment"`
	}
	err := c.mlflow(ctx, ws, http.MethodGet, "experiments/get-by-name?experiment_name="+url.QueryEscape(name), nil, &out)
	return out.Experiment.experiment(), err
}

// wireExperiment is an experiment as MLflow's REST API sends it, with its
// times in milliseconds since the epoch.
type wireExperiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location"`
	LifecycleStage   string `json:"lifecycle_stage"`
	CreationTime     int64  `json:"creation_time"`
	LastUpdateTime   int64  `json:"last_update_time"`
}

func (e wireExperiment) experiment() Experiment {
	return Experiment{ExperimentID: e.ExperimentID, Name: e.Name, ArtifactLocation: e.ArtifactLocation,
		LifecycleStage: e.LifecycleStage, CreationTime: millis(e.CreationTime), LastUpdateTime: millis(e.LastUpdateTime)}
}

// ListExperiments returns the experiments of ws, newest first, following
// pages; deleted ones only with includeDeleted.
func (c *Client) ListExperiments(ctx context.Context, ws string, includeDeleted bool) ([]Experiment, error) {
	view := "ACTIVE_ONLY"
	if includeDeleted {
		view = "ALL"
	}
	var exps []Experiment
	token := ""
	for {
		in := map[string]any{"max_results": 1000, "page_token": token, "view_type": view,
			"order_by": []string{"creation_time DESC", "experiment_id DESC"}}
		var out struct {
			Experiments   []wireExperiment `json:"experiments"`
			NextPageToken string           `json:"next_page_token"`
		}
		if err := c.mlflow(ctx, ws, http.MethodPost, "experiments/search", in, &out); err != nil {
			return nil, err
		}
		for _, e := range out.Experiments {
			exps = append(exps, e.experiment())
		}
		if token = out.NextPageToken; token == "" {
			return exps, nil
		}
	}
}

// GetRun returns a run of ws.
func (c *Client) GetRun(ctx context.Context, ws, runID string) (Run, error) {
	var out struct {
		Run mlflowRun `json:"run"`
	}
	if err := c.mlflow(ctx, ws, http.MethodGet, "runs/get?run_id="+url.QueryEscape(runID), nil, &out); err != nil {
		return Run{}, err
	}
	return out.Run.run(), nil
}

// SearchRuns returns the runs of ws that q selects, following pages.
func (c *Client) SearchRuns(ctx context.Context, ws string, q RunSearch) ([]Run, error) {
	var runs []Run
	token := ""
	for {
		page := 1000
		if q.MaxResults > 0 {
			page = min(page, q.MaxResults-len(runs))
		}
		in := map[string]any{"experiment_ids": q.ExperimentIDs, "filter": q.Filter, "order_by": q.OrderBy,
			"max_results": page, "page_token": token}
		var out struct {
			Runs          []mlflowRun `json:"runs"`
			NextPageToken string      `json:"next_page_token"`
		}
		if err := c.mlflow(ctx, ws, http.MethodPost, "runs/search", in, &out); err != nil {
			return nil, err
		}
		for _, r := range out.Runs {
			runs = append(runs, r.run())
		}
		token = out.NextPageToken
		if token == "" || (q.MaxResults > 0 && len(runs) >= q.MaxResults) {
			return runs, nil
		}
	}
}

// mlflow calls the MLflow API of ws; an error answer becomes an *APIError
// whose Code is MLflow's error_code.
func (c *Client) mlflow(ctx context.Context, ws, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.TrackingURI(ws) + "/api/2.0/mlflow/" + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("reach ciel server at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Status: resp.StatusCode}
		var eb struct {
			Code    string `json:"error_code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &eb) == nil && eb.Message != "" {
			ae.Code, ae.Message = eb.Code, eb.Message
		} else {
			ae.Message = strings.TrimSpace(string(raw))
		}
		return ae
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// mlflowRun is a run as MLflow's API writes it.
type mlflowRun struct {
	Info struct {
		RunID          string `json:"run_id"`
		RunName        string `json:"run_name"`
		ExperimentID   string `json:"experiment_id"`
		Status         string `json:"status"`
		LifecycleStage string `json:"lifecycle_stage"`
		StartTime      int64  `json:"start_time"`
		EndTime        int64  `json:"end_time"`
		ArtifactURI    string `json:"artifact_uri"`
	} `json:"info"`
	Data struct {
		Metrics []struct {
			Key   string      `json:"key"`
			Value mlflowFloat `json:"value"`
		} `json:"metrics"`
		Params []keyValue `json:"params"`
		Tags   []keyValue `json:"tags"`
	} `json:"data"`
}

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// mlflowFloat reads a number or protobuf's "NaN", "Infinity", "-Infinity".
type mlflowFloat float64

// UnmarshalJSON reads a JSON number or one of the special strings.
func (f *mlflowFloat) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	switch s {
	case "NaN":
		*f = mlflowFloat(math.NaN())
	case "Infinity":
		*f = mlflowFloat(math.Inf(1))
	case "-Infinity":
		*f = mlflowFloat(math.Inf(-1))
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("metric value %s: %w", b, err)
		}
		*f = mlflowFloat(v)
	}
	return nil
}

// millis turns unix milliseconds into a time; 0 is nil.
func millis(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

func (m mlflowRun) run() Run {
	r := Run{RunID: m.Info.RunID, RunName: m.Info.RunName, ExperimentID: m.Info.ExperimentID, Status: m.Info.Status,
		LifecycleStage: m.Info.LifecycleStage, StartTime: millis(m.Info.StartTime), EndTime: millis(m.Info.EndTime),
		ArtifactURI: m.Info.ArtifactURI}
	for _, mt := range m.Data.Metrics {
		v := float64(mt.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue // JSON cannot carry them; the MLflow API can
		}
		if r.Metrics == nil {
			r.Metrics = map[string]float64{}
		}
		r.Metrics[mt.Key] = v
	}
	r.Params = kvMap(m.Data.Params)
	r.Tags = kvMap(m.Data.Tags)
	return r
}

func kvMap(kvs []keyValue) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[kv.Key] = kv.Value
	}
	return out
}
