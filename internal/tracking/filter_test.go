package tracking

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseRunFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []Clause
	}{
		{"", nil},
		{"metrics.rmse < 0.8", []Clause{{Kind: KindMetric, Key: "rmse", Op: "<", IsNum: true, Num: 0.8}}},
		{"metric.`val loss` >= -1e-3", []Clause{{Kind: KindMetric, Key: "val loss", Op: ">=", IsNum: true, Num: -1e-3}}},
		{`params.model = 'tree' and tags."my tag" != "x y"`, []Clause{
			{Kind: KindParam, Key: "model", Op: "=", Str: "tree"},
			{Kind: KindTag, Key: "my tag", Op: "!=", Str: "x y"}}},
		{"tags.mlflow.runName LIKE 'a%' AND param.p ILIKE '%B'", []Clause{
			{Kind: KindTag, Key: "mlflow.runName", Op: "LIKE", Str: "a%"},
			{Kind: KindParam, Key: "p", Op: "ILIKE", Str: "%B"}}},
		{"attributes.run_id IN ('a', \"b\")", []Clause{{Kind: KindAttribute, Key: "run_id", Op: "IN", List: []string{"a", "b"}}}},
		{"run_id not in ('a')", []Clause{{Kind: KindAttribute, Key: "run_id", Op: "NOT IN", List: []string{"a"}}}},
		{"attr.start_time > 1700000000000", []Clause{{Kind: KindAttribute, Key: "start_time", Op: ">", IsNum: true, Num: 1700000000000}}},
		{"created <= 5", []Clause{{Kind: KindAttribute, Key: "start_time", Op: "<=", IsNum: true, Num: 5}}},
		{"status = 'FINISHED'", []Clause{{Kind: KindAttribute, Key: "status", Op: "=", Str: "FINISHED"}}},
		{"run.run_name == 'it''s'", []Clause{{Kind: KindAttribute, Key: "run_name", Op: "=", Str: "it's"}}},
		{"tags.t IS NULL and params.p is not null", []Clause{
			{Kind: KindTag, Key: "t", Op: "IS NULL"}, {Kind: KindParam, Key: "p", Op: "IS NOT NULL"}}},
		{"datasets.context IN ('train', 'eval')", []Clause{{Kind: KindDataset, Key: "context", Op: "IN", List: []string{"train", "eval"}}}},
		{"metrics.a <> 1", []Clause{{Kind: KindMetric, Key: "a", Op: "!=", IsNum: true, Num: 1}}},
	}
	for _, tt := range tests {
		got, err := ParseRunFilter(tt.in)
		if err != nil {
			t.Errorf("ParseRunFilter(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseRunFilter(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseRunFilterErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"metrics.rmse >",                 // no value
		"metrics.rmse > 'a'",             // metric needs a number
		"params.p > 1",                   // params compare as strings
		"params.p = 1",                   // unquoted string
		"tags.t IN ('a')",                // IN is for run_id only
		"attributes.run_name IN ('a')",   // likewise
		"attributes.nope = 'x'",          // unknown attribute
		"foo.bar = 'x'",                  // unknown entity
		"metrics.a < 1 or metrics.b > 2", // only AND
		"metrics.a < 1 metrics.b > 2",    // missing AND
		"datasets.size = 'x'",            // unknown dataset key
		"tags.t = 'unterminated",         // bad string
		"run_id IN ()",                   // empty list
		"run_id IN ('a' 'b')",            // missing comma
		"metrics.a < 1.2.3",              // bad number
		"metrics.m IS NULL",              // IS NULL is for tags and params
		"start_time = 'x'",               // numeric attribute
		"metrics. = 1",                   // empty key
		"metrics.a ! 1",                  // bad operator
	} {
		_, err := ParseRunFilter(in)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidParameterValue {
			t.Errorf("ParseRunFilter(%q) = %v, want INVALID_PARAMETER_VALUE", in, err)
		}
	}
}

func TestParseExperimentAndModelFilters(t *testing.T) {
	t.Parallel()
	if got, err := ParseExperimentFilter("name LIKE 'exp%' and tags.team = 'a' and creation_time > 5"); err != nil || len(got) != 3 {
		t.Errorf("experiment filter: %v %v", got, err)
	}
	if _, err := ParseExperimentFilter("metrics.a > 1"); err == nil {
		t.Error("experiment filter on metrics: want an error")
	}
	if got, err := ParseModelFilter("name = 'model' and metrics.acc > 0.9 and params.C = '1'"); err != nil || len(got) != 3 {
		t.Errorf("model filter: %v %v", got, err)
	}
	if _, err := ParseModelFilter("datasets.name = 'x'"); err == nil {
		t.Error("model filter on datasets: want an error")
	}
}

func TestParseOrderBy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    OrderBy
		wantErr bool
	}{
		{"metrics.rmse", OrderBy{Kind: KindMetric, Key: "rmse", Asc: true}, false},
		{"metrics.`val loss` DESC", OrderBy{Kind: KindMetric, Key: "val loss"}, false},
		{"params.alpha asc", OrderBy{Kind: KindParam, Key: "alpha", Asc: true}, false},
		{"attributes.start_time DESC", OrderBy{Kind: KindAttribute, Key: "start_time"}, false},
		{"run_name", OrderBy{Kind: KindAttribute, Key: "run_name", Asc: true}, false},
		{"metrics.a sideways", OrderBy{}, true},
		{"datasets.name", OrderBy{}, true},
		{"", OrderBy{}, true},
	}
	for _, tt := range tests {
		got, err := ParseRunOrderBy(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseRunOrderBy(%q) = %+v, %v", tt.in, got, err)
		}
	}
	if _, err := ParseExperimentOrderBy("metrics.a"); err == nil {
		t.Error("experiment order by metric: want an error")
	}
}

