package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Data Factory resource kinds, as the API's path segments name them (ADF
// REST's own).
const (
	FactoryLinkedServices = "linkedservices"
	FactoryDatasets       = "datasets"
	FactoryPipelines      = "pipelines"
	FactoryTriggers       = "triggers"
)

// FactoryResource is a linked service, dataset, pipeline or trigger as Data
// Factory's REST API answers it: the name, the properties as written, an
// etag that changes with every write. A trigger's properties carry its
// runtimeState (Started or Stopped).
type FactoryResource struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Properties json.RawMessage `json:"properties"`
	ETag       string          `json:"etag"`
	SystemData SystemData      `json:"systemData"`
}

// SystemData is when a resource was created and last changed, as ARM
// names them.
type SystemData struct {
	CreatedAt      time.Time `json:"createdAt"`
	LastModifiedAt time.Time `json:"lastModifiedAt"`
}

// FactoryList is a list answer, as ADF's REST API shapes it.
type FactoryList[T any] struct {
	Value             []T     `json:"value"`
	ContinuationToken *string `json:"continuationToken"`
}

// FactoryDocument is a resource to create: ADF's {"name", "properties"}.
type FactoryDocument struct {
	Name       string          `json:"name,omitempty"`
	Properties json.RawMessage `json:"properties"`
}

// FactoryPipelineRun is a pipeline run with ADF's REST field names.
type FactoryPipelineRun struct {
	RunID            string            `json:"runId"`
	RunGroupID       string            `json:"runGroupId,omitempty"`
	IsLatest         bool              `json:"isLatest"`
	PipelineName     string            `json:"pipelineName"`
	Parameters       map[string]any    `json:"parameters,omitempty"`
	FactoryInvokedBy FactoryInvokedBy  `json:"invokedBy"`
	RunStart         *time.Time        `json:"runStart,omitempty"`
	RunEnd           *time.Time        `json:"runEnd,omitempty"`
	DurationInMs     *int64            `json:"durationInMs,omitempty"`
	Status           string            `json:"status"`
	Message          string            `json:"message"`
	LastUpdated      time.Time         `json:"lastUpdated"`
	RunDimensions    map[string]string `json:"runDimensions,omitempty"`
	// ReferencePipelineRunID is the run a rerun reran; RerunMode is
	// Full, FromFailure or FromActivity.
	ReferencePipelineRunID string `json:"referencePipelineRunId,omitempty"`
	RerunMode              string `json:"rerunMode,omitempty"`
}

// FactoryInvokedBy is who started a run.
type FactoryInvokedBy struct {
	Name          string `json:"name"`
	ID            string `json:"id"`
	InvokedByType string `json:"invokedByType"`
	PipelineName  string `json:"pipelineName,omitempty"`
	PipelineRunID string `json:"pipelineRunId,omitempty"`
}

// FactoryActivityRun is one activity's run with ADF's REST field names.
type FactoryActivityRun struct {
	ActivityRunID    string                `json:"activityRunId"`
	ActivityName     string                `json:"activityName"`
	ActivityType     string                `json:"activityType"`
	PipelineName     string                `json:"pipelineName"`
	PipelineRunID    string                `json:"pipelineRunId"`
	Status           string                `json:"status"`
	ActivityRunStart *time.Time            `json:"activityRunStart,omitempty"`
	ActivityRunEnd   *time.Time            `json:"activityRunEnd,omitempty"`
	DurationInMs     *int64                `json:"durationInMs,omitempty"`
	Input            json.RawMessage       `json:"input,omitempty"`
	Output           json.RawMessage       `json:"output,omitempty"`
	Error            *FactoryActivityError `json:"error,omitempty"`
	RetryAttempt     *int                  `json:"retryAttempt,omitempty"`
}

// FactoryActivityError is why an activity failed.
type FactoryActivityError struct {
	ErrorCode   string `json:"errorCode"`
	Message     string `json:"message"`
	FailureType string `json:"failureType"`
	Target      string `json:"target"`
}

