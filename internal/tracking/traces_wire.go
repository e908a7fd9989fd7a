package tracking

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The JSON shapes of MLflow 3's trace API (TraceInfoV3 and TraceLocation in
// service.proto). Unlike the 2.0 messages, a trace's request time is a
// protobuf Timestamp (RFC 3339 text) and its duration a protobuf Duration
// ("0.073s").

// traceLocationExperiment is the only TraceLocation type ciel keeps traces
// in; the others (inference tables, Unity Catalog) are Databricks'.
const traceLocationExperiment = "MLFLOW_EXPERIMENT"

type wireExperimentLocation struct {
	ExperimentID string `json:"experiment_id"`
}

type wireTraceLocation struct {
	Type             string                  `json:"type,omitempty"`
	MlflowExperiment *wireExperimentLocation `json:"mlflow_experiment,omitempty"`
}

type wireTraceInfo struct {
	TraceID           string            `json:"trace_id"`
	ClientRequestID   string            `json:"client_request_id,omitempty"`
	TraceLocation     wireTraceLocation `json:"trace_location"`
	RequestPreview    string            `json:"request_preview,omitempty"`
	ResponsePreview   string            `json:"response_preview,omitempty"`
	RequestTime       string            `json:"request_time,omitempty"`
	ExecutionDuration string            `json:"execution_duration,omitempty"`
	State             string            `json:"state,omitempty"`
	TraceMetadata     map[string]string `json:"trace_metadata,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
}

// wireTrace is MLflow's Trace message without its spans: ciel never holds
// spans (the client uploads them as an artifact), so none are read or sent.
type wireTrace struct {
	TraceInfo wireTraceInfo `json:"trace_info"`
}

var traceStates = map[string]bool{TraceStateUnspecified: true, TraceStateOK: true, TraceStateError: true,
	TraceStateInProgress: true}

func traceInfoOut(t TraceInfo) wireTraceInfo {
	return wireTraceInfo{
		TraceID: t.TraceID, ClientRequestID: t.ClientRequestID,
		TraceLocation: wireTraceLocation{Type: traceLocationExperiment,
			MlflowExperiment: &wireExperimentLocation{ExperimentID: t.ExperimentID}},
		RequestPreview: t.RequestPreview, ResponsePreview: t.ResponsePreview,
		RequestTime: protoTimestamp(t.RequestTime), ExecutionDuration: protoDuration(t.ExecutionDuration),
		State: t.State, TraceMetadata: t.Metadata, Tags: t.Tags,
	}
}

// traceInfoIn checks a client's TraceInfoV3 and converts it.
func traceInfoIn(w wireTraceInfo) (TraceInfo, error) {
	if err := checkTraceID(w.TraceID); err != nil {
		return TraceInfo{}, err
	}
	loc := w.TraceLocation
	if loc.MlflowExperiment == nil || (loc.Type != "" && loc.Type != traceLocationExperiment) {
		return TraceInfo{}, invalidf("Trace location of type '%s' is not supported: ciel keeps traces in experiments "+
			"(trace_location.mlflow_experiment)", loc.Type)
	}
	exp := loc.MlflowExperiment.ExperimentID
	if exp == "" {
		return TraceInfo{}, missing("trace_location.mlflow_experiment.experiment_id")
	}
	if err := checkExperimentID(exp); err != nil {
		return TraceInfo{}, err
	}
	t := TraceInfo{TraceID: w.TraceID, ExperimentID: exp, ClientRequestID: w.ClientRequestID,
		RequestPreview: w.RequestPreview, ResponsePreview: w.ResponsePreview, State: w.State,
		Metadata: w.TraceMetadata, Tags: w.Tags}
	if t.State == "" {
		t.State = TraceStateUnspecified
	}
	if !traceStates[t.State] {
		return TraceInfo{}, invalidf("Invalid trace state '%s'", t.State)
	}
	var err error
	if t.RequestTime, err = parseProtoTimestamp(w.RequestTime); err != nil {
		return TraceInfo{}, invalidf("Invalid value for parameter 'request_time' supplied: %v", err)
	}
	if t.ExecutionDuration, err = parseProtoDuration(w.ExecutionDuration); err != nil {
		return TraceInfo{}, invalidf("Invalid value for parameter 'execution_duration' supplied: %v", err)
	}
	return t, nil
}

// checkTraceID accepts the IDs the client makes ("tr-" and hex) and any
// other that is safe as one segment of a URL and an artifact path.
func checkTraceID(id string) error {
	if id == "" {
		return missing("trace_id")
	}
	ok := len(id) <= 256 && id[0] != '.'
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = isWordChar(c) || c == '-' || c == '.'
	}
	if !ok {
		return invalidf("Invalid trace ID '%s': use letters, digits, '_', '-' and '.'", id)
	}
	return nil
}

// protoTimestamp writes unix milliseconds as a protobuf Timestamp.
func protoTimestamp(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// parseProtoTimestamp reads a protobuf Timestamp ("" is 0) as unix
// milliseconds.
func parseProtoTimestamp(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("expected an RFC 3339 timestamp, got %q", s)
	}
	return t.UnixMilli(), nil
}

// protoDuration writes milliseconds as a protobuf Duration.
func protoDuration(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03ds", sign, ms/1000, ms%1000)
}

// maxDurationSeconds is the longest protobuf Duration.
const maxDurationSeconds = 315_576_000_000

// parseProtoDuration reads a protobuf Duration ("1.5s"; "" is 0) as
// milliseconds.
func parseProtoDuration(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64)
	// Protobuf's Duration spans ±10,000 years (315,576,000,000 s); past
	// it the milliseconds would not fit an int64 either.
	if err != nil || !strings.HasSuffix(s, "s") || math.IsNaN(f) || math.Abs(f) > maxDurationSeconds {
		return 0, fmt.Errorf("expected a duration such as \"1.5s\", got %q", s)
	}
	return int64(math.Round(f * 1000)), nil
}
