package tracking

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// The JSON shapes of MLflow's REST API (its protos as JSON, field names as
// in the .proto files). Empty fields are left out, as protobuf does.

// jsonInt is an int64 that reads from a JSON number or a numeric string
// (proto3 JSON writes int64 as strings) and writes as a number.
type jsonInt int64

// UnmarshalJSON accepts 12, "12", 1.2e3 and null. A number that is not
// an integer, or one outside int64's range (1e23 would otherwise wrap to
// -9223372036854775808), fails with a *json.UnmarshalTypeError, which
// readJSON answers as MLflow does: INVALID_PARAMETER_VALUE naming the
// field.
func (n *jsonInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		// -2^63 converts exactly; 2^63 and beyond do not fit.
		if ferr != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= -math.MinInt64 {
			return &json.UnmarshalTypeError{Value: "number " + string(b), Type: reflect.TypeFor[int64]()}
		}
		v = int64(f)
	}
	*n = jsonInt(v)
	return nil
}

// JSONFloat is a float64 that also reads and writes "NaN", "Infinity" and
// "-Infinity", as protobuf's JSON mapping does; ciel's own API writes
// metric values with it too, so both APIs spell them alike.
type JSONFloat float64

// UnmarshalJSON accepts a number, a numeric string or a special value.
func (f *JSONFloat) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	switch s {
	case "NaN", "nan":
		*f = JSONFloat(math.NaN())
		return nil
	case "Infinity", "inf", "Inf":
		*f = JSONFloat(math.Inf(1))
		return nil
	case "-Infinity", "-inf", "-Inf":
		*f = JSONFloat(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("expected a number, got %s", b)
	}
	*f = JSONFloat(v)
	return nil
}