// FactoryTriggerRun is one firing of a trigger with ADF's REST field names.
type FactoryTriggerRun struct {
	TriggerRunID        string            `json:"triggerRunId"`
	TriggerName         string            `json:"triggerName"`
	TriggerType         string            `json:"triggerType"`
	TriggerRunTimestamp time.Time         `json:"triggerRunTimestamp"`
	Status              string            `json:"status"`
	Message             string            `json:"message,omitempty"`
	Properties          map[string]string `json:"properties,omitempty"`
	TriggeredPipelines  map[string]string `json:"triggeredPipelines,omitempty"`
	RunDimension        map[string]string `json:"runDimension,omitempty"`
	DependencyStatus    map[string]any    `json:"dependencyStatus,omitempty"`
}

// FactoryTriggerWindow is one window of a tumbling window trigger.
type FactoryTriggerWindow struct {
	TriggerName     string    `json:"triggerName"`
	WindowStartTime time.Time `json:"windowStartTime"`
	WindowEndTime   time.Time `json:"windowEndTime"`
	Status          string    `json:"status"` // Waiting, Running, Succeeded, Failed
	Attempt         int       `json:"attempt"`
	TriggerRunID    string    `json:"triggerRunId,omitempty"`
	RunID           string    `json:"runId,omitempty"`
	Message         string    `json:"message,omitempty"`
}

// FactoryRunFilter is ADF's RunFilterParameters: runs updated in
// [LastUpdatedAfter, LastUpdatedBefore), narrowed by filters.
type FactoryRunFilter struct {
	LastUpdatedAfter  *time.Time              `json:"lastUpdatedAfter,omitempty"`
	LastUpdatedBefore *time.Time              `json:"lastUpdatedBefore,omitempty"`
	Filters           []FactoryRunQueryFilter `json:"filters,omitempty"`
	ContinuationToken string                  `json:"continuationToken,omitempty"`
}

// FactoryRunQueryFilter narrows a query: operand PipelineName, Status,
// TriggerName, ActivityName or ActivityType; operator Equals.
type FactoryRunQueryFilter struct {
	Operand  string   `json:"operand"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

// FactoryRerunOptions says where a rerun starts.
type FactoryRerunOptions struct {
	StartFromFailure  bool   `json:"startFromFailure,omitempty"`
	StartActivityName string `json:"startActivityName,omitempty"`
}

// FactorySecret is what is shown of a secret: never its value.
type FactorySecret struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// TemplateImport is an ARM template of a factory with its parameter
// values (a parameters file's content).
type TemplateImport struct {
	Template   json.RawMessage `json:"template"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
	// TemplateFile and ParametersFile name the files in errors.
	TemplateFile   string `json:"templateFile,omitempty"`
	ParametersFile string `json:"parametersFile,omitempty"`
}

func factoryPath(ws string, parts ...string) string {
	return wsPath(ws, append([]string{"datafactory"}, parts...)...)
}

// PutFactoryResource creates or replaces a resource of kind (one of the
// Factory* kinds); ifMatch, when set, is the etag it must still have.
func (c *Client) PutFactoryResource(ctx context.Context, ws, kind, name string, doc FactoryDocument, ifMatch string) (FactoryResource, error) {
	var out FactoryResource
	body, err := json.Marshal(doc)
	if err != nil {
		return out, err
	}
	return c.PutFactoryFile(ctx, ws, kind, name, "", body, ifMatch)
}

// PutFactoryFile creates or replaces a resource from a file's bytes as
// they are, {"name": ..., "properties": {...}}: the server's errors name
// file (when not "") at the file's own lines and columns.
func (c *Client) PutFactoryFile(ctx context.Context, ws, kind, name, file string, data []byte, ifMatch string) (FactoryResource, error) {
	var out FactoryResource
	hdr := http.Header{"Content-Type": {"application/json"}}
	if ifMatch != "" {
		hdr.Set("If-Match", ifMatch)
	}
	p := factoryPath(ws, kind, name)
	if file != "" {
		p += "?" + url.Values{"file": {file}}.Encode()
	}
	err := c.doWith(ctx, http.MethodPut, p, bytes.NewReader(data), hdr, &out)
	return out, err
}