// FuzzParseRunFilter checks the parser never panics and fails only with
// INVALID_PARAMETER_VALUE.
func FuzzParseRunFilter(f *testing.F) {
	for _, s := range []string{"metrics.a > 1 and params.b = 'x'", "run_id IN ('a','b')", "tags.`x y` LIKE '%z'",
		"attributes.start_time <= -1.5e3", "tags.t IS NOT NULL", "'", "(", "metrics.", "`a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := ParseRunFilter(s)
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Code != CodeInvalidParameterValue) {
			t.Fatalf("ParseRunFilter(%q): %v", s, err)
		}
		if _, err := ParseRunOrderBy(s); err != nil && (!errors.As(err, &e) || e.Code != CodeInvalidParameterValue) {
			t.Fatalf("ParseRunOrderBy(%q): %v", s, err)
		}
	})
}

func TestParseTraceFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []Clause
	}{
		{"tags.env = 'prod'", []Clause{{Kind: KindTag, Key: "env", Op: "=", Str: "prod"}}},
		{"name = 'predict'", []Clause{{Kind: KindTag, Key: TagTraceName, Op: "=", Str: "predict"}}},
		{"trace.name IN ('a')", []Clause{{Kind: KindTag, Key: TagTraceName, Op: "IN", List: []string{"a"}}}},
		{"metadata.`mlflow.sourceRun` = 'r'", []Clause{{Kind: KindMetadata, Key: MetaSourceRun, Op: "=", Str: "r"}}},
		{"request_metadata.mlflow.user IS NOT NULL", []Clause{{Kind: KindMetadata, Key: "mlflow.user", Op: "IS NOT NULL"}}},
		{"attribute.run_id = 'r'", []Clause{{Kind: KindAttribute, Key: "run_id", Op: "=", Str: "r"}}},
		{"timestamp > 5 AND execution_time_ms <= 7", []Clause{
			{Kind: KindAttribute, Key: "timestamp_ms", Op: ">", IsNum: true, Num: 5},
			{Kind: KindAttribute, Key: "execution_time_ms", Op: "<=", IsNum: true, Num: 7}}},
		{"attributes.request_id = 'tr-1' AND status != 'ERROR'", []Clause{
			{Kind: KindAttribute, Key: "trace_id", Op: "=", Str: "tr-1"},
			{Kind: KindAttribute, Key: "status", Op: "!=", Str: "ERROR"}}},
	}
	for _, tt := range tests {
		got, err := ParseTraceFilter(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseTraceFilter(%q)\n got %+v, %v\nwant %+v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{
		"span.name = 'x'",           // spans are artifacts, not searchable
		"feedback.score > 1",        // assessments are not kept
		"tags.t RLIKE 'x'",          // no regular expressions
		"metrics.m > 1",             // traces have no metrics
		"attributes.text LIKE '%a'", // full-text search needs the spans
		"timestamp_ms = 'x'",        // numeric attribute
	} {
		_, err := ParseTraceFilter(in)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidParameterValue {
			t.Errorf("ParseTraceFilter(%q) = %v, want INVALID_PARAMETER_VALUE", in, err)
		}
	}
	for in, want := range map[string]OrderBy{
		"timestamp_ms DESC": {Kind: KindAttribute, Key: "timestamp_ms"},
		"name":              {Kind: KindTag, Key: TagTraceName, Asc: true},
		"run_id ASC":        {Kind: KindMetadata, Key: MetaSourceRun, Asc: true},
		"tags.env":          {Kind: KindTag, Key: "env", Asc: true},
	} {
		if got, err := ParseTraceOrderBy(in); err != nil || got != want {
			t.Errorf("ParseTraceOrderBy(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

// FuzzParseTraceFilter checks the trace grammar never panics and fails
// only with INVALID_PARAMETER_VALUE.
func FuzzParseTraceFilter(f *testing.F) {
	for _, s := range []string{"tags.env = 'prod' AND name = 'f'", "metadata.`mlflow.sourceRun` = 'r'",
		"trace.timestamp_ms > 1", "run_id IN ('a')", "span.name = 'x'", "name DESC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var e *Error
		if _, err := ParseTraceFilter(s); err != nil && (!errors.As(err, &e) || e.Code != CodeInvalidParameterValue) {
			t.Fatalf("ParseTraceFilter(%q): %v", s, err)
		}
		if _, err := ParseTraceOrderBy(s); err != nil && (!errors.As(err, &e) || e.Code != CodeInvalidParameterValue) {
			t.Fatalf("ParseTraceOrderBy(%q): %v", s, err)
		}
	})
}