// MarshalJSON writes the number, or the special value as a string.
func (f JSONFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

type wireTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireExperiment struct {
	ExperimentID     string    `json:"experiment_id"`
	Name             string    `json:"name"`
	ArtifactLocation string    `json:"artifact_location,omitempty"`
	LifecycleStage   string    `json:"lifecycle_stage"`
	LastUpdateTime   int64     `json:"last_update_time,omitempty"`
	CreationTime     int64     `json:"creation_time,omitempty"`
	Tags             []wireTag `json:"tags,omitempty"`
}

type wireRunInfo struct {
	RunUUID        string `json:"run_uuid"`
	ExperimentID   string `json:"experiment_id"`
	RunName        string `json:"run_name,omitempty"`
	UserID         string `json:"user_id,omitempty"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time,omitempty"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	LifecycleStage string `json:"lifecycle_stage"`
	RunID          string `json:"run_id"`
}

type wireMetric struct {
	Key           string    `json:"key"`
	Value         JSONFloat `json:"value"`
	Timestamp     jsonInt   `json:"timestamp"`
	Step          jsonInt   `json:"step"`
	DatasetName   string    `json:"dataset_name,omitempty"`
	DatasetDigest string    `json:"dataset_digest,omitempty"`
	ModelID       string    `json:"model_id,omitempty"`
	RunID         string    `json:"run_id,omitempty"`
}

type wireDataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

type wireDatasetInput struct {
	Tags    []wireTag   `json:"tags,omitempty"`
	Dataset wireDataset `json:"dataset"`
}

type wireModelInput struct {
	ModelID string `json:"model_id"`
}

type wireModelOutput struct {
	ModelID string  `json:"model_id"`
	Step    jsonInt `json:"step"`
}

type wireRunData struct {
	Metrics []wireMetric `json:"metrics,omitempty"`
	Params  []wireTag    `json:"params,omitempty"`
	Tags    []wireTag    `json:"tags,omitempty"`
}

type wireRunInputs struct {
	DatasetInputs []wireDatasetInput `json:"dataset_inputs,omitempty"`
	ModelInputs   []wireModelInput   `json:"model_inputs,omitempty"`
}

type wireRunOutputs struct {
	ModelOutputs []wireModelOutput `json:"model_outputs,omitempty"`
}

type wireRun struct {
	Info    wireRunInfo     `json:"info"`
	Data    wireRunData     `json:"data"`
	Inputs  *wireRunInputs  `json:"inputs,omitempty"`
	Outputs *wireRunOutputs `json:"outputs,omitempty"`
}

type wireLoggedModelInfo struct {
	ModelID                string    `json:"model_id"`
	ExperimentID           string    `json:"experiment_id"`
	Name                   string    `json:"name"`
	CreationTimestampMS    int64     `json:"creation_timestamp_ms,omitempty"`
	LastUpdatedTimestampMS int64     `json:"last_updated_timestamp_ms,omitempty"`
	ArtifactURI            string    `json:"artifact_uri"`
	Status                 string    `json:"status"`
	StatusMessage          string    `json:"status_message,omitempty"`
	ModelType              string    `json:"model_type,omitempty"`
	SourceRunID            string    `json:"source_run_id,omitempty"`
	Tags                   []wireTag `json:"tags,omitempty"`
}

type wireLoggedModelData struct {
	Params  []wireTag    `json:"params,omitempty"`
	Metrics []wireMetric `json:"metrics,omitempty"`
}

type wireLoggedModel struct {
	Info wireLoggedModelInfo `json:"info"`
	Data wireLoggedModelData `json:"data"`
}

func tagsOut[T Tag | Param](in []T) []wireTag {
	if len(in) == 0 {
		return nil
	}
	out := make([]wireTag, len(in))
	for i, t := range in {
		kv := struct{ Key, Value string }(t)
		out[i] = wireTag{Key: kv.Key, Value: kv.Value}
	}
	return out
}

func tagsIn(in []wireTag) []Tag {
	out := make([]Tag, len(in))
	for i, t := range in {
		out[i] = Tag(t)
	}
	return out
}

func paramsIn(in []wireTag) []Param {
	out := make([]Param, len(in))
	for i, t := range in {
		out[i] = Param(t)
	}
	return out
}

func experimentOut(e Experiment) wireExperiment {
	return wireExperiment{ExperimentID: e.ID, Name: e.Name, ArtifactLocation: e.ArtifactLocation,
		LifecycleStage: e.LifecycleStage, LastUpdateTime: e.LastUpdateTime, CreationTime: e.CreationTime,
		Tags: tagsOut(e.Tags)}
}

func runInfoOut(i RunInfo) wireRunInfo {
	return wireRunInfo{RunUUID: i.RunID, RunID: i.RunID, ExperimentID: i.ExperimentID, RunName: i.RunName,
		UserID: i.UserID, Status: i.Status, StartTime: i.StartTime, EndTime: i.EndTime,
		ArtifactURI: i.ArtifactURI, LifecycleStage: i.LifecycleStage}
}

func metricOut(m Metric) wireMetric {
	return wireMetric{Key: m.Key, Value: JSONFloat(m.Value), Timestamp: jsonInt(m.Timestamp), Step: jsonInt(m.Step),
		DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest, ModelID: m.ModelID, RunID: m.RunID}
}

func metricsOut(ms []Metric) []wireMetric {
	if len(ms) == 0 {
		return nil
	}
	out := make([]wireMetric, len(ms))
	for i, m := range ms {
		out[i] = metricOut(m)
	}
	return out
}

func metricIn(w wireMetric) Metric {
	return Metric{Key: w.Key, Value: float64(w.Value), Timestamp: int64(w.Timestamp), Step: int64(w.Step),
		DatasetName: w.DatasetName, DatasetDigest: w.DatasetDigest, ModelID: w.ModelID}
}

func runOut(r Run) wireRun {
	w := wireRun{Info: runInfoOut(r.Info), Data: wireRunData{
		Metrics: metricsOut(r.Metrics), Params: tagsOut(r.Params), Tags: tagsOut(r.Tags)}}
	// MLflow always answers with inputs, empty or not.
	w.Inputs = &wireRunInputs{}
	for _, d := range r.Inputs {
		w.Inputs.DatasetInputs = append(w.Inputs.DatasetInputs, wireDatasetInput{Tags: tagsOut(d.Tags),
			Dataset: wireDataset(d.Dataset)})
	}
	for _, m := range r.ModelInputs {
		w.Inputs.ModelInputs = append(w.Inputs.ModelInputs, wireModelInput(m))
	}
	if len(r.ModelOutputs) > 0 {
		w.Outputs = &wireRunOutputs{}
		for _, m := range r.ModelOutputs {
			w.Outputs.ModelOutputs = append(w.Outputs.ModelOutputs, wireModelOutput{ModelID: m.ModelID, Step: jsonInt(m.Step)})
		}
	}
	return w
}

func loggedModelOut(m LoggedModel) wireLoggedModel {
	return wireLoggedModel{
		Info: wireLoggedModelInfo{ModelID: m.ModelID, ExperimentID: m.ExperimentID, Name: m.Name,
			CreationTimestampMS: m.CreationTime, LastUpdatedTimestampMS: m.LastUpdatedTime,
			ArtifactURI: m.ArtifactURI, Status: m.Status, StatusMessage: m.StatusMessage,
			ModelType: m.ModelType, SourceRunID: m.SourceRunID, Tags: tagsOut(m.Tags)},
		Data: wireLoggedModelData{Params: tagsOut(m.Params), Metrics: metricsOut(m.Metrics)},
	}
}

// encodeJSON is json.Marshal without HTML escaping.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