// GetFactoryResource returns a resource.
func (c *Client) GetFactoryResource(ctx context.Context, ws, kind, name string) (FactoryResource, error) {
	var out FactoryResource
	err := c.doJSON(ctx, http.MethodGet, factoryPath(ws, kind, name), nil, &out)
	return out, err
}

// ListFactoryResources lists a workspace's resources of kind by name.
func (c *Client) ListFactoryResources(ctx context.Context, ws, kind string) ([]FactoryResource, error) {
	var out FactoryList[FactoryResource]
	err := c.doJSON(ctx, http.MethodGet, factoryPath(ws, kind), nil, &out)
	return out.Value, err
}

// DeleteFactoryResource deletes a resource nothing references.
func (c *Client) DeleteFactoryResource(ctx context.Context, ws, kind, name string) error {
	return c.doJSON(ctx, http.MethodDelete, factoryPath(ws, kind, name), nil, nil)
}

// CreateFactoryPipelineRun starts a run of a pipeline and returns its run ID.
func (c *Client) CreateFactoryPipelineRun(ctx context.Context, ws, pipeline string, params map[string]any) (string, error) {
	if params == nil {
		params = map[string]any{}
	}
	var out struct {
		RunID string `json:"runId"`
	}
	err := c.doJSON(ctx, http.MethodPost, factoryPath(ws, FactoryPipelines, pipeline, "createRun"), params, &out)
	return out.RunID, err
}

// GetFactoryPipelineRun returns a pipeline run.
func (c *Client) GetFactoryPipelineRun(ctx context.Context, ws, runID string) (FactoryPipelineRun, error) {
	var out FactoryPipelineRun
	err := c.doJSON(ctx, http.MethodGet, factoryPath(ws, "pipelineruns", runID), nil, &out)
	return out, err
}

// QueryFactoryPipelineRuns returns the pipeline runs f matches, newest first.
func (c *Client) QueryFactoryPipelineRuns(ctx context.Context, ws string, f FactoryRunFilter) (FactoryList[FactoryPipelineRun], error) {
	var out FactoryList[FactoryPipelineRun]
	err := c.doJSON(ctx, http.MethodPost, factoryPath(ws, "queryPipelineRuns"), f, &out)
	return out, err
}

// CancelFactoryPipelineRun cancels a run and the runs its ExecutePipeline
// activities wait on.
func (c *Client) CancelFactoryPipelineRun(ctx context.Context, ws, runID string) error {
	p := factoryPath(ws, "pipelineruns", runID, "cancel") + "?isRecursive=true"
	return c.doJSON(ctx, http.MethodPost, p, struct{}{}, nil)
}

// RerunFactoryPipelineRun starts a run again and returns the new run's ID.
func (c *Client) RerunFactoryPipelineRun(ctx context.Context, ws, runID string, o FactoryRerunOptions) (string, error) {
	var out struct {
		RunID string `json:"runId"`
	}
	err := c.doJSON(ctx, http.MethodPost, factoryPath(ws, "pipelineruns", runID, "rerun"), o, &out)
	return out.RunID, err
}

// QueryFactoryActivityRuns returns a pipeline run's activity runs.
func (c *Client) QueryFactoryActivityRuns(ctx context.Context, ws, runID string, f FactoryRunFilter) (FactoryList[FactoryActivityRun], error) {
	var out FactoryList[FactoryActivityRun]
	err := c.doJSON(ctx, http.MethodPost, factoryPath(ws, "pipelineruns", runID, "queryActivityruns"), f, &out)
	return out, err
}

// SetFactoryTriggerState starts or stops a trigger.
func (c *Client) SetFactoryTriggerState(ctx context.Context, ws, name string, start bool) (FactoryResource, error) {
	verb := "stop"
	if start {
		verb = "start"
	}
	var out FactoryResource
	err := c.doJSON(ctx, http.MethodPost, factoryPath(ws, FactoryTriggers, name, verb), struct{}{}, &out)
	return out, err
}

