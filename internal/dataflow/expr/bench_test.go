package expr

import "testing"

// BenchmarkEvalQuery is a Copy source query as pipelines write it, parsed
// and evaluated per call (as the runtime does per activity run).
func BenchmarkEvalQuery(b *testing.B) {
	s := testScope()
	q := "SELECT * FROM @{item().schema}.@{item().name} WHERE updated > '@{activity('Lookup1').output.firstRow.watermark}' AND updated <= '@{formatDateTime(utcNow(), 'yyyy-MM-dd HH:mm:ss')}'"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Eval(q, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalLookupRows evaluates a ForEach's items over a Lookup's
// 5,000 rows: the result must be returned without copying them.
func BenchmarkEvalLookupRows(b *testing.B) {
	rows := make([]any, 5000)
	for i := range rows {
		rows[i] = map[string]any{"id": int64(i), "name": "t"}
	}
	s := &Scope{Activity: func(string) (any, bool) {
		return map[string]any{"output": map[string]any{"value": rows}}, true
	}}
	b.ReportAllocs()
	for b.Loop() {
		v, err := Eval("@activity('Lookup').output.value", s)
		if err != nil || len(v.([]any)) != 5000 {
			b.Fatal(err)
		}
	}
}