// ListFactoryTriggerWindows returns a tumbling window trigger's windows,
// earliest first.
func (c *Client) ListFactoryTriggerWindows(ctx context.Context, ws, trigger string) ([]FactoryTriggerWindow, error) {
	var out FactoryList[FactoryTriggerWindow]
	err := c.doJSON(ctx, http.MethodGet, factoryPath(ws, FactoryTriggers, trigger, "windows"), nil, &out)
	return out.Value, err
}

// RerunFactoryTriggerWindow runs a finished tumbling window again: the
// one trigger run runID ran (ADF's trigger-run rerun), or when runID is
// "" the one starting at start.
func (c *Client) RerunFactoryTriggerWindow(ctx context.Context, ws, trigger, runID string, start time.Time) (FactoryTriggerWindow, error) {
	var out FactoryTriggerWindow
	if runID != "" {
		err := c.doJSON(ctx, http.MethodPost, factoryPath(ws, FactoryTriggers, trigger, "triggerRuns", runID, "rerun"), struct{}{}, &out)
		return out, err
	}
	in := map[string]time.Time{"windowStartTime": start}
	err := c.doJSON(ctx, http.MethodPost, factoryPath(ws, FactoryTriggers, trigger, "windows", "rerun"), in, &out)
	return out, err
}

// QueryFactoryTriggerRuns returns the trigger runs f matches.
func (c *Client) QueryFactoryTriggerRuns(ctx context.Context, ws string, f FactoryRunFilter) (FactoryList[FactoryTriggerRun], error) {
	var out FactoryList[FactoryTriggerRun]
	err := c.doJSON(ctx, http.MethodPost, factoryPath(ws, "queryTriggerRuns"), f, &out)
	return out, err
}

// ImportFactoryFolder imports a factory folder (an uncompressed tar of
// linkedService/, dataset/, pipeline/, trigger/), all or nothing.
func (c *Client) ImportFactoryFolder(ctx context.Context, ws string, tarStream io.Reader) ([]FactoryResource, error) {
	var out FactoryList[FactoryResource]
	err := c.do(ctx, http.MethodPost, factoryPath(ws, "importFolder"), tarStream, "application/x-tar", &out)
	return out.Value, err
}

// ImportFactoryTemplate imports the resources of an ARM template, all or
// nothing.
func (c *Client) ImportFactoryTemplate(ctx context.Context, ws string, in TemplateImport) ([]FactoryResource, error) {
	var out FactoryList[FactoryResource]
	err := c.doJSON(ctx, http.MethodPost, factoryPath(ws, "import"), in, &out)
	return out.Value, err
}

// SetFactorySecret creates or replaces a secret; the answer never holds
// the value.
func (c *Client) SetFactorySecret(ctx context.Context, ws, name, value string) (FactorySecret, error) {
	var out FactorySecret
	err := c.doJSON(ctx, http.MethodPut, factoryPath(ws, "secrets", name), map[string]string{"value": value}, &out)
	return out, err
}

// ListFactorySecrets lists a workspace's secret names.
func (c *Client) ListFactorySecrets(ctx context.Context, ws string) ([]FactorySecret, error) {
	var out FactoryList[FactorySecret]
	err := c.doJSON(ctx, http.MethodGet, factoryPath(ws, "secrets"), nil, &out)
	return out.Value, err
}

// DeleteFactorySecret deletes a secret.
func (c *Client) DeleteFactorySecret(ctx context.Context, ws, name string) error {
	return c.doJSON(ctx, http.MethodDelete, factoryPath(ws, "secrets", name), nil, nil)
}

// doWith is do with extra request headers (If-Match).
func (c *Client) doWith(ctx context.Context, method, path string, body io.Reader, hdr http.Header, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header = hdr
	resp, err := c.exec(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
